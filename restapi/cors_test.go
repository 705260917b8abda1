package restapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/callapi"
)

// TestCORS: preflights of allowed origins are answered without a token;
// answers to allowed origins carry Access-Control-Allow-Origin; other
// origins get no CORS headers (and 403 on preflight); requests without
// Origin are untouched.
func TestCORS(t *testing.T) {
	s := MustNewServer(t, Config{CORSOrigins: []string{"http://app.example:3000"}, Auth: authConfig(t)}, deps{events: NewHub(HubConfig{})})
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		status             int
		allowOrigin        string
	}{
		{"preflight allowed", "OPTIONS", "/v1/calls", []string{"Origin", "http://app.example:3000", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"}, 204, "http://app.example:3000"},
		{"preflight of the stream", "OPTIONS", "/v1/events", []string{"Origin", "http://app.example:3000", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "last-event-id"}, 204, "http://app.example:3000"},
		{"preflight other origin", "OPTIONS", "/v1/calls", []string{"Origin", "http://evil.example", "Access-Control-Request-Method", "POST"}, 403, ""},
		{"simple request allowed", "GET", "/healthz", []string{"Origin", "http://app.example:3000"}, 200, "http://app.example:3000"},
		{"simple request other origin", "GET", "/healthz", []string{"Origin", "http://evil.example"}, 200, ""},
		{"error answers carry it too", "GET", "/v1/calls", []string{"Origin", "http://app.example:3000"}, 401, "http://app.example:3000"},
		{"no origin", "GET", "/healthz", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s.Handler(), tc.method, tc.path, "", tc.hdr...)
			h := rec.Header()
			if rec.Code != tc.status || h.Get("Access-Control-Allow-Origin") != tc.allowOrigin {
				t.Fatalf("%d allow-origin %q, want %d %q", rec.Code, h.Get("Access-Control-Allow-Origin"), tc.status, tc.allowOrigin)
			}
			if tc.status == 204 {
				for _, want := range []string{"Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"} {
					if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
						t.Errorf("Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
					}
				}
				if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("Allow-Methods %q, Allow-Credentials %q", h.Get("Access-Control-Allow-Methods"), h.Get("Access-Control-Allow-Credentials"))
				}
			}
			if tc.hdr != nil && !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin", h.Values("Vary"))
			}
		})
	}
	// Without configured origins a preflight is refused, not 405.
	rec := do(t, MustNewServer(t, Config{}, deps{}).Handler(), "OPTIONS", "/v1/calls", "", "Origin", "http://app.example:3000", "Access-Control-Request-Method", "POST")
	if rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins configured: %d %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

// TestWebSocketOrigins: a page on a configured origin (CORS origins or WS
// patterns) may open the WebSocket stream; another origin is refused.
func TestWebSocketOrigins(t *testing.T) {
	hub := NewHub(HubConfig{})
	ts := newStreamServer(t, hub, Config{CORSOrigins: []string{"http://app.example:3000"}, WSOriginPatterns: []string{"*.partner.example"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for origin, ok := range map[string]bool{"http://app.example:3000": true, "https://x.partner.example": true, "http://evil.example": false, "http://app.example:4000": false} {
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if (err == nil) != ok {
			t.Errorf("origin %s: err %v, want allowed=%v", origin, err, ok)
		}
		if c != nil {
			c.CloseNow()
		}
	}
}

// TestStreamFilterRefusesUnknownTypes: a type filter that can match no
// event type is refused with 400 naming the field, not accepted silently.
func TestStreamFilterRefusesUnknownTypes(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{events: NewHub(HubConfig{})})
	for q, want := range map[string]int{
		"type=call.hangpu": 400, "type=call.hangup,calls.": 400, "type=call": 400, "type=node.": 0, "type=call.playback.*": 0,
	} {
		path := "/v1/events?" + q
		if want == 0 { // valid filters open a stream: check them on the WebSocket route's validation instead
			if _, err := eventFilter(mustRequest(t, path)); err != nil {
				t.Errorf("%s refused: %v", q, err)
			}
			continue
		}
		rec := do(t, s.Handler(), "GET", path, "")
		if rec.Code != want || !strings.Contains(rec.Body.String(), `"field":"type"`) {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body.String())
		}
	}
}

func mustRequest(t *testing.T, path string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNodeEventsReachTenantStreams: node.up/draining/down belong to no
// tenant, and every tenant's stream carries them.
func TestNodeEventsReachTenantStreams(t *testing.T) {
	for _, typ := range []callapi.EventType{callapi.EvNodeUp, callapi.EvNodeDraining, callapi.EvNodeDown} {
		e := &callapi.Event{ID: "n", Type: typ, Node: "pbx1"}
		if !(EventFilter{Tenant: "acme", Types: []string{"node."}}).Match(e) {
			t.Errorf("%s not on acme's stream", typ)
		}
	}
	other := ev("x", callapi.EvCallHangup, "c")
	if (EventFilter{Tenant: "acme"}).Match(other) {
		t.Error("a call event without tenant acme passed acme's filter")
	}
}

// TestNodeEventsHideCallsFromTenants: on a tenant's stream a node event's
// node-wide call count is left out; an admin sees it.
func TestNodeEventsHideCallsFromTenants(t *testing.T) {
	e := &callapi.Event{ID: "n", Type: callapi.EvNodeUp, Node: "pbx1", Data: []byte(`{"node":"pbx1","state":"up","calls":42,"capacity":100}`)}
	tenant := streamView(e, Principal{Tenant: "acme", Scopes: []string{ScopeEventsRead}})
	if strings.Contains(string(tenant.Data), "calls") || !strings.Contains(string(tenant.Data), `"capacity":100`) || e.Data == nil {
		t.Errorf("tenant sees %s", tenant.Data)
	}
	if admin := streamView(e, Principal{Tenant: "acme", Scopes: []string{ScopeAdmin}}); !strings.Contains(string(admin.Data), `"calls":42`) {
		t.Errorf("admin sees %s", admin.Data)
	}
	if call := ev("c", callapi.EvCallHangup, "c1"); streamView(call, Principal{}) != call {
		t.Error("a call event was rewritten")
	}
}
