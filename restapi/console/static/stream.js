// The event stream (SSE) with reconnect-and-resume made visible: the
// browser's EventSource reconnects by itself and sends Last-Event-ID; when
// it gives up (an HTTP error instead of a stream) the console opens a new
// one with last_event_id itself, with backoff. The gateway answers a
// resume it cannot make with resume_gap: the console then resynchronises
// from GET /v1/calls.

import { streamURL } from "./api.js";

export class Stream {
  // handlers: event(e, receivedAt), status(state, text), gap(), fatal(code, message)
  constructor(params, handlers) {
    this.params = params;
    this.h = handlers;
    this.lastId = "";
    this.es = null;
    this.timer = 0;
    this.attempt = 0;
    this.downSince = 0;
    this.stopped = false;
    this.everOpen = false;
  }

  start() { this.open(false); }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  open(resume) {
    if (this.stopped) return;
    const p = { ...this.params };
    if (resume && this.lastId) p.last_event_id = this.lastId;
    const es = new EventSource(streamURL(p));
    this.es = es;
    this.h.status(this.everOpen ? "reconnecting" : "connecting", this.everOpen ? this.downText() : "connecting…");
    es.onopen = () => {
      const was = this.everOpen;
      this.everOpen = true;
      this.attempt = 0;
      const gapless = was ? " · resumed" + (this.lastId ? " from the last event" : "") : "";
      this.downSince = 0;
      this.h.status("live", "live" + gapless);
    };
    es.onmessage = (m) => {
      const at = performance.now();
      if (m.lastEventId) this.lastId = m.lastEventId;
      let e;
      try { e = JSON.parse(m.data); } catch { return; }
      this.h.event(e, at);
    };
    es.addEventListener("resume_gap", () => {
      this.h.status("live", "live · resynchronised (events were missed while away)");
      this.h.gap();
    });
    es.addEventListener("shutdown", () => {
      this.downSince = this.downSince || Date.now();
      this.h.status("reconnecting", "gateway restarting: reconnecting…");
    });
    es.addEventListener("error", (m) => {
      if (this.es !== es) return;
      if (m.data !== undefined) { // the server's own "event: error"
        let d = {};
        try { d = JSON.parse(m.data); } catch { /* keep {} */ }
        if (d.code === "revoked" || d.code === "token_expired") {
          this.stop();
          this.h.fatal(d.code, d.message || d.code);
        }
        return; // slow_consumer: the browser reconnects with Last-Event-ID
      }
      this.downSince = this.downSince || Date.now();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, e.g. 401 or 503): retry
        // ourselves, resuming from the last event seen.
        es.close();
        this.attempt++;
        const wait = Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5));
        this.h.status("reconnecting", this.downText() + ` (retry ${this.attempt} in ${Math.round(wait / 1000)} s)`);
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.open(true), wait);
        if (this.h.closed) this.h.closed();
      } else {
        this.h.status("reconnecting", this.downText());
      }
    });
  }

  // blip drops the stream for ms, as a network outage would, then
  // resumes from the last event received (for the browser test and for
  // trying the resume by hand).
  blip(ms) {
    if (!this.es) return;
    this.es.close();
    this.downSince = Date.now();
    this.h.status("reconnecting", this.downText());
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(true), ms);
  }

  downText() {
    const s = this.downSince ? Math.round((Date.now() - this.downSince) / 1000) : 0;
    return `reconnecting… (stream down ${s} s; will resume from the last event)`;
  }
}
