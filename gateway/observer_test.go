package gateway

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestObserver() (*Observer, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	o := NewObserver(NewRegistry(), NewLocations(0), NewRecords(100, time.Hour))
	o.Now = c.Now
	return o, c
}

// TestObserverReadiness: not ready before a node is up, nor before the
// gateway has listened for longer than the longest heartbeat interval
// (plus a quarter); ready after.
func TestObserverReadiness(t *testing.T) {
	o, c := newTestObserver()
	if err := o.Ready(); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("no node: %v", err)
	}
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000})
	if o.Warm() || o.Ready() == nil {
		t.Fatal("warm before listening")
	}
	o.Listening()
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: true, IntervalMS: 2000})
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}) // a shorter one does not lower it
	c.Add(2400 * time.Millisecond)
	if o.Warm() {
		t.Fatal("warm within 1.25 × the longest interval (2s)")
	}
	c.Add(200 * time.Millisecond)
	if !o.Warm() || o.Ready() != nil {
		t.Fatalf("not ready after 2.6s: %v", o.Ready())
	}
	o.Listening() // a resubscription does not restart the warm-up
	if !o.Warm() {
		t.Fatal("Listening again restarted the warm-up")
	}
}

// TestObserverReadyAfterPing: a gateway that pinged the nodes is warm
// PingWait after the ping (not one heartbeat interval after it started
// listening) and says how many nodes answered; a failed ping does not
// count; later pings do not restart the wait.
func TestObserverReadyAfterPing(t *testing.T) {
	o, c := newTestObserver()
	o.Listening()
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 2000}) // a scheduled beat
	o.Pinged(c.Now(), errors.New("broker gone"))
	c.Add(PingWait)
	if ok, why := o.WarmBy(); ok {
		t.Fatalf("warm after a failed ping: %s", why)
	}
	pingAt := c.Now()
	o.Pinged(pingAt, nil)
	c.Add(5 * time.Millisecond)
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 2000})
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: true, IntervalMS: 2000})
	c.Add(PingWait - 10*time.Millisecond)
	if ok, why := o.WarmBy(); ok || o.Ready() == nil {
		t.Fatalf("warm %v after the ping, before PingWait: %s", c.Now().Sub(pingAt), why)
	} else if why != "still learning the nodes: waiting for the answers to the nodes.ping" {
		t.Fatalf("reason %q", why)
	}
	c.Add(5 * time.Millisecond)
	ok, why := o.WarmBy()
	if !ok || o.Ready() != nil {
		t.Fatalf("not ready PingWait after the ping: %s %v", why, o.Ready())
	}
	if want := "2 node(s) answered the nodes.ping within 250ms"; why != want {
		t.Fatalf("reason %q, want %q", why, want)
	}
	o.Pinged(c.Now(), nil) // a reconnection's ping
	if !o.Warm() {
		t.Fatal("a later ping restarted the wait")
	}
}

// TestObserverHeartbeatChanges: a heartbeat reports the node's change of
// state once.
func TestObserverHeartbeatChanges(t *testing.T) {
	o, _ := newTestObserver()
	hb := &callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}
	if ch := o.Heartbeat(hb); ch == nil || ch.To != callapi.NodeUp {
		t.Fatalf("first beat: %+v", ch)
	}
	if ch := o.Heartbeat(hb); ch != nil {
		t.Fatalf("same state again: %+v", ch)
	}
	if ch := o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeDraining, IntervalMS: 1000}); ch == nil || ch.To != callapi.NodeDraining {
		t.Fatalf("draining: %+v", ch)
	}
}

// TestObserverLearn: call and bridge locations are learnt from events and
// forgotten when they end; the call records hear the events too.
func TestObserverLearn(t *testing.T) {
	o, c := newTestObserver()
	for _, tc := range []struct {
		e       callapi.Event
		key     string
		present bool
	}{
		{callapi.Event{Type: callapi.EvCallCreated, Tenant: "acme", Node: "pbx1", CallID: "c1"}, callKey("acme", "c1"), true},
		{callapi.Event{Type: callapi.EvBridgeCreated, Tenant: "acme", Node: "pbx2", BridgeID: "b1"}, bridgeKey("acme", "b1"), true},
		{callapi.Event{Type: callapi.EvCallAnswered, Tenant: "acme", Node: "pbx1", CallID: "c1"}, callKey("acme", "c1"), true},
		{callapi.Event{Type: callapi.EvBridgeDestroyed, Tenant: "acme", Node: "pbx2", BridgeID: "b1"}, bridgeKey("acme", "b1"), false},
		{callapi.Event{Type: callapi.EvCallHangup, Tenant: "acme", Node: "pbx1", CallID: "c1", Time: c.Now()}, callKey("acme", "c1"), false},
	} {
		o.Learn(&tc.e)
		n, ok := o.Locations.Get(tc.key)
		if ok != tc.present || (ok && n != tc.e.Node) {
			t.Errorf("after %s: %s at %q (%v)", tc.e.Type, tc.key, n, ok)
		}
	}
	if _, ok := o.Records.Ended("acme", "c1", c.Now()); !ok {
		t.Error("the call records did not hear the hangup")
	}
	if _, ok := o.Locations.Get(callKey("other", "c1")); ok {
		t.Error("a location leaked across tenants")
	}
	(&Observer{Nodes: NewRegistry(), Locations: NewLocations(0)}).Learn(&callapi.Event{Type: callapi.EvCallCreated, CallID: "x"}) // no records: no panic
}

