package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/callapi"
)

// A stream the gateway ends because its token lost its authority is not
// reconnected for ever: "revoked" is final, and so is "token_expired" for
// a fixed token; with client credentials an expired token is renewed and
// the stream goes on. A client the token endpoint refuses is final too.
func TestEventStreamAuthorityEnds(t *testing.T) {
	for _, tc := range []struct {
		name, notice string
		ws, creds    bool
		wantFinal    bool
	}{
		{"sse revoked", NoticeRevoked, false, false, true},
		{"sse revoked with credentials", NoticeRevoked, false, true, true},
		{"sse expired fixed token", NoticeTokenExpired, false, false, true},
		{"sse expired with credentials", NoticeTokenExpired, false, true, false},
		{"ws revoked", NoticeRevoked, true, false, true},
		{"ws expired fixed token", NoticeTokenExpired, true, false, true},
		{"ws expired with credentials", NoticeTokenExpired, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/oauth/token" {
					_, _ = io.WriteString(w, `{"access_token":"T1","token_type":"Bearer","expires_in":3600}`)
					return
				}
				n := conns.Add(1)
				if tc.ws {
					c, err := websocket.Accept(w, r, nil)
					if err != nil {
						return
					}
					if n == 1 {
						code := map[string]websocket.StatusCode{NoticeRevoked: 4403, NoticeTokenExpired: 4401}[tc.notice]
						_ = c.Close(code, tc.notice)
						return
					}
					_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"id":"e2","type":"call.created"}`))
					_ = c.Close(websocket.StatusNormalClosure, "")
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				if n == 1 {
					fmt.Fprintf(w, "id: e1\ndata: {\"id\":\"e1\",\"type\":\"call.created\"}\n\nevent: error\ndata: {\"code\":%q,\"message\":\"m\"}\n\n", tc.notice)
					return
				}
				fmt.Fprint(w, "id: e2\ndata: {\"id\":\"e2\",\"type\":\"call.created\"}\n\n")
			}))
			defer srv.Close()
			var opts []Option
			if tc.creds {
				opts = append(opts, WithClientCredentials("app", "s", ""))
			} else {
				opts = append(opts, WithToken("T0"))
			}
			c := mustClient(t, srv.URL, opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			open := c.Events
			if tc.ws {
				open = c.EventsWS
			}
			s, err := open(ctx, EventFilter{}, StreamOptions{})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			for range 3 {
				var e *callapi.Event
				if e, err = s.Next(); err != nil || e.ID == "e2" {
					break
				}
			}
			var pe *Error
			if got := errors.As(err, &pe) && pe.Code == callapi.CodeUnauthorized; got != tc.wantFinal {
				t.Fatalf("final %v, want %v (err %v, %d connections)", got, tc.wantFinal, err, conns.Load())
			}
			if tc.wantFinal && conns.Load() != 1 {
				t.Fatalf("%d connections, want 1", conns.Load())
			}
		})
	}
}

// A client whose credentials the gateway now refuses does not retry.
func TestEventStreamRefusedCredentialsFinal(t *testing.T) {
	var tokens atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens.Add(1)
		problem(w, 401, "unauthorized", "unknown client or wrong secret")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := mustClient(t, srv.URL, WithClientCredentials("app", "s", "")).Events(ctx, EventFilter{}, StreamOptions{})
	if err == nil {
		defer s.Close()
		_, err = s.Next()
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != callapi.CodeUnauthorized || tokens.Load() != 1 {
		t.Fatalf("err %v after %d token requests", err, tokens.Load())
	}
}
