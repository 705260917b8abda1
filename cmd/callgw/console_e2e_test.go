package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/restapi"
)

// consoleClients are the OAuth clients of the console test: two tenants'
// applications and an operator (admin) of a third tenant.
func consoleClients(t *testing.T) []config.AuthClient {
	var clients []config.AuthClient
	for _, c := range []struct{ id, tenant string }{{"acme-app", "acme"}, {"beta-app", "beta"}, {"ops-app", "ops"}} {
		h, err := restapi.HashSecret(c.tenant + "-secret-0123456789")
		if err != nil {
			t.Fatal(err)
		}
		scopes := []string{"calls:read", "calls:write", "events:read", "nodes:read"}
		if c.tenant == "ops" {
			scopes = []string{"admin"}
		}
		clients = append(clients, config.AuthClient{ID: c.id, SecretHash: h, Tenant: c.tenant, Scopes: scopes})
	}
	return clients
}

// artefacts is where the console test keeps its screenshots:
// $CALLGW_ARTIFACTS when set, else a temporary directory (logged).
func artefacts(t *testing.T) string {
	if d := os.Getenv("CALLGW_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestConsole drives the operator console (/console/) in headless
// chromium against a gateway, a worker and the simulator, with token
// auth on: sign in with a client's id and secret; a call originated
// through the API appears on the page within a second (the figure is
// logged); hanging it up from the page ends it (the API says so); a
// second tenant, signed in with a pasted token in another tab, never sees
// the first's calls, while an admin watching all tenants sees both (and
// every tenant's records), those already up at load too, and hangs up
// another tenant's call from the page (which that tenant's token cannot
// reach); every control works from the page; the page
// shows the stream's loss and recovers after a gateway restart
// (resynchronised) and after a short outage (resumed from the gateway's
// buffer, nothing missed); the keyboard opens and ends calls; and 1,000
// live calls render without freezing the page (figures logged).
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	began := time.Now()
	phase := func(name string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), name) }
	session := startBrowserAsync(t)
	s := startStackWith(t, &system{auth: consoleClients(t), httpAddr: testenv.FreeAddr(t)}, "pbx1")
	dir := artefacts(t)
	acme, beta := s.token("acme"), s.token("beta")
	s.waitRoutable("Authorization", acme)
	phase("stack started")
	browser := session()
	phase("browser started")

	type page struct {
		Conn     string           `json:"conn"`
		ConnText string           `json:"connText"`
		Rows     []string         `json:"rows"`
		Calls    []string         `json:"calls"`
		Rendered map[string]int64 `json:"rendered"`
		Nodes    string           `json:"nodes"`
		Records  string           `json:"records"`
		Detail   string           `json:"detail"`
		Dialog   bool             `json:"dialog"`
		Signin   bool             `json:"signin"`
		Announce string           `json:"announce"`
		Toast    string           `json:"toast"`
		Timeline string           `json:"timeline"`
	}
	read := func() page {
		var p page
		b, _ := json.Marshal(browser.eval(`const c = window.__console; const $ = (id) => document.getElementById(id);
			return {conn: $("conn").dataset.state, connText: $("conn-text").textContent,
			  rows: [...document.querySelectorAll("#calls-grid [data-id]")].map((r) => r.dataset.id),
			  calls: c ? [...c.calls.keys()] : [], rendered: c ? c.stats.renderedAt : {},
			  nodes: $("nodes-body").textContent, records: $("records-body").textContent,
			  detail: $("detail-fields").textContent, dialog: $("confirm").open, signin: !$("signin-view").hidden,
			  announce: $("announce").textContent, toast: $("toast").hidden ? "" : $("toast").textContent,
			  timeline: $("timeline").textContent};`))
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("page state: %v (%s)", err, b)
		}
		return p
	}
	wait := func(what string, within time.Duration, ok func(page) bool) page {
		t.Helper()
		for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
			p := read()
			if ok(p) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the page shows %+v", what, p)
			}
		}
	}
	has := func(list []string, id callapi.CallID) bool {
		for _, x := range list {
			if x == string(id) {
				return true
			}
		}
		return false
	}
	originate := func(token string, tags ...string) (callapi.CallID, time.Time) {
		t.Helper()
		sent := time.Now()
		st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "from": `"Front desk" <200>`,
			"wait": "answered", "tags": tags}, "Authorization", token)
		var c callapi.Call
		if err := json.Unmarshal(b, &c); st != http.StatusCreated || err != nil {
			t.Fatalf("originate: %d %s", st, b)
		}
		return c.ID, sent
	}

	// Sign in with a client id and secret, typed as a user would.
	browser.open(s.base + "/console")
	wait("the sign-in form", 5*time.Second, func(p page) bool { return p.Signin })
	browser.screenshot(dir, "console-signin.png")
	browser.typeInto("#client-id", "acme-app")
	browser.typeInto("#client-secret", "acme-secret-0123456789")
	browser.click("#signin-submit")
	wait("signed in, stream live, node listed", 10*time.Second, func(p page) bool {
		return !p.Signin && p.Conn == "live" && strings.Contains(p.Nodes, "pbx1") && strings.Contains(p.Nodes, "up")
	})
	acmeTab := browser.tab()
	phase("signed in")

	// A call originated through the API appears within a second.
	var first callapi.CallID
	var live []callapi.CallID
	for i, tag := range []string{"sales-42", "support", "sales-42"} {
		id, sent := originate(acme, tag)
		p := wait("the originated call on the page", 3*time.Second, func(p page) bool { return p.Rendered[string(id)] > 0 })
		took := time.UnixMilli(p.Rendered[string(id)]).Sub(sent)
		t.Logf("call %d: POST /v1/calls (wait=answered) to its row rendered: %v", i+1, took)
		if took > time.Second {
			t.Errorf("the call took %v to appear, want under a second", took)
		}
		if first == "" {
			first = id
		} else {
			live = append(live, id)
		}
	}

	phase("calls shown")

	// The call's timeline, then hang it up from the page.
	browser.click(fmt.Sprintf(`#calls-grid [data-id="%s"]`, first))
	wait("the call's detail", 3*time.Second, func(p page) bool { return strings.Contains(p.Detail, string(first)) })
	browser.screenshot(dir, "console-calls.png")
	tl, _ := browser.eval(`return [...document.querySelectorAll("#timeline .type")].map((x) => x.textContent).join(" ");`).(string)
	if !strings.HasPrefix(tl, "call.created") || !strings.Contains(tl, "call.answered") {
		t.Errorf("timeline %q, want call.created first, then call.answered", tl)
	}
	browser.click(`#detail-body button[data-act="hangup"]`)
	wait("the confirmation", 3*time.Second, func(p page) bool { return p.Dialog })
	browser.screenshot(dir, "console-confirm.png")
	browser.click("#confirm-ok")
	wait("the call gone from the live table", 5*time.Second, func(p page) bool { return !has(p.Calls, first) && !has(p.Rows, first) })
	st, _, b := s.do("GET", "/v1/calls/"+string(first), nil, "Authorization", acme)
	var ended callapi.Call
	if err := json.Unmarshal(b, &ended); st != http.StatusOK || err != nil || ended.State != callapi.StateEnded || ended.EndReason != "api" {
		t.Fatalf("the API on the call hung up from the page: %d %s", st, b)
	}
	wait("the ended call among the records", 5*time.Second, func(p page) bool { return strings.Contains(p.Records, "Normal Clearing") })

	phase("hung up from the page")

	// Control from the page: hold, unhold, mute, play, bridge two calls,
	// blind transfer (with its confirmation). Each shows in the call's
	// detail from the events it causes, or in the status line.
	did := func(what string) {
		t.Helper()
		wait(what, 5*time.Second, func(p page) bool {
			if p.Toast != "" {
				t.Fatalf("%s: the page says %q", what, p.Toast)
			}
			return p.Announce == what+": done"
		})
	}
	browser.click(fmt.Sprintf(`#calls-grid [data-id="%s"]`, live[0]))
	wait("the second call's detail", 3*time.Second, func(p page) bool { return strings.Contains(p.Detail, string(live[0])) })
	browser.click(`#detail-body button[data-act="hold"]`)
	wait("held", 5*time.Second, func(p page) bool {
		return strings.Contains(p.Detail, "up · held") && strings.Contains(p.Timeline, "call.hold")
	})
	browser.click(`#detail-body button[data-act="unhold"]`)
	wait("unheld", 5*time.Second, func(p page) bool {
		return strings.Contains(p.Timeline, "call.unhold") && !strings.Contains(p.Detail, "held")
	})
	browser.click(`#detail-body button[data-act="mute"]`)
	wait("muted", 5*time.Second, func(p page) bool { return strings.Contains(p.Detail, "up · muted") })
	browser.click("#play-form button")
	wait("playing", 5*time.Second, func(p page) bool { return strings.Contains(p.Timeline, "call.playback.started") })
	browser.typeInto("#bridge-with", string(live[1]))
	browser.click("#bridge-form button")
	wait("bridged", 5*time.Second, func(p page) bool {
		return strings.Contains(p.Timeline, "call.bridged") && strings.Contains(p.Detail, "bridge")
	})
	browser.screenshot(dir, "console-control.png")
	browser.typeInto("#redirect-endpoint", "Local/echo@callgw-test")
	browser.click("#redirect-form button")
	wait("the transfer's confirmation", 3*time.Second, func(p page) bool { return p.Dialog })
	browser.click("#confirm-ok")
	did("blind transfer")
	phase("controlled from the page")

	// A second tenant, with a pasted token, in its own tab (its own
	// sessionStorage): it sees its calls, never acme's.
	browser.newTab()
	browser.open(s.base + "/console/")
	browser.typeInto("#token-input", beta)
	browser.click("#token-submit")
	wait("beta signed in", 10*time.Second, func(p page) bool { return !p.Signin && p.Conn == "live" })
	if p := read(); len(p.Calls) != 0 || strings.Contains(p.Records, "Normal Clearing") {
		t.Fatalf("beta sees acme's calls or records: %+v", p)
	}
	acmeCall, _ := originate(acme, "acme-only")
	betaCall, _ := originate(beta, "beta-only")
	p := wait("beta's own call", 3*time.Second, func(p page) bool { return has(p.Rows, betaCall) })
	if has(p.Calls, acmeCall) || len(p.Calls) != 1 {
		t.Fatalf("beta's page holds %v, want only %s", p.Calls, betaCall)
	}

	phase("second tenant checked")

	// An operator (admin) watching every tenant sees both tenants' calls
	// (in the same tab, signed out and in again: one browser tab less).
	browser.click("#sign-out")
	wait("signed out", 5*time.Second, func(p page) bool { return p.Signin && p.Conn == "off" })
	browser.typeInto("#client-id", "ops-app")
	browser.typeInto("#client-secret", "ops-secret-0123456789")
	browser.click("#signin-submit")
	wait("ops signed in", 10*time.Second, func(p page) bool { return !p.Signin && p.Conn == "live" })
	browser.click("#all-tenants")
	wait("ops' stream on every tenant, and acme's record", 5*time.Second, func(p page) bool {
		return p.Conn == "live" && strings.Contains(p.Records, "acme") && strings.Contains(p.Records, "Normal Clearing")
	})
	// The calls of both tenants that were up before the admin's page
	// loaded are on it from the first list (GET /v1/calls?tenant=*), with
	// their tenant: they had no event since.
	wait("the other tenants' calls already up, at load", 3*time.Second, func(p page) bool {
		return has(p.Rows, betaCall) && has(p.Rows, acmeCall)
	})
	// Another tenant's token cannot reach beta's call: not found without
	// the tenant query, forbidden with it.
	for _, q := range []struct {
		method, query string
		want          int
	}{{"GET", "", http.StatusNotFound}, {"DELETE", "", http.StatusNotFound}, {"DELETE", "?tenant=beta", http.StatusForbidden}} {
		if st, _, b := s.do(q.method, "/v1/calls/"+string(betaCall)+q.query, nil, "Authorization", acme); st != q.want {
			t.Fatalf("acme's %s of beta's call%s: %d %s, want %d", q.method, q.query, st, b, q.want)
		}
	}
	// The admin hangs beta's call up from the page (the page names the
	// call's tenant); beta's token sees it ended by the API.
	browser.click(fmt.Sprintf(`#calls-grid [data-id="%s"]`, betaCall))
	wait("beta's call's detail on the admin's page", 3*time.Second, func(p page) bool {
		return strings.Contains(p.Detail, string(betaCall)) && strings.Contains(p.Detail, "beta")
	})
	browser.click(`#detail-body button[data-act="hangup"]`)
	wait("the confirmation", 3*time.Second, func(p page) bool { return p.Dialog })
	browser.click("#confirm-ok")
	wait("beta's call gone from the admin's page", 5*time.Second, func(p page) bool {
		if p.Toast != "" {
			t.Fatalf("hanging up beta's call from the admin's page: %q", p.Toast)
		}
		return !has(p.Calls, betaCall) && !has(p.Rows, betaCall)
	})
	st, _, b = s.do("GET", "/v1/calls/"+string(betaCall), nil, "Authorization", beta)
	ended = callapi.Call{}
	if err := json.Unmarshal(b, &ended); st != http.StatusOK || err != nil || ended.State != callapi.StateEnded || ended.EndReason != "api" {
		t.Fatalf("beta's API on its call hung up by the admin's page: %d %s", st, b)
	}
	time.Sleep(200 * time.Millisecond) // the new stream subscribed
	a2, _ := originate(acme, "acme-2")
	b2, _ := originate(beta, "beta-2")
	wait("both tenants' calls on the admin's page", 3*time.Second, func(p page) bool { return has(p.Rows, a2) && has(p.Rows, b2) })
	browser.screenshot(dir, "console-admin.png")
	phase("admin checked")

	// A gateway restart: the page shows the stream down, then resumes.
	browser.switchTo(acmeTab)
	restarted := time.Now()
	s.restartGateway()
	t.Logf("gateway restarted in %v", time.Since(restarted))
	down := wait("the stream shown down", 5*time.Second, func(p page) bool { return p.Conn == "reconnecting" })
	browser.screenshot(dir, "console-reconnecting.png")
	up := wait("the stream back", 15*time.Second, func(p page) bool { return p.Conn == "live" })
	t.Logf("status while down: %q; after: %q; live again %v after the restart began", down.ConnText, up.ConnText, time.Since(restarted))
	s.waitRoutable("Authorization", acme)
	after, _ := originate(acme, "after-restart")
	wait("a call placed after the restart", 3*time.Second, func(p page) bool { return has(p.Rows, after) })

	phase("recovered after the restart")

	// A short outage of the stream (the page drops it for 3 s): a call
	// placed meanwhile arrives on the resumed stream from the gateway's
	// buffer (last_event_id), with no resynchronisation.
	browser.eval(`window.__console.dropStream(3000); return true;`)
	wait("the stream shown down", 3*time.Second, func(p page) bool { return p.Conn == "reconnecting" })
	during, _ := originate(acme, "during-outage")
	if p := read(); p.Conn != "reconnecting" {
		t.Fatalf("the stream came back before the call was placed; the test proves nothing: %+v", p)
	}
	up = wait("the call placed during the outage, on the resumed stream", 8*time.Second, func(p page) bool { return p.Conn == "live" && has(p.Rows, during) })
	if !strings.Contains(up.ConnText, "resumed") || strings.Contains(up.ConnText, "resynchronised") {
		t.Errorf("status after a resumed outage: %q, want resumed without resynchronisation", up.ConnText)
	}
	phase("resumed after an outage")

	// The keyboard: Home and Enter in the calls table open the newest
	// call; Delete asks to hang it up, and Escape cancels.
	browser.typeInto("#calls-grid", "\uE011\uE007") // Home, Enter
	wait("the newest call opened from the keyboard", 3*time.Second, func(p page) bool { return strings.Contains(p.Detail, string(during)) })
	browser.typeInto("#calls-grid", "\uE017") // Delete
	wait("the hang-up confirmation", 3*time.Second, func(p page) bool { return p.Dialog })
	browser.typeInto("#confirm-cancel", "\uE00C") // Escape
	wait("the confirmation cancelled", 3*time.Second, func(p page) bool { return !p.Dialog })
	time.Sleep(300 * time.Millisecond)
	if p := read(); !has(p.Calls, during) {
		t.Fatalf("the call is gone after a cancelled hang-up: %v", p.Calls)
	}
	phase("keyboard checked")

	// 1,000 live calls: events fed to the page's event handler (the one
	// the stream calls), as fast as a busy gateway would send them.
	load, _ := browser.evalAsync(consoleLoad).(map[string]any)
	b, _ = json.Marshal(load)
	t.Logf("1,000 live calls: %s", b)
	var fig struct {
		Live          int     `json:"live"`
		FirstRenderMS float64 `json:"firstRenderMs"`
		Updates       int     `json:"updates"`
		LatP50, LatP95, LatMax,
		FrameP50, FrameP95, FrameMax, RenderMax float64
		DOMRows int `json:"domRows"`
	}
	_ = json.Unmarshal(b, &fig)
	if fig.Live < 1000 || fig.DOMRows > 80 {
		t.Errorf("1,000 calls: %d live, %d rows in the DOM (want ≥ 1000 live, few rows)", fig.Live, fig.DOMRows)
	}
	// The page's own work per frame is what it controls (a table that
	// drew every row, or all rows on every update, takes far longer);
	// frame times and latency also measure how busy the machine is (on
	// a 2-core machine running other suites the browser drew 38 frames
	// in 2 s, and the latency's p95 reached 531 ms), so they are held only
	// to what a frozen page would miss.
	if fig.RenderMax > 100 || fig.LatP95 > 1500 {
		t.Errorf("1,000 calls: the longest render took %.1f ms, update latency p95 %.1f ms (want ≤ 100 and ≤ 1500)", fig.RenderMax, fig.LatP95)
	}
	browser.screenshot(dir, "console-1000.png")
	phase("1,000 calls measured")
	if errs, _ := browser.eval(`return window.__console.errors;`).([]any); len(errs) > 0 {
		t.Errorf("errors on the page: %v", errs)
	}
	t.Logf("screenshots in %s", dir)
}

