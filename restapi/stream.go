package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// streamQuery are the query parameters of the event stream routes.
var streamQuery = []string{"type", "node", "call_id", "tag", "tenant", "last_event_id", "since", "access_token"}

// AllTenants is the one value of the "tenant" query (of the stream routes
// and of the call listing) that a request may give: every tenant's events
// or calls, for admin tokens only. It is the call.list command's tenant
// for every tenant too.
const AllTenants = callapi.AllTenants

// allTenants reads r's "tenant" query: absent, false; AllTenants from an
// admin token, true; any other value is invalid (whose, e.g. "every
// tenant's calls", says what it would have asked for), another token's
// forbidden: refused rather than ignored.
func allTenants(r *http.Request, whose string) (bool, error) {
	q := r.URL.Query()
	if !q.Has("tenant") {
		return false, nil
	}
	if q.Get("tenant") != AllTenants {
		return false, callapi.Invalid("tenant", "%q: only %q (%s, admin tokens only) is accepted", q.Get("tenant"), AllTenants, whose)
	}
	if !principalOf(r.Context()).Has(ScopeAdmin) {
		return false, callapi.Errorf(callapi.CodeForbidden, "tenant=%s needs the %s scope", AllTenants, ScopeAdmin)
	}
	return true, nil
}

// parseSince reads the since parameter: an RFC 3339 time or unix
// milliseconds, not in the future.
func parseSince(v string, now time.Time) (time.Time, error) {
	var t time.Time
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 && ms < 1e14 {
		t = time.UnixMilli(ms)
	} else if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
		return t, callapi.Invalid("since", "%q is not an RFC 3339 time (2026-01-02T15:04:05Z) or unix milliseconds", v)
	}
	if t.After(now.Add(time.Minute)) {
		return t, callapi.Invalid("since", "%q is in the future", v)
	}
	return t, nil
}

// eventFilter reads the stream filters of a request. "type" may be given
// as a comma-separated list.
func eventFilter(r *http.Request) (EventFilter, error) {
	q := r.URL.Query()
	if err := checkQuery(q, streamQuery...); err != nil {
		return EventFilter{}, err
	}
	f := EventFilter{
		Node:        callapi.NodeID(q.Get("node")),
		CallID:      callapi.CallID(q.Get("call_id")),
		Tag:         q.Get("tag"),
		Tenant:      principalOf(r.Context()).Tenant,
		LastEventID: r.Header.Get("Last-Event-ID"),
	}
	if f.LastEventID == "" {
		f.LastEventID = q.Get("last_event_id")
	}
	if f.Tenant == "" {
		f.Tenant = callapi.DefaultTenant
	}
	// An operator's console watches every tenant: an admin token may widen
	// its stream (and its resume) to all of them.
	if all, err := allTenants(r, "every tenant"); err != nil {
		return f, err
	} else if all {
		f.Tenant = ""
	}
	if q.Has("since") {
		t, err := parseSince(q.Get("since"), time.Now())
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if q.Has("type") {
		for _, t := range strings.Split(q.Get("type"), ",") {
			t = strings.TrimSpace(t)
			if !validTypePattern(t) {
				return f, callapi.Invalid("type", "%q is not an event type (call.hangup) or prefix (call. or call.*)", t)
			}
			if !callapi.KnownEventTypePattern(t) {
				return f, callapi.Invalid("type", "%q matches no event type (%s)", t, knownTypes())
			}
			f.Types = append(f.Types, t)
		}
	}
	if q.Has("node") {
		if err := callapi.CheckNodeID("node", f.Node); err != nil {
			return f, err
		}
	}
	if q.Has("call_id") {
		if err := callapi.CheckID("call_id", "call id", string(f.CallID)); err != nil {
			return f, err
		}
	}
	if q.Has("tag") && !callapi.ValidTag(f.Tag) {
		return f, callapi.Invalid("tag", "%q: a tag is 1-64 of [A-Za-z0-9_-]", f.Tag)
	}
	if len(f.LastEventID) > 128 {
		return f, callapi.Invalid("Last-Event-ID", "longer than 128 characters")
	}
	return f, nil
}

// knownTypes lists the event types for an error message.
func knownTypes() string {
	var b strings.Builder
	for i, t := range callapi.EventTypes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

func validTypePattern(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	t = strings.TrimSuffix(t, "*")
	for i, c := range t {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c == '.' && i > 0:
		default:
			return false
		}
	}
	return t != ""
}

// subscribe opens a subscription for a stream request.
func (s *Server) subscribe(r *http.Request) (<-chan *callapi.Event, func(), error) {
	f, err := eventFilter(r)
	if err != nil {
		return nil, nil, err
	}
	if s.events == nil {
		return nil, nil, callapi.Errorf(callapi.CodeNodeUnavailable, "event streaming is not configured")
	}
	ch, unsub, err := s.events.Subscribe(r.Context(), f)
	if err != nil {
		return nil, nil, callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "event streaming unavailable")
	}
	return ch, unsub, nil
}

