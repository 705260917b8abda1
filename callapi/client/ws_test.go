package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/coder/websocket"
)

// TestEventStreamWebSocket: over the WebSocket stream the client sends the
// token and filters, reconnects after the server's stream.error notice and
// after a dropped connection, resuming with last_event_id, and returns each
// event once.
func TestEventStreamWebSocket(t *testing.T) {
	var mu sync.Mutex
	var resumes, auths []string
	conns := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events/ws" || r.URL.Query().Get("type") != "call." {
			http.Error(w, "bad request", 400)
			return
		}
		mu.Lock()
		conns++
		n := conns
		resumes = append(resumes, r.URL.Query().Get("last_event_id"))
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		ev := func(id string) {
			_ = c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"id":%q,"type":"call.hangup","node":"pbx1","call_id":"c1","data":{"cause":16,"cause_text":"Normal Clearing"}}`, id)))
		}
		switch n {
		case 1:
			ev("w1")
			ev("w2")
			_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"stream.error","error":{"code":"shutdown","message":"bye"}}`))
			_ = c.Close(websocket.StatusGoingAway, "gateway shutting down")
		case 2:
			ev("w2") // repeated by the resume
			ev("w3")
			time.Sleep(50 * time.Millisecond)
			return // dropped
		default:
			ev("w4")
			<-ctx.Done()
		}
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, WithToken("tok"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.EventsWS(ctx, EventFilter{Types: []callapi.EventType{"call."}}, StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for len(ids) < 4 {
		e, err := st.Next()
		if err != nil {
			t.Fatalf("after %v: %v", ids, err)
		}
		if d, err := callapi.DecodeData(e); err != nil || d.(*callapi.HangupData).Cause != 16 {
			t.Fatalf("data %v %v", d, err)
		}
		ids = append(ids, e.ID)
	}
	if want := []string{"w1", "w2", "w3", "w4"}; !slices.Equal(ids, want) {
		t.Errorf("events %v, want %v", ids, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"", "w2", "w3"}; !slices.Equal(resumes, want) {
		t.Errorf("last_event_id per connection %q, want %q", resumes, want)
	}
	if auths[0] != "Bearer tok" {
		t.Errorf("Authorization %q", auths[0])
	}
	if _, err := c.EventsWS(ctx, EventFilter{Types: []callapi.EventType{"bogus"}}, StreamOptions{}); ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("refused stream: %v", err)
	}
}
