package restapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// TestResumeGapSSE: a stream resuming from an id the gateway no longer
// keeps (its tenant's own burst pushed it out) or never knew is told so
// (event resume_gap) before it goes on live; one resuming from a kept id
// is not.
func TestResumeGapSSE(t *testing.T) {
	hub := NewHub(HubConfig{History: 4})
	ts := newStreamServer(t, hub, Config{})
	for i := range 10 {
		hub.Publish(ev(fmt.Sprint("e", i), callapi.EvCallCreated, "c1"))
	}
	for _, id := range []string{"e2", "never-seen"} {
		_, rd := openSSE(t, ts.URL+"/v1/events", "Last-Event-ID", id)
		m, err := rd.next()
		if err != nil || m.event != "resume_gap" || m.id != "" {
			t.Fatalf("resume from %s: %+v %v, want event resume_gap", id, m, err)
		}
		var n dropNotice
		if err := json.Unmarshal([]byte(m.data), &n); err != nil || n.Code != "resume_gap" || !strings.Contains(n.Message, "resynchronise") {
			t.Fatalf("notice %q: %v", m.data, err)
		}
	}
	// From a kept id: the rest, no notice.
	_, rd := openSSE(t, ts.URL+"/v1/events", "Last-Event-ID", "e8")
	if m, err := rd.next(); err != nil || m.event != "" || m.id != "e9" {
		t.Fatalf("resume from a kept id: %+v %v", m, err)
	}
	// The gap stream goes on live.
	_, rd = openSSE(t, ts.URL+"/v1/events", "Last-Event-ID", "e0")
	if m, _ := rd.next(); m.event != "resume_gap" {
		t.Fatalf("got %+v", m)
	}
	hub.Publish(ev("e10", callapi.EvCallHangup, "c1"))
	for {
		m, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if m.id == "e10" {
			break
		}
	}
}

func TestResumeGapWebSocket(t *testing.T) {
	hub := NewHub(HubConfig{History: 2})
	ts := newStreamServer(t, hub, Config{})
	for i := range 5 {
		hub.Publish(ev(fmt.Sprint("e", i), callapi.EvCallCreated, "c1"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws?last_event_id=e0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m wsNotice
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "stream.notice" || m.Notice.Code != "resume_gap" {
		t.Fatalf("first message %s: %v", b, err)
	}
	hub.Publish(ev("e5", callapi.EvCallHangup, "c1"))
	if _, b, err = c.Read(ctx); err != nil || !strings.Contains(string(b), `"e5"`) {
		t.Fatalf("live after the notice: %s %v", b, err)
	}
}

// TestFeedForgetsHistoryWhenItStopped: once the feed let its bus
// subscription go, events passed the gateway by; a resume from before must
// report the gap, not replay what was kept as if nothing were missing.
func TestFeedForgetsHistoryWhenItStopped(t *testing.T) {
	src := &fakeSource{}
	hub := NewHub(HubConfig{Log: zaptest.NewLogger(t)})
	defer hub.Close()
	f := NewFeed(hub, src.subscribe, time.Millisecond, nil)
	defer f.Close()
	_, cancel, err := f.Subscribe(context.Background(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	src.deliver(&callapi.Event{ID: "e1", Type: callapi.EvCallCreated, Tenant: callapi.DefaultTenant, CallID: "c1"})
	src.deliver(&callapi.Event{ID: "e2", Type: callapi.EvCallCreated, Tenant: callapi.DefaultTenant, CallID: "c2"})
	cancel()
	testenv.WaitFor(t, "the feed to let go", 5*time.Second, func() bool { return !f.Subscribed() })
	// (e3 is published meanwhile: no subscription takes it.)
	ch, cancel, err := f.Subscribe(context.Background(), EventFilter{LastEventID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if len(ch) != 1 || !IsResumeGap(<-ch) {
		t.Fatalf("%d values, want the resume-gap marker alone (no replay of e2 as if nothing were missed)", len(ch))
	}
}