// dropNotice is the last message of a stream the server ended.
type dropNotice struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) slowNotice() dropNotice {
	return dropNotice{Code: "slow_consumer", Message: "the server ended this stream because the client did not keep up " +
		"with the event rate (its buffer filled); reconnect with Last-Event-ID to resume from the recent-event buffer"}
}

// resumeGapNotice tells a resuming stream that its Last-Event-ID is no
// longer (or was never) in this gateway's recent-event history: the
// stream goes on live, and events in between may be missing.
var resumeGapNotice = dropNotice{Code: "resume_gap", Message: "the events after Last-Event-ID are no longer kept " +
	"(or the id is unknown here): the stream goes on live from now; events in between may be missing, resynchronise (GET /v1/calls)"}

var shutdownNotice = dropNotice{Code: "shutdown", Message: "the gateway is shutting down; reconnect with Last-Event-ID"}

// handleSSE serves GET /v1/events as Server-Sent Events: "id:" is the
// event id, "data:" the event JSON; a comment line every StreamHeartbeat
// keeps idle connections open.
func (s *Server) handleSSE(w http.ResponseWriter, r *http.Request) {
	release, err := s.open.acquire(principalOf(r.Context()), s.cfg.Streams)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	ch, unsub, err := s.subscribe(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer unsub()
	s.streams.Add(1)
	defer s.streams.Done()
	s.metrics.streams.WithLabelValues("sse").Inc()
	defer s.metrics.streams.WithLabelValues("sse").Dec()

	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // RequestTimeout bounds reading requests, not streams
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func(timeout time.Duration) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(timeout))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			s.log.Debug("event stream write failed", zap.Error(err))
			return false
		}
		return true
	}
	buf.WriteString("retry: 3000\n: connected\n\n")
	if !send(s.cfg.StreamWriteTimeout) {
		return
	}
	tick := time.NewTicker(s.cfg.StreamHeartbeat)
	defer tick.Stop()
	auth := s.watchAuthority(principalOf(r.Context()))
	defer auth.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			writeSSE(&buf, "", "shutdown", shutdownNotice)
			send(time.Second)
			return
		case <-auth.Done():
			writeSSE(&buf, "", "error", auth.Notice())
			send(time.Second)
			return
		case <-tick.C:
			buf.WriteString(": ping\n\n")
			if !send(s.cfg.StreamWriteTimeout) {
				return
			}
		case e, ok := <-ch:
			if !ok {
				s.metrics.streamDropped.WithLabelValues("sse").Inc()
				writeSSE(&buf, "", "error", s.slowNotice())
				send(time.Second)
				return
			}
			if IsResumeGap(e) {
				writeSSE(&buf, "", resumeGapNotice.Code, resumeGapNotice)
			} else {
				writeSSE(&buf, eventCursor(e), "", streamView(e, principalOf(r.Context())))
			}
			if !send(s.cfg.StreamWriteTimeout) {
				return
			}
		}
	}
}