// consoleLoad is run in the page: 1,000 call.created events at once, then
// 2 s of 1,000 updates a second (10 every 10 ms: state changes, hold,
// DTMF) while a requestAnimationFrame probe measures frame times; then
// the figures.
const consoleLoad = `const done = arguments[0];
const c = window.__console, N = 1000, now = () => new Date().toISOString();
const ids = Array.from({length: N}, (_, i) => "load-" + String(i).padStart(4, "0"));
const ev = (id, type, data, seq) => ({id: id + "-" + seq, type, time: now(), node: "pbx1", tenant: "acme", call_id: id, seq,
  tags: ["load"], data});
const seqs = new Map(ids.map((id) => [id, 1]));
const next = (id) => { const s = seqs.get(id) + 1; seqs.set(id, s); return s; };
c.stats.latencies.length = 0;
const t0 = performance.now();
c.inject(ids.map((id, i) => ev(id, "call.created", {id, state: "dialing", direction: "outbound",
  to: "PJSIP/agent-" + (i % 250), from: "\"Campaign\" <" + (5550000 + i) + ">", created_at: now()}, 1)));
requestAnimationFrame(() => requestAnimationFrame(() => {
  const first = c.stats.latencies.slice();
  c.stats.latencies.length = 0;
  const r0 = c.stats.renders.length;
  const frames = [];
  let last = performance.now(), probing = true;
  const probe = (t) => { frames.push(t - last); last = t; if (probing) requestAnimationFrame(probe); };
  requestAnimationFrame(probe);
  const kinds = ["call.ringing", "call.answered", "call.hold", "call.unhold", "call.dtmf"];
  let k = 0, sent = 0;
  const feed = setInterval(() => {
    const batch = [];
    for (let j = 0; j < 10; j++, k++) {
      const id = ids[(k * 7919) % N], type = kinds[Math.floor(k / N) % kinds.length];
      batch.push(ev(id, type, type === "call.dtmf" ? {digit: "5", duration_ms: 100} : {}, next(id)));
    }
    sent += batch.length;
    c.inject(batch);
  }, 10);
  setTimeout(() => {
    clearInterval(feed);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      probing = false;
      const q = (a, p) => { const s = a.slice().sort((x, y) => x - y); return s.length ? +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1) : 0; };
      const lat = c.stats.latencies.slice(), fr = frames.slice(1);
      const out = {live: c.calls.size, firstRenderMs: +(Math.max(...first) || 0).toFixed(1), updates: sent,
        LatP50: q(lat, 0.5), LatP95: q(lat, 0.95), LatMax: q(lat, 1),
        FrameP50: q(fr, 0.5), FrameP95: q(fr, 0.95), FrameMax: q(fr, 1), RenderMax: q(c.stats.renders.slice(r0), 1),
        domRows: document.querySelectorAll("#calls-grid [data-id]").length, frames: fr.length,
        sinceStartMs: +(performance.now() - t0).toFixed(0)};
      done(out);
    }));
  }, 2000);
}));`
