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
)

// gapServer answers a stream with the gateway's resume_gap notice, then
// one live event, on one connection, over SSE or WebSocket.
func gapServer(t *testing.T, conns *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		const e = `{"id":"e9","type":"call.answered","node":"pbx1","call_id":"c1","data":{"state":"up"}}`
		if r.URL.Path == "/v1/events/ws" {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"stream.notice","notice":{"code":"resume_gap","message":"gone"}}`))
			_ = c.Write(r.Context(), websocket.MessageText, []byte(e))
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "retry: 3000\n: connected\n\nevent: resume_gap\ndata: {\"code\":\"resume_gap\",\"message\":\"gone\"}\n\n")
		fmt.Fprintf(w, "id: e9\ndata: %s\n\n", e)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestResumeGapSurfaces: a stream the gateway could not resume tells its
// reader, as a *ResumeGapError from Next or through OnResumeGap, and goes
// on with the live events on the same connection (no reconnect loop).
func TestResumeGapSurfaces(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(fmt.Sprint("ws=", ws), func(t *testing.T) {
			var conns atomic.Int32
			c := mustClient(t, gapServer(t, &conns).URL)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			open := c.Events
			if ws {
				open = c.EventsWS
			}
			st, err := open(ctx, EventFilter{}, StreamOptions{LastEventID: "e1"})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = st.Next()
			var gap *ResumeGapError
			if !errors.As(err, &gap) || gap.LastEventID != "e1" || gap.Message != "gone" {
				t.Fatalf("first Next: %v, want a *ResumeGapError after e1", err)
			}
			if e, err := st.Next(); err != nil || e.ID != "e9" {
				t.Fatalf("after the gap: %+v %v", e, err)
			}

			var from string
			st2, err := open(ctx, EventFilter{}, StreamOptions{LastEventID: "e2", OnResumeGap: func(id string) { from = id }})
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			if e, err := st2.Next(); err != nil || e.ID != "e9" || from != "e2" {
				t.Fatalf("with OnResumeGap: %+v %v, called with %q", e, err, from)
			}
			if n := conns.Load(); n != 2 {
				t.Fatalf("%d connections, want 2 (one per stream: a gap is no reason to reconnect)", n)
			}
		})
	}
}
