package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
)

// fakeHistory is a HistorySource in memory: one log per tenant, offsets
// are indexes, the entries before first[tenant] are gone (retention).
type fakeHistory struct {
	mu      sync.Mutex
	logs    map[string][]*callapi.Event
	first   map[string]int64
	changed chan struct{}
	reads   int   // Reads started
	cut     error // ends the running Reads with this error, once
}

func newFakeHistory() *fakeHistory {
	return &fakeHistory{logs: map[string][]*callapi.Event{}, first: map[string]int64{}, changed: make(chan struct{})}
}

func (h *fakeHistory) Ensure(context.Context, string) error { return nil }

func (h *fakeHistory) append(tenant string, e *callapi.Event) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs[tenant] = append(h.logs[tenant], e)
	close(h.changed)
	h.changed = make(chan struct{})
	return int64(len(h.logs[tenant]) - 1)
}

func (h *fakeHistory) Read(ctx context.Context, tenant string, start HistoryStart, ready func(), fn func(int64, *callapi.Event) error) error {
	h.mu.Lock()
	h.reads++
	log := h.logs[tenant]
	idx := int64(len(log))
	switch {
	case start.Offset >= 0:
		idx = start.Offset
	case !start.Time.IsZero():
		idx = 0
		for idx < int64(len(log)) && log[idx].Time.Before(start.Time) {
			idx++
		}
	}
	idx = min(max(idx, h.first[tenant]), int64(len(log))) // past the end: the next one, as RabbitMQ
	h.mu.Unlock()
	if ready != nil {
		ready()
	}
	for {
		h.mu.Lock()
		log, changed := h.logs[tenant], h.changed
		h.mu.Unlock()
		for ; idx < int64(len(log)); idx++ {
			cp := *log[idx]
			if err := fn(idx, &cp); err != nil {
				if errors.Is(err, errStop) {
					return nil
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		h.mu.Lock()
		cut := h.cut
		h.mu.Unlock()
		if cut != nil {
			return cut
		}
	}
}

// restart replaces tenant's history by a new one (its stream deleted and
// declared again) and cuts the running reads.
func (h *fakeHistory) restart(tenant string) {
	h.mu.Lock()
	h.logs[tenant] = nil
	h.cut = errors.New("stream deleted")
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	h.cut = nil
	h.mu.Unlock()
}

func histEvent(tenant string, i int, at time.Time) *callapi.Event {
	return &callapi.Event{ID: fmt.Sprintf("%s-e%d", tenant, i), Type: callapi.EvCallAnswered, Tenant: tenant, Node: "pbx1",
		CallID: callapi.CallID(fmt.Sprintf("c%d", i)), Time: at}
}

// next reads one event from ch within a second.
func next(t *testing.T, ch <-chan *callapi.Event) *callapi.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return e
	case <-time.After(2 * time.Second):
		t.Fatal("no event within 2s")
	}
	return nil
}

func expectIDs(t *testing.T, ch <-chan *callapi.Event, ids ...string) []*callapi.Event {
	t.Helper()
	var got []*callapi.Event
	for _, id := range ids {
		e := next(t, ch)
		if e.ID != id {
			t.Fatalf("got %s (%s), want %s", e.ID, e.Type, id)
		}
		got = append(got, e)
	}
	select {
	case e := <-ch:
		t.Fatalf("one more event: %v", e)
	case <-time.After(30 * time.Millisecond):
	}
	return got
}

func newStreamFeed(t *testing.T, src HistorySource, history int) (*Hub, *StreamFeed) {
	hub := NewHub(HubConfig{Log: zaptest.NewLogger(t), History: history, Buffer: 16})
	f := NewStreamFeed(hub, src, time.Minute, zaptest.NewLogger(t))
	t.Cleanup(func() { f.Close(); hub.Close() })
	return hub, f
}

// TestStreamFeedResumeAnywhere: a stream's events carry their cursor; a
// client resumes with the cursor of its last event on another gateway
// (another StreamFeed over the same history, which keeps none of those
// events) and gets exactly the events it missed, then the live ones; a
// tenant's streams carry its events and nobody else's; a resume from the
// same gateway's kept events needs no read of the history.
func TestStreamFeedResumeAnywhere(t *testing.T) {
	src := newFakeHistory()
	_, gwA := newStreamFeed(t, src, 4)
	_, gwB := newStreamFeed(t, src, 4)
	ctx := t.Context()
	chA, cancelA, err := gwA.Subscribe(ctx, EventFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	chOther, cancelOther, err := gwA.Subscribe(ctx, EventFilter{Tenant: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	defer cancelOther()
	now := time.Now()
	for i := range 3 {
		src.append("acme", histEvent("acme", i, now))
	}
	got := expectIDs(t, chA, "acme-e0", "acme-e1", "acme-e2")
	if got[1].Cursor != "1:acme-e1" {
		t.Fatalf("cursor %q, want 1:acme-e1", got[1].Cursor)
	}
	cancelA() // the client goes away; 10 events happen (more than B could keep)
	for i := 3; i < 13; i++ {
		src.append("acme", histEvent("acme", i, now))
	}
	src.append("beta", histEvent("beta", 0, now))
	expectIDs(t, chOther, "beta-e0")

	chB, cancelB, err := gwB.Subscribe(ctx, EventFilter{Tenant: "acme", LastEventID: got[1].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	defer cancelB()
	want := []string{}
	for i := 2; i < 13; i++ {
		want = append(want, fmt.Sprintf("acme-e%d", i))
	}
	expectIDs(t, chB, want...)
	for i := 13; i < 16; i++ { // live, after the handover (or still caught up)
		src.append("acme", histEvent("acme", i, now))
	}
	last := expectIDs(t, chB, "acme-e13", "acme-e14", "acme-e15")
	if last[2].Cursor != "15:acme-e15" {
		t.Fatalf("live cursor %q", last[2].Cursor)
	}
	testWait(t, "the catch-up to hand over", func() bool {
		gwB.hub.mu.Lock()
		defer gwB.hub.mu.Unlock()
		for sub := range gwB.hub.subs {
			if sub.catching {
				return false
			}
		}
		return true
	})
	src.append("acme", histEvent("acme", 16, now))
	expectIDs(t, chB, "acme-e16")

	// On B again, from B's kept events: no read of the history.
	src.mu.Lock()
	reads := src.reads
	src.mu.Unlock()
	chB2, cancelB2, err := gwB.Subscribe(ctx, EventFilter{Tenant: "acme", LastEventID: last[1].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	defer cancelB2()
	expectIDs(t, chB2, "acme-e15", "acme-e16")
	src.mu.Lock()
	if src.reads != reads {
		t.Errorf("a resume from kept events read the history")
	}
	src.mu.Unlock()

	// A legacy event id among the kept events still resumes.
	chL, cancelL, err := gwB.Subscribe(ctx, EventFilter{Tenant: "acme", LastEventID: "acme-e15"})
	if err != nil {
		t.Fatal(err)
	}
	defer cancelL()
	expectIDs(t, chL, "acme-e16")
}

// TestStreamFeedResumeGap: a resume point that retention removed, or a
// cursor of another history (the offset holds another event), or an id
// not kept, gets the resume-gap marker and then the live events only.
func TestStreamFeedResumeGap(t *testing.T) {
	src := newFakeHistory()
	_, gw := newStreamFeed(t, src, 4)
	now := time.Now()
	for i := range 10 {
		src.append("acme", histEvent("acme", i, now))
	}
	src.mu.Lock()
	src.first["acme"] = 5
	src.mu.Unlock()
	for _, id := range []string{"2:acme-e2", "7:acme-e6", "no-such-event"} {
		t.Run(id, func(t *testing.T) {
			ch, cancel, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme", LastEventID: id})
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			if e := next(t, ch); !IsResumeGap(e) {
				t.Fatalf("first value %v, want the resume gap", e)
			}
			testWait(t, "live", func() bool {
				gw.hub.mu.Lock()
				defer gw.hub.mu.Unlock()
				for sub := range gw.hub.subs {
					if sub.catching {
						return false
					}
				}
				return true
			})
			n := src.append("acme", histEvent("acme", 100, now))
			if e := next(t, ch); e.Cursor != Cursor(n, "acme-e100") {
				t.Fatalf("after the gap %v, want the live event", e.Cursor)
			}
		})
	}
}

// TestStreamFeedSince: since replays the kept events from a time (the
// older ones the source gives first are left out), then live ones.
func TestStreamFeedSince(t *testing.T) {
	src := newFakeHistory()
	_, gw := newStreamFeed(t, src, 4)
	t0 := time.Now().Add(-time.Hour)
	for i := range 6 {
		src.append("acme", histEvent("acme", i, t0.Add(time.Duration(i)*time.Minute)))
	}
	src.mu.Lock()
	src.logs["acme"][4].Time = t0 // out of order: the source starts early
	src.mu.Unlock()
	ch, cancel, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme", Since: t0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	expectIDs(t, ch, "acme-e3", "acme-e5")
	src.append("acme", histEvent("acme", 6, time.Now()))
	expectIDs(t, ch, "acme-e6")
}

// TestStreamFeedEndsCleanly: a catching subscription ended by its
// context, and the feed's Close with reads under way, leave no goroutine
// and close the channels.
func TestStreamFeedEndsCleanly(t *testing.T) {
	src := newFakeHistory()
	hub, gw := newStreamFeed(t, src, 2)
	for i := range 40 {
		src.append("acme", histEvent("acme", i, time.Now()))
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, _, err := gw.Subscribe(ctx, EventFilter{Tenant: "acme", LastEventID: "0:acme-e0"})
	if err != nil {
		t.Fatal(err)
	}
	next(t, ch) // catching, its buffer (16) full behind
	cancel()
	for range ch {
	}
	ch2, _, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme", Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	gw.Close()
	hub.Close()
	for range ch2 {
	}
	if _, _, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme"}); !errors.Is(err, ErrHubClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

func TestParseCursor(t *testing.T) {
	for _, c := range []struct {
		in  string
		off int64
		id  string
		ok  bool
	}{
		{"12:abc", 12, "abc", true}, {"0:x", 0, "x", true}, {"abc", 0, "", false}, {":x", 0, "", false},
		{"12:", 0, "", false}, {"-1:x", 0, "", false}, {"012:x", 0, "", false}, {"99999999999999999999:x", 0, "", false},
		{"1:a:b", 1, "a:b", true},
	} {
		off, id, ok := parseCursor(c.in)
		if ok != c.ok || (ok && (off != c.off || id != c.id)) {
			t.Errorf("parseCursor(%q) = %d %q %v", c.in, off, id, ok)
		}
	}
}

func testWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-01-02T15:00:00Z", now.Add(-4*time.Minute - 5*time.Second), true},
		{"2026-01-02T16:00:00+01:00", now.Add(-4*time.Minute - 5*time.Second), true},
		{"1767366000000", time.UnixMilli(1767366000000), true},
		{"2026-01-02T16:00:00Z", time.Time{}, false}, // future
		{"yesterday", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := parseSince(c.in, now)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("parseSince(%q) = %v, %v", c.in, got, err)
		}
		if err != nil && callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
			t.Errorf("parseSince(%q): code %s", c.in, callapi.ErrorCode(err))
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"12:abc", "0:x", "abc", ":", "1:a:b", "-1:x", "99999999999999999999:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		off, id, ok := parseCursor(s)
		if ok && (off < 0 || id == "" || Cursor(off, id) != s) {
			t.Fatalf("parseCursor(%q) = %d %q: not what Cursor makes", s, off, id)
		}
	})
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"2026-01-02T15:00:00Z", "1767366000000", "x", "", "-1", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err == nil && got.After(now.Add(time.Minute)) {
			t.Fatalf("parseSince(%q) = %v: in the future", s, got)
		}
		if err != nil && callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
			t.Fatalf("parseSince(%q): %v", s, err)
		}
	})
}

// TestStreamFeedOverHTTP: over SSE the id of each event is its cursor
// (and the event JSON carries it, on the WebSocket too); Last-Event-ID
// and last_event_id resume after a cursor, since= replays from a time,
// and a since that is not a time is refused (400).
func TestStreamFeedOverHTTP(t *testing.T) {
	src := newFakeHistory()
	_, feed := newStreamFeed(t, src, 16)
	s := NewServer(Config{Log: zap.NewNop()}, nil, nil, feed, nil)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	t0 := time.Now().Add(-time.Minute)
	for i := range 3 {
		src.append(callapi.DefaultTenant, histEvent(callapi.DefaultTenant, i, t0.Add(time.Duration(i)*time.Second)))
	}
	_, rd := openSSE(t, ts.URL+"/v1/events?since="+t0.Add(500*time.Millisecond).UTC().Format(time.RFC3339Nano))
	for _, want := range []string{"1:default-e1", "2:default-e2"} {
		m, err := rd.next()
		if err != nil || m.id != want {
			t.Fatalf("since: %+v %v, want id %s", m, err, want)
		}
		var e callapi.Event
		if err := json.Unmarshal([]byte(m.data), &e); err != nil || e.Cursor != want {
			t.Fatalf("event %s: cursor %q, %v", m.data, e.Cursor, err)
		}
	}
	_, rd = openSSE(t, ts.URL+"/v1/events", "Last-Event-ID", "1:default-e1")
	if m, err := rd.next(); err != nil || m.id != "2:default-e2" {
		t.Fatalf("resume: %+v %v", m, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws?last_event_id=0:default-e0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	var e callapi.Event
	if err != nil || json.Unmarshal(b, &e) != nil || e.Cursor != "1:default-e1" {
		t.Fatalf("WebSocket resume: %s %v", b, err)
	}
	resp, err := http.Get(ts.URL + "/v1/events?since=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=yesterday: %d", resp.StatusCode)
	}
}

// TestStreamFeedHistoryBeginsAgain: when the tenant's history begins
// again (its stream deleted and declared anew, offsets from 0), the feed
// ends its live streams (their clients resume and learn of the gap) and
// serves the new history's events.
func TestStreamFeedHistoryBeginsAgain(t *testing.T) {
	src := newFakeHistory()
	_, gw := newStreamFeed(t, src, 8)
	ch, cancel, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	for i := range 5 {
		src.append("acme", histEvent("acme", i, time.Now()))
	}
	got := expectIDs(t, ch, "acme-e0", "acme-e1", "acme-e2", "acme-e3", "acme-e4")
	src.restart("acme")
	testWait(t, "the feed to read again", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.reads >= 2
	})
	src.append("acme", histEvent("acme", 100, time.Now()))
	for e := range ch { // the live stream ends
		t.Fatalf("the old stream got %s", e.ID)
	}
	ch2, cancel2, err := gw.Subscribe(t.Context(), EventFilter{Tenant: "acme", LastEventID: got[4].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel2()
	// Its reader attaches past the new history's end: the next event
	// tells it that its point is not there.
	testWait(t, "the resuming stream's reader", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.reads >= 3
	})
	src.append("acme", histEvent("acme", 101, time.Now()))
	if e := next(t, ch2); !IsResumeGap(e) {
		t.Fatalf("resume into the new history: %v, want the gap", e)
	}
	testWait(t, "live", func() bool {
		gw.hub.mu.Lock()
		defer gw.hub.mu.Unlock()
		for sub := range gw.hub.subs {
			if sub.catching {
				return false
			}
		}
		return true
	})
	src.append("acme", histEvent("acme", 102, time.Now()))
	for {
		e := next(t, ch2)
		if e.ID == "acme-e102" {
			if e.Cursor != "2:acme-e102" {
				t.Fatalf("cursor %s", e.Cursor)
			}
			break
		}
		if e.ID != "acme-e101" {
			t.Fatalf("after the gap: %s", e.ID)
		}
	}
}
