package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestEventKey(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Type: EvCallHangup, Tenant: "acme", Node: "pbx1", CallID: "4f7c"}, "acme.pbx1.call.hangup.4f7c"},
		{Event{Type: EvCallPlaybackStarted, Tenant: "acme", Node: "pbx1", CallID: "pbx1-1732550000.42"}, "acme.pbx1.call.playback_started.pbx1-1732550000_42"},
		{Event{Type: EvNodeUp, Tenant: "", Node: "pbx2"}, "_.pbx2.node.up.pbx2"},
		{Event{Type: EvBridgeCreated, Tenant: "t", Node: "n", BridgeID: "b#1"}, "t.n.bridge.created.b_1"},
		{Event{Type: EvCommandCompleted, Tenant: "t", Node: "n", Data: json.RawMessage(`{"command_id":"c1"}`)}, "t.n.command.completed.c1"},
	} {
		if got := EventKey(&tc.e); got != tc.want {
			t.Errorf("EventKey(%s) = %q, want %q", tc.e.Type, got, tc.want)
		}
	}
	if got := TagKey("acme", "sales-42"); got != "acme.tag.sales-42" {
		t.Errorf("TagKey = %q", got)
	}
	if got := CommandKey(TargetAll, ActCallList); got != "cmd.all.call.list" {
		t.Errorf("CommandKey = %q", got)
	}
}

func TestValidNodeID(t *testing.T) {
	for s, want := range map[string]bool{"pbx1": true, "pbx-2_b": true, "": false, "a.b": false, "a*": false, "#": false, "any": false, "all": false, "00:01:02": false} {
		if ValidNodeID(s) != want {
			t.Errorf("ValidNodeID(%q) = %v", s, !want)
		}
	}
}

func TestOriginateValidate(t *testing.T) {
	for _, tc := range []struct {
		a     OriginateArgs
		field string
	}{
		{OriginateArgs{To: "PJSIP/alice"}, ""},
		{OriginateArgs{To: "Local/answer@callgw-test", Wait: WaitAnswered, Tags: []string{"sales-42"}}, ""},
		{OriginateArgs{}, "to"},
		{OriginateArgs{To: "alice"}, "to"},
		{OriginateArgs{To: "PJSIP/a", Context: "c"}, "extension"},
		{OriginateArgs{To: "PJSIP/a", Extension: "100"}, "context"},
		{OriginateArgs{To: "PJSIP/a", Timeout: -1}, "timeout"},
		{OriginateArgs{To: "PJSIP/a", Tags: []string{"a.b"}}, "tags"},
		{OriginateArgs{To: "PJSIP/a", Wait: "forever"}, "wait"},
		{OriginateArgs{To: "PJSIP/a", Variables: map[string]string{"bad name": "x"}}, "variables"},
	} {
		err := tc.a.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: unexpected %v", tc.a, err)
			}
			continue
		}
		if ErrorCode(err) != EInvalid || ErrorField(err) != tc.field {
			t.Errorf("%+v: err = %v (field %q), want invalid %q", tc.a, err, ErrorField(err), tc.field)
		}
	}
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("ctx: %w", Errorf(ENotFound, "no call"))
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{nil, ""},
		{wrapped, ENotFound},
		{context.DeadlineExceeded, ETimeout},
		{errors.New("boom"), EInternal},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if ErrorMessage(errors.New("secret")) != "internal error" {
		t.Error("foreign error message leaked")
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	t0 := time.Unix(1000, 0)
	hb := Heartbeat{Node: "pbx1", State: NodeUp, IntervalMS: 1000}
	if ch := r.Observe(hb, t0); ch == nil || ch.To != NodeUp {
		t.Fatalf("first beat: %+v", ch)
	}
	if ch := r.Observe(hb, t0.Add(time.Second)); ch != nil {
		t.Fatalf("second beat changed state: %+v", ch)
	}
	if !r.Alive("pbx1", t0.Add(3*time.Second)) {
		t.Fatal("down before 3 missed beats")
	}
	if r.Alive("pbx1", t0.Add(5*time.Second)) {
		t.Fatal("alive after 3 missed beats")
	}
	if ch := r.Sweep(t0.Add(5 * time.Second)); len(ch) != 1 || ch[0].To != NodeDown {
		t.Fatalf("sweep: %+v", ch)
	}
	if ch := r.Sweep(t0.Add(6 * time.Second)); len(ch) != 0 {
		t.Fatalf("second sweep reported again: %+v", ch)
	}
	if ch := r.Observe(hb, t0.Add(7*time.Second)); ch == nil || ch.From != NodeDown || ch.To != NodeUp {
		t.Fatalf("back up: %+v", ch)
	}
	hb.State = NodeDraining
	if ch := r.Observe(hb, t0.Add(8*time.Second)); ch == nil || ch.To != NodeDraining {
		t.Fatalf("draining: %+v", ch)
	}
	if got := r.Live(t0.Add(8 * time.Second)); len(got) != 1 {
		t.Fatalf("live = %v", got)
	}
}