// eventCursor is the SSE id of e: its place in the tenant's history when
// the gateway reads it from there, else its id.
func eventCursor(e *callapi.Event) string {
	if e.Cursor != "" {
		return e.Cursor
	}
	return e.ID
}

// writeSSE appends one SSE message. JSON never contains a raw newline, so
// one data line suffices.
func writeSSE(buf *bytes.Buffer, id, event string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"code":"internal","message":"unencodable event"}`)
	}
	if id != "" {
		buf.WriteString("id: ")
		buf.WriteString(strings.NewReplacer("\n", "", "\r", "").Replace(id))
		buf.WriteByte('\n')
	}
	if event != "" {
		buf.WriteString("event: ")
		buf.WriteString(event)
		buf.WriteByte('\n')
	}
	buf.WriteString("data: ")
	buf.Write(b)
	buf.WriteString("\n\n")
}

// wsMessage is a control message on the WebSocket stream; events are sent
// as their plain JSON.
type wsMessage struct {
	Type  string     `json:"type"` // "stream.error"
	Error dropNotice `json:"error"`
}

// wsNotice is a notice on the WebSocket stream that does not end it
// (code resume_gap).
type wsNotice struct {
	Type   string     `json:"type"` // "stream.notice"
	Notice dropNotice `json:"notice"`
}

// handleWS serves GET /v1/events/ws: each event is one text message with
// the event JSON. The server pings every StreamHeartbeat; when it ends the
// stream it says why in the close reason (and a final stream.error message
// when it can).
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.events == nil {
		s.fail(w, r, callapi.Errorf(callapi.CodeNodeUnavailable, "event streaming is not configured"))
		return
	}
	release, err := s.open.acquire(principalOf(r.Context()), s.cfg.Streams)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	s.streams.Add(1)
	defer s.streams.Done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.wsOriginPatterns()})
	if err != nil {
		return // Accept answered the client already
	}
	defer func() { _ = c.CloseNow() }()
	ctx := c.CloseRead(r.Context()) // handles pongs and the client's close
	ch, unsub, err := s.events.Subscribe(ctx, f)
	if err != nil {
		_ = c.Close(websocket.StatusTryAgainLater, "event streaming unavailable")
		return
	}
	defer unsub()
	s.metrics.streams.WithLabelValues("websocket").Inc()
	defer s.metrics.streams.WithLabelValues("websocket").Dec()

	write := func(v any, timeout time.Duration) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return true
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, b) == nil
	}
	tick := time.NewTicker(s.cfg.StreamHeartbeat)
	defer tick.Stop()
	auth := s.watchAuthority(principalOf(r.Context()))
	defer auth.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			write(wsMessage{Type: "stream.error", Error: shutdownNotice}, time.Second)
			_ = c.Close(websocket.StatusGoingAway, "gateway shutting down")
			return
		case <-auth.Done():
			n := auth.Notice()
			write(wsMessage{Type: "stream.error", Error: n}, time.Second)
			_ = c.Close(websocket.StatusCode(wsCloseCode(n)), n.Code)
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, s.cfg.StreamWriteTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case e, ok := <-ch:
			if !ok {
				s.metrics.streamDropped.WithLabelValues("websocket").Inc()
				if write(wsMessage{Type: "stream.error", Error: s.slowNotice()}, time.Second) {
					_ = c.Close(websocket.StatusPolicyViolation, "slow consumer: did not keep up with the event rate")
				} // else the client takes nothing at all: no close handshake, just drop it
				return
			}
			var msg any = streamView(e, principalOf(r.Context()))
			if IsResumeGap(e) {
				msg = wsNotice{Type: "stream.notice", Notice: resumeGapNotice}
			}
			if !write(msg, s.cfg.StreamWriteTimeout) {
				return
			}
		}
	}
}
