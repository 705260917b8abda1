package restapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/callgw/callgw/internal/testenv"
)

// TestStreamLimits: one token may hold StreamLimits.PerToken event streams
// and one tenant PerTenant (SSE and WebSocket together); past them the
// request answers 429; closing a stream frees its place. Issue 12,
// finding 6 (500 SSE streams from one token were accepted).
func TestStreamLimits(t *testing.T) {
	hub := NewHub(HubConfig{})
	cfg := Config{Auth: authConfig(t), Streams: StreamLimits{PerToken: 3, PerTenant: 5}, Log: zap.NewNop()}
	cfg.Auth.Clients = append(cfg.Auth.Clients,
		Client{ID: "acme-2", SecretHash: mustHash(t, "a2"), Tenant: "acme", Scopes: []string{ScopeEventsRead}},
		Client{ID: "globex-app", SecretHash: mustHash(t, "g"), Tenant: "globex", Scopes: []string{ScopeEventsRead}})
	s := NewServer(cfg, nil, nil, hub, nil)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	tok := func(id, secret string) string {
		code, tr, p := getToken(t, s.Handler(), tokenForm(id, secret))
		if code != 200 {
			t.Fatalf("token %s: %d %+v", id, code, p)
		}
		return tr.AccessToken
	}
	a, a2, g := tok("acme-app", "s3cret"), tok("acme-2", "a2"), tok("globex-app", "g")
	sse := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	ws := func(token string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err == nil {
			t.Cleanup(func() { c.CloseNow() })
			return 101
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}

	var first *http.Response
	for i := range 3 {
		resp := sse(a)
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d of the token: %d", i+1, resp.StatusCode)
		}
		if first == nil {
			first = resp
		}
	}
	if resp := sse(a); resp.StatusCode != 429 {
		t.Errorf("4th SSE stream of one token: %d", resp.StatusCode)
	}
	if code := ws(a); code != 429 {
		t.Errorf("WebSocket past the token's limit: %d", code)
	}
	// Another token of the tenant: two more, then the tenant is full.
	if code := ws(a2); code != 101 {
		t.Errorf("WebSocket of a second token: %d", code)
	}
	if resp := sse(a2); resp.StatusCode != 200 {
		t.Errorf("SSE of a second token: %d", resp.StatusCode)
	}
	if resp := sse(a2); resp.StatusCode != 429 {
		t.Errorf("6th stream of the tenant: %d", resp.StatusCode)
	}
	// Another tenant is not affected.
	if resp := sse(g); resp.StatusCode != 200 {
		t.Errorf("other tenant: %d", resp.StatusCode)
	}
	// Closing a stream frees its place.
	first.Body.Close()
	testenv.WaitFor(t, "the closed stream released", 5*time.Second, func() bool { return sse(a).StatusCode == 200 })
}