func TestLocationsBounded(t *testing.T) {
	l := NewLocations(3)
	for i := 0; i < 10; i++ {
		l.Put(fmt.Sprint(i), "pbx1")
	}
	if l.Len() != 3 {
		t.Fatalf("len = %d", l.Len())
	}
	if _, ok := l.Get("0"); ok {
		t.Fatal("oldest not evicted")
	}
	if n, ok := l.Get("9"); !ok || n != "pbx1" {
		t.Fatal("newest missing")
	}
	l.Forget("9")
	if _, ok := l.Get("9"); ok {
		t.Fatal("forget")
	}
}

func TestCommandIDDeterministic(t *testing.T) {
	first, again := CommandID("a", "k"), CommandID("a", "k")
	if first != again {
		t.Fatal("same key, different ids")
	}
	if other := CommandID("b", "k"); first == other {
		t.Fatal("tenants share ids")
	}
	if n1, n2 := CommandID("a", ""), CommandID("a", ""); n1 == n2 {
		t.Fatal("no key, same ids")
	}
	if c1, c2 := CallIDFor("x"), CallIDFor("x"); c1 != c2 {
		t.Fatal("call id not deterministic")
	}
}

// fakePBX is a func-field fake of PBX.
type fakePBX struct {
	mu    sync.Mutex
	calls map[CallID]*Call
}

func (f *fakePBX) Originate(ctx context.Context, tenant string, id CallID, a OriginateArgs) (*Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &Call{ID: id, Node: "pbx1", Tenant: tenant, State: StateDown, To: a.To, Tags: a.Tags}
	f.calls[id] = c
	return c, nil
}
func (f *fakePBX) Call(ctx context.Context, tenant string, id CallID) (*Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[id]
	if !ok || c.Tenant != tenant {
		return nil, Errorf(ENotFound, "call %s not found", id)
	}
	return c, nil
}
func (f *fakePBX) Calls(ctx context.Context, tenant string) ([]*Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*Call
	for _, c := range f.calls {
		if c.Tenant == tenant {
			out = append(out, c)
		}
	}
	return out, nil
}
func (f *fakePBX) Hangup(ctx context.Context, tenant string, id CallID, reason string) error {
	if _, err := f.Call(ctx, tenant, id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.calls, id)
	return nil
}
func (f *fakePBX) Info(ctx context.Context) (PBXInfo, error) { return PBXInfo{Healthy: true}, nil }

// loopBus delivers commands straight to executors by node.
type loopBus struct {
	nodes map[NodeID]*Executor
	sent  []Target
}

func (b *loopBus) Request(ctx context.Context, t Target, cmd *Command) (*Reply, error) {
	b.sent = append(b.sent, t)
	if t == TargetAny {
		for _, x := range b.nodes {
			return x.Handle(ctx, cmd), nil
		}
	}
	x, ok := b.nodes[NodeID(t)]
	if !ok {
		return nil, Errorf(ENodeUnavailable, "no route")
	}
	return x.Handle(ctx, cmd), nil
}
func (b *loopBus) Gather(ctx context.Context, cmd *Command, expect []NodeID) ([]*Reply, error) {
	b.sent = append(b.sent, TargetAll)
	var out []*Reply
	for _, n := range expect {
		if x, ok := b.nodes[n]; ok { // a node without an executor does not answer
			out = append(out, x.Handle(ctx, cmd))
		}
	}
	return out, nil
}
func (b *loopBus) Send(ctx context.Context, t Target, cmd *Command) error { return nil }

