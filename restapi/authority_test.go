package restapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/internal/testenv"
)

// streamWithToken serves a hub behind auth and returns a token of acme-app.
func streamWithToken(t *testing.T, ttl time.Duration) (*Server, *Hub, *httptest.Server, string) {
	t.Helper()
	hub := NewHub(HubConfig{})
	cfg := authConfig(t)
	cfg.TokenTTL = ttl
	s := MustNewServer(t, Config{Auth: cfg}, deps{events: hub})
	_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"s3cret"}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.CloseClientConnections(); ts.Close() })
	return s, hub, ts, tok.AccessToken
}

// lastNotice reads an SSE stream to its end and returns its final notice.
func lastNotice(t *testing.T, rd *sseReader, within time.Duration) (sseMsg, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan sseMsg, 1)
	go func() {
		var last sseMsg
		for {
			m, err := rd.next()
			if err != nil {
				done <- last
				return
			}
			last = m
		}
	}()
	select {
	case m := <-done:
		return m, time.Since(start)
	case <-time.After(within):
		t.Fatalf("the stream still runs after %s", within)
		return sseMsg{}, 0
	}
}

// A stream ends within a second of its client being disabled or removed,
// with a notice that says so.
func TestStreamEndsWhenClientRevoked(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func([]Client) []Client
	}{
		{"disabled", func(cs []Client) []Client { cs[0].Disabled = true; return cs }},
		{"removed", func(cs []Client) []Client { return cs[1:] }},
		{"scope withdrawn", func(cs []Client) []Client { cs[0].Scopes = []string{ScopeCallsRead}; return cs }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hub, ts, tok := streamWithToken(t, time.Hour)
			_, rd := openSSE(t, ts.URL+"/v1/events", "Authorization", "Bearer "+tok)
			testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
			if err := s.SetClients(authConfig(t).Clients); err != nil { // unchanged: the stream goes on
				t.Fatal(err)
			}
			if err := s.SetClients(tc.mod(authConfig(t).Clients)); err != nil {
				t.Fatal(err)
			}
			m, took := lastNotice(t, rd, 3*time.Second)
			var n dropNotice
			_ = json.Unmarshal([]byte(m.data), &n)
			if m.event != "error" || n.Code != noticeRevoked || took > time.Second {
				t.Fatalf("ended after %s with %+v", took, m)
			}
			testenv.WaitFor(t, "unsubscribed", 5*time.Second, func() bool { return hub.Stats().Subscribers == 0 })
		})
	}
}

// A stream ends at its token's expiry.
func TestStreamEndsAtTokenExpiry(t *testing.T) {
	_, _, ts, tok := streamWithToken(t, time.Second)
	_, rd := openSSE(t, ts.URL+"/v1/events", "Authorization", "Bearer "+tok)
	m, _ := lastNotice(t, rd, 4*time.Second)
	var n dropNotice
	_ = json.Unmarshal([]byte(m.data), &n)
	if m.event != "error" || n.Code != noticeTokenExpired {
		t.Fatalf("ended with %+v", m)
	}
}

// The WebSocket stream closes with 4403 and the reason when its client is
// disabled, after a final stream.error message.
func TestWebSocketEndsWhenClientRevoked(t *testing.T) {
	s, hub, ts, tok := streamWithToken(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws?access_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	cs := authConfig(t).Clients
	cs[0].Disabled = true
	if err := s.SetClients(cs); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "stream.error" || m.Error.Code != noticeRevoked {
		t.Fatalf("got %s", b)
	}
	_, _, err = c.Read(ctx)
	if st := websocket.CloseStatus(err); st != 4403 {
		t.Fatalf("close status %d (%v), want 4403", st, err)
	}
}