// recSink records published events; fail makes it refuse them.
type recSink struct {
	mu   sync.Mutex
	evs  []*callapi.Event
	fail error
}

func (s *recSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	if s.fail != nil {
		return s.fail
	}
	s.evs = append(s.evs, e)
	return nil
}

// TestObserverSweep: a node past its missed heartbeats is declared down
// once, with a node.down event whose id every gateway derives alike; a
// refused publication is reported.
func TestObserverSweep(t *testing.T) {
	o1, c1 := newTestObserver()
	o2, c2 := newTestObserver()
	hb := &callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000, Time: c1.Now()}
	o1.Heartbeat(hb)
	o2.Heartbeat(hb)
	sink := &recSink{}
	if got := o1.Sweep(context.Background(), sink); len(got) != 0 {
		t.Fatalf("swept a live node: %+v", got)
	}
	c1.Add(callapi.MissedBeats*time.Second + time.Millisecond)
	c2.Add(callapi.MissedBeats*time.Second + time.Millisecond)
	got := o1.Sweep(context.Background(), sink)
	if len(got) != 1 || got[0].Node != "pbx1" || got[0].Err != nil {
		t.Fatalf("sweep: %+v", got)
	}
	if again := o1.Sweep(context.Background(), sink); len(again) != 0 {
		t.Fatalf("declared down twice: %+v", again)
	}
	if n, _ := o1.Nodes.Get("pbx1", c1.Now()); n.State != callapi.NodeDown {
		t.Fatalf("registry says %s", n.State)
	}
	other := &recSink{fail: errors.New("broker away")}
	if got := o2.Sweep(context.Background(), other); len(got) != 1 || got[0].Err == nil {
		t.Fatalf("a refused node.down is not reported: %+v", got)
	}
	o3, c3 := newTestObserver()
	o3.Heartbeat(hb)
	c3.Add(callapi.MissedBeats*time.Second + time.Millisecond)
	o3.Sweep(context.Background(), sink)
	if len(sink.evs) != 2 || sink.evs[0].Type != callapi.EvNodeDown || sink.evs[0].Node != "pbx1" || sink.evs[0].ID != sink.evs[1].ID {
		t.Fatalf("node.down events %+v", sink.evs)
	}
}

// TestObserverRunSweeps: the sweep loop reports and ends with its context.
func TestObserverRunSweeps(t *testing.T) {
	o, c := newTestObserver()
	o.Heartbeat(&callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, IntervalMS: 1000})
	c.Add(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	reported := make(chan Swept, 1)
	done := make(chan error, 1)
	go func() { done <- o.RunSweeps(ctx, time.Millisecond, &recSink{}, func(s Swept) { reported <- s }) }()
	select {
	case s := <-reported:
		if s.Node != "pbx1" {
			t.Errorf("reported %+v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing swept")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunSweeps did not end with its context")
	}
}

// TestObserverPatterns: the events a gateway takes for itself: locations
// always, what the call records need only when they are on.
func TestObserverPatterns(t *testing.T) {
	on := NewObserver(NewRegistry(), NewLocations(0), NewRecords(10, time.Hour)).Patterns()
	off := NewObserver(NewRegistry(), NewLocations(0), NewRecords(0, time.Hour)).Patterns()
	for _, p := range []string{"*.*.call.created.*", "*.*.call.hangup.*", "*.*.bridge.created.*", "*.*.bridge.destroyed.*"} {
		if !slices.Contains(on, p) || !slices.Contains(off, p) {
			t.Errorf("%s missing: on %v, off %v", p, on, off)
		}
	}
	if !slices.Contains(on, "*.*.call.answered.*") || slices.Contains(off, "*.*.call.answered.*") {
		t.Errorf("call.answered: on %v, off %v", on, off)
	}
}