func TestServiceRoutes(t *testing.T) {
	p1 := &fakePBX{calls: map[CallID]*Call{}}
	p2 := &fakePBX{calls: map[CallID]*Call{}}
	bus := &loopBus{nodes: map[NodeID]*Executor{"pbx1": {Node: "pbx1", PBX: p1}, "pbx2": {Node: "pbx2", PBX: p2}}}
	reg := NewRegistry()
	now := time.Now()
	reg.Observe(Heartbeat{Node: "pbx1", State: NodeUp, Healthy: true, IntervalMS: 1000}, now)
	reg.Observe(Heartbeat{Node: "pbx2", State: NodeUp, Healthy: true, IntervalMS: 1000}, now)
	s := NewService(bus, reg, NewLocations(0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	c, _, err := s.Originate(ctx, Options{Tenant: "acme"}, OriginateRequest{Node: "pbx2", Args: OriginateArgs{To: "PJSIP/a"}})
	if err != nil {
		t.Fatal(err)
	}
	p2.calls[c.ID].Node = "pbx2"
	// A fresh service (a gateway started later) must locate the call.
	s2 := NewService(bus, reg, NewLocations(0))
	bus.sent = nil
	got, err := s2.Call(ctx, Options{Tenant: "acme"}, c.ID)
	if err != nil || got.ID != c.ID {
		t.Fatalf("get: %v %+v", err, got)
	}
	if len(bus.sent) != 2 || bus.sent[0] != TargetAll || bus.sent[1] != "pbx2" {
		t.Fatalf("routes = %v, want [all pbx2]", bus.sent)
	}
	// Another tenant does not see it.
	if _, err := NewService(bus, reg, NewLocations(0)).Call(ctx, Options{Tenant: "other"}, c.ID); ErrorCode(err) != ENotFound {
		t.Fatalf("other tenant: %v", err)
	}
	calls, missing, err := s2.Calls(ctx, Options{Tenant: "acme"}, ListRequest{})
	if err != nil || len(calls) != 1 || len(missing) != 0 {
		t.Fatalf("list: %v %v %v", err, calls, missing)
	}
	if _, err := s2.Hangup(ctx, Options{Tenant: "acme"}, c.ID, "busy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Call(ctx, Options{Tenant: "acme"}, c.ID); ErrorCode(err) != ENotFound {
		t.Fatalf("after hangup: %v", err)
	}
	if _, err := s2.Hangup(ctx, Options{}, "x", "because"); ErrorCode(err) != EInvalid {
		t.Fatalf("bad reason: %v", err)
	}
	// A node the registry knows to be down fails fast.
	reg.Observe(Heartbeat{Node: "pbx3", State: NodeDown, IntervalMS: 1000}, now)
	if _, _, err := s.Originate(ctx, Options{}, OriginateRequest{Node: "pbx3", Args: OriginateArgs{To: "PJSIP/a"}}); ErrorCode(err) != ENodeUnavailable {
		t.Fatalf("down node: %v", err)
	}
}

func TestExecutorRejects(t *testing.T) {
	x := &Executor{Node: "pbx1", PBX: &fakePBX{calls: map[CallID]*Call{}}}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cmd  Command
		want Code
	}{
		{"unknown action", Command{ID: "1", Action: "call.explode", CallID: "c"}, EInvalid},
		{"expired", Command{ID: "2", Action: ActCallGet, CallID: "c", Deadline: time.Now().Add(-time.Second)}, ETimeout},
		{"no call id", Command{ID: "3", Action: ActCallHangup}, EInvalid},
		{"unknown arg", Command{ID: "4", Action: ActCallOriginate, CallID: "c", Args: json.RawMessage(`{"to":"PJSIP/a","colour":"red"}`)}, EInvalid},
		{"missing call", Command{ID: "5", Action: ActCallGet, CallID: "c"}, ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := x.Handle(ctx, &tc.cmd)
			if r.OK || r.Error.Code != tc.want || r.ID != tc.cmd.ID || r.Node != "pbx1" {
				t.Fatalf("reply = %+v %+v, want %s", r, r.Error, tc.want)
			}
		})
	}
}

// TestLocationsForgetKeepsMemoryBounded: ids put and forgotten do not pile
// up in the eviction order (the gateway's heap grew through a soak).
func TestLocationsForgetKeepsMemoryBounded(t *testing.T) {
	l := NewLocations(100000)
	for i := range 50000 {
		id := fmt.Sprint(i)
		l.Put(id, "pbx1")
		l.Forget(id)
	}
	l.Put("live", "pbx1")
	if n := len(l.order); n > 2*l.Len()+1024 {
		t.Fatalf("order holds %d ids for %d live ones", n, l.Len())
	}
	if n, ok := l.Get("live"); !ok || n != "pbx1" {
		t.Fatal("live id lost by compaction")
	}
}
