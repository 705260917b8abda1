package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Methods take the vocabulary's typed ids (a compile-time check).
var (
	_ func(*Client, context.Context, callapi.CallID, string, ...CallOption) error                           = (*Client).Hangup
	_ func(*Client, context.Context, callapi.BridgeID, callapi.CallID, ...CallOption) error                 = (*Client).AddToBridge
	_ func(*Client, context.Context, callapi.NodeID, ...CallOption) (*callapi.Node, error)                  = (*Client).GetNode
	_ func(*Client, context.Context, callapi.BridgeID, ...CallOption) (*callapi.Bridge, error)              = (*Client).GetBridge
	_ func(*Client, context.Context, callapi.CallID, PlayRequest, ...CallOption) (*callapi.Playback, error) = (*Client).Play
)

// fakeGateway answers originates and plays, and writes events to the SSE
// streams open at that moment, as the gateway does: events published
// before a stream connected are not on it.
type fakeGateway struct {
	mu      sync.Mutex
	streams []chan string
	// onOriginate and onPlay publish the events that precede the answer.
	answer  callapi.Call
	onPlay  []string
	queries []string
}

func (g *fakeGateway) publish(typ, call, data string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := fmt.Sprintf("e%d-%s-%s", time.Now().UnixNano(), call, typ)
	msg := fmt.Sprintf("id: %s\ndata: {\"id\":%q,\"type\":%q,\"call_id\":%q,\"data\":%s}\n\n", id, id, typ, call, data)
	for _, s := range g.streams {
		s <- msg
	}
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1/events":
		g.mu.Lock()
		ch := make(chan string, 64)
		g.streams = append(g.streams, ch)
		g.queries = append(g.queries, r.URL.RawQuery)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": connected\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case m := <-ch:
				fmt.Fprint(w, m)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	case r.URL.Path == "/v1/calls":
		// The call's first events leave before the originate's answer.
		g.publish("call.created", "other", `{}`)
		g.publish("call.created", string(g.answer.ID), `{}`)
		if g.answer.State == callapi.StateUp {
			g.publish("call.answered", string(g.answer.ID), `{"state":"up"}`)
		} else {
			g.publish("call.hangup", string(g.answer.ID), `{"cause":17}`)
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(g.answer)
	case r.URL.Path == "/v1/calls/c1/play":
		_ = json.NewEncoder(w).Encode(callapi.Playback{ID: "p1", State: "queued"})
		go func() {
			for _, typ := range g.onPlay {
				id, typ, _ := cutPair(typ)
				g.publish(typ, "c1", fmt.Sprintf(`{"playback_id":%q,"state":"done"}`, id))
			}
		}()
	case r.URL.Path == "/v1/calls/c1" && r.Method == http.MethodDelete:
		g.publish("call.hangup", "c1", `{"cause":16}`)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func cutPair(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func (g *fakeGateway) subscribers() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.streams)
}

// TestEventsConnectedOnReturn: Events returns a stream the gateway has
// already subscribed, so an event published right after it returns is
// delivered.
func TestEventsConnectedOnReturn(t *testing.T) {
	g := &fakeGateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Events(ctx, EventFilter{Types: []callapi.EventType{callapi.EvCallHangup}}, StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := g.subscribers(); n != 1 {
		t.Fatalf("%d streams subscribed when Events returned, want 1", n)
	}
	g.publish("call.hangup", "c9", `{"cause":16}`)
	if e, err := st.Next(); err != nil || e.CallID != "c9" {
		t.Fatalf("Next = %v, %v", e, err)
	}
}

// TestDialSeesFirstEvents: Dial's subscription holds the call's events
// published before the originate answered (and none of another call's),
// in order, and ends after call.hangup.
func TestDialSeesFirstEvents(t *testing.T) {
	g := &fakeGateway{answer: callapi.Call{ID: "c1", State: callapi.StateUp}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := c.Dial(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/1", Wait: callapi.WaitAnswered, Tags: []string{"t1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if h.ID() != "c1" || h.Originated().State != callapi.StateUp {
		t.Fatalf("handle %s %+v", h.ID(), h.Originated())
	}
	events, err := h.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Hangup(ctx, ""); err != nil {
		t.Fatal(err)
	}
	var types []callapi.EventType
	for e, err := range events.All() {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	if want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}; !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	if q := g.queries[0]; q != "tag=t1&type=call." {
		t.Errorf("Dial's stream query %q: want the request's tag", q)
	}
}

// TestOriginateNotAnswered: with WaitAnswered, a call that ended
// unanswered is a *NotAnsweredError carrying the ended call; Dial's
// handle still gives its events up to call.hangup.
func TestOriginateNotAnswered(t *testing.T) {
	g := &fakeGateway{answer: callapi.Call{ID: "c1", State: callapi.StateEnded, Hangup: &callapi.Hangup{Cause: 17, CauseText: "User busy", DialStatus: "BUSY"}}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/1", Wait: callapi.WaitAnswered}}
	call, err := c.Originate(ctx, req)
	var na *NotAnsweredError
	if !errors.As(err, &na) || na.Call.Hangup.DialStatus != "BUSY" || call == nil || call.State != callapi.StateEnded {
		t.Fatalf("Originate = %+v, %v; want the ended call and a *NotAnsweredError", call, err)
	}
	if ErrorCode(err) != callapi.CodeConflict {
		t.Errorf("ErrorCode %q", ErrorCode(err))
	}
	h, err := c.Dial(ctx, req)
	if !errors.As(err, &na) || h == nil {
		t.Fatalf("Dial = %v, %v", h, err)
	}
	events, err := h.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := events.Wait(callapi.EvCallHangup); err != nil || e.CallID != "c1" {
		t.Errorf("Wait(hangup) = %v, %v", e, err)
	}
	req.Wait = callapi.WaitNone
	if _, err := c.Originate(ctx, req); err != nil {
		t.Errorf("without WaitAnswered: %v", err)
	}
}

// TestPlayAndWait: PlayAndWait returns when its own playback finished,
// and ErrCallEnded when the call hangs up first.
func TestPlayAndWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		onPlay  []string
		want    error
		wantEnd string
	}{
		{"finished", []string{"p0 call.playback.finished", "p1 call.playback.finished"}, nil, "done"},
		{"hung up", []string{"p0 call.playback.finished", "- call.hangup"}, ErrCallEnded, "queued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGateway{onPlay: tc.onPlay}
			srv := httptest.NewServer(g)
			defer srv.Close()
			c := mustClient(t, srv.URL)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := c.Call("c1").PlayAndWait(ctx, PlayRequest{Media: []string{"sound:hello-world"}})
			if !errors.Is(err, tc.want) || p == nil || p.ID != "p1" || p.State != tc.wantEnd {
				t.Fatalf("PlayAndWait = %+v, %v; want state %s, %v", p, err, tc.wantEnd, tc.want)
			}
		})
	}
}
