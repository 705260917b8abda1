package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

func TestEventKey(t *testing.T) {
	for _, tc := range []struct {
		e    callapi.Event
		want string
	}{
		{callapi.Event{Type: callapi.EvCallHangup, Tenant: "acme", Node: "pbx1", CallID: "4f7c"}, "acme.pbx1.call.hangup.4f7c"},
		{callapi.Event{Type: callapi.EvCallPlaybackStarted, Tenant: "acme", Node: "pbx1", CallID: "pbx1-1732550000.42"}, "acme.pbx1.call.playback_started.pbx1-1732550000_42"},
		{callapi.Event{Type: callapi.EvNodeUp, Tenant: "", Node: "pbx2"}, "_.pbx2.node.up.pbx2"},
		{callapi.Event{Type: callapi.EvBridgeCreated, Tenant: "t", Node: "n", BridgeID: "b#1"}, "t.n.bridge.created.b_1"},
		{callapi.Event{Type: callapi.EvCommandCompleted, Tenant: "t", Node: "n", Data: json.RawMessage(`{"command_id":"c1"}`)}, "t.n.command.completed.c1"},
	} {
		if got := callapi.EventKey(&tc.e); got != tc.want {
			t.Errorf("EventKey(%s) = %q, want %q", tc.e.Type, got, tc.want)
		}
	}
	if got := callapi.TagKey("acme", "sales-42"); got != "acme.tag.sales-42" {
		t.Errorf("TagKey = %q", got)
	}
	if got := callapi.CommandKey(callapi.TargetAll, callapi.ActCallList); got != "cmd.all.call.list" {
		t.Errorf("CommandKey = %q", got)
	}
}

func TestValidNodeID(t *testing.T) {
	for s, want := range map[string]bool{"pbx1": true, "pbx-2_b": true, "": false, "a.b": false, "a*": false, "#": false, "any": false, "all": false, "00:01:02": false} {
		if callapi.ValidNodeID(s) != want {
			t.Errorf("ValidNodeID(%q) = %v", s, !want)
		}
	}
}

func TestOriginateValidate(t *testing.T) {
	for _, tc := range []struct {
		a     callapi.OriginateArgs
		field string
	}{
		{callapi.OriginateArgs{To: "PJSIP/alice"}, ""},
		{callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered, Tags: []string{"sales-42"}}, ""},
		{callapi.OriginateArgs{}, "to"},
		{callapi.OriginateArgs{To: "alice"}, "to"},
		{callapi.OriginateArgs{To: "PJSIP/a", Context: "c"}, "extension"},
		{callapi.OriginateArgs{To: "PJSIP/a", Extension: "100"}, "context"},
		{callapi.OriginateArgs{To: "PJSIP/a", Timeout: -1}, "timeout"},
		{callapi.OriginateArgs{To: "PJSIP/a", Tags: []string{"a.b"}}, "tags"},
		{callapi.OriginateArgs{To: "PJSIP/a", Wait: "forever"}, "wait"},
		{callapi.OriginateArgs{To: "PJSIP/a", Variables: map[string]string{"bad name": "x"}}, "variables"},
	} {
		err := tc.a.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: unexpected %v", tc.a, err)
			}
			continue
		}
		if callapi.ErrorCode(err) != callapi.CodeInvalidArgument || callapi.ErrorField(err) != tc.field {
			t.Errorf("%+v: err = %v (field %q), want invalid %q", tc.a, err, callapi.ErrorField(err), tc.field)
		}
	}
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("ctx: %w", callapi.Errorf(callapi.CodeNotFound, "no call"))
	for _, tc := range []struct {
		err  error
		want callapi.Code
	}{
		{nil, ""},
		{wrapped, callapi.CodeNotFound},
		{context.DeadlineExceeded, callapi.CodeTimeout},
		{errors.New("boom"), callapi.CodeInternal},
	} {
		if got := callapi.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if callapi.ErrorMessage(errors.New("secret")) != "internal error" {
		t.Error("foreign error message leaked")
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	t0 := time.Unix(1000, 0)
	hb := callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, IntervalMS: 1000}
	if ch := r.Observe(hb, t0); ch == nil || ch.To != callapi.NodeUp {
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
	if ch := r.Sweep(t0.Add(5 * time.Second)); len(ch) != 1 || ch[0].To != callapi.NodeDown {
		t.Fatalf("sweep: %+v", ch)
	}
	if ch := r.Sweep(t0.Add(6 * time.Second)); len(ch) != 0 {
		t.Fatalf("second sweep reported again: %+v", ch)
	}
	if ch := r.Observe(hb, t0.Add(7*time.Second)); ch == nil || ch.From != callapi.NodeDown || ch.To != callapi.NodeUp {
		t.Fatalf("back up: %+v", ch)
	}
	hb.State = callapi.NodeDraining
	if ch := r.Observe(hb, t0.Add(8*time.Second)); ch == nil || ch.To != callapi.NodeDraining {
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
	first, again := callapi.CommandID("a", "k"), callapi.CommandID("a", "k")
	if first != again {
		t.Fatal("same key, different ids")
	}
	if other := callapi.CommandID("b", "k"); first == other {
		t.Fatal("tenants share ids")
	}
	if n1, n2 := callapi.CommandID("a", ""), callapi.CommandID("a", ""); n1 == n2 {
		t.Fatal("no key, same ids")
	}
	if c1, c2 := callapi.CallIDFor("x"), callapi.CallIDFor("x"); c1 != c2 {
		t.Fatal("call id not deterministic")
	}
}

// loopBus delivers commands straight to executors by node.
type loopBus struct {
	nodes map[callapi.NodeID]*worker.Executor
	sent  []callapi.Target
}

func (b *loopBus) Request(ctx context.Context, t callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	b.sent = append(b.sent, t)
	if t == callapi.TargetAny {
		for _, x := range b.nodes {
			return x.Handle(ctx, cmd), nil
		}
	}
	x, ok := b.nodes[callapi.NodeID(t)]
	if !ok {
		return nil, callapi.Errorf(callapi.CodeNodeUnavailable, "no route")
	}
	return x.Handle(ctx, cmd), nil
}
func (b *loopBus) Gather(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
	b.sent = append(b.sent, callapi.TargetAll)
	var out []*callapi.Reply
	for _, n := range expect {
		if x, ok := b.nodes[n]; ok { // a node without an executor does not answer
			out = append(out, x.Handle(ctx, cmd))
		}
	}
	return out, nil
}
func (b *loopBus) Send(ctx context.Context, t callapi.Target, cmd *callapi.Command) error { return nil }

func TestServiceRoutes(t *testing.T) {
	p1 := fakepbx.NewBasic()
	p2 := fakepbx.NewBasic()
	p2.Node = "pbx2"
	bus := &loopBus{nodes: map[callapi.NodeID]*worker.Executor{"pbx1": {Node: "pbx1", PBX: p1}, "pbx2": {Node: "pbx2", PBX: p2}}}
	reg := NewRegistry()
	now := time.Now()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, now)
	reg.Observe(callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, now)
	s := NewService(bus, reg, NewLocations(0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	c, _, err := s.Originate(ctx, Options{Tenant: "acme"}, callapi.OriginateRequest{Node: "pbx2", OriginateArgs: callapi.OriginateArgs{To: "PJSIP/a"}})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh service (a gateway started later) must locate the call.
	s2 := NewService(bus, reg, NewLocations(0))
	bus.sent = nil
	got, err := decodedCall(s2.Call(ctx, Options{Tenant: "acme"}, c.ID))
	if err != nil || got.ID != c.ID {
		t.Fatalf("get: %v %+v", err, got)
	}
	if len(bus.sent) != 2 || bus.sent[0] != callapi.TargetAll || bus.sent[1] != "pbx2" {
		t.Fatalf("routes = %v, want [all pbx2]", bus.sent)
	}
	// Another tenant does not see it.
	if _, err := NewService(bus, reg, NewLocations(0)).Call(ctx, Options{Tenant: "other"}, c.ID); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("other tenant: %v", err)
	}
	calls, missing, err := s2.Calls(ctx, Options{Tenant: "acme"}, ListRequest{})
	if err != nil || len(calls) != 1 || len(missing) != 0 {
		t.Fatalf("list: %v %v %v", err, calls, missing)
	}
	if _, err := s2.Hangup(ctx, Options{Tenant: "acme"}, c.ID, "busy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Call(ctx, Options{Tenant: "acme"}, c.ID); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("after hangup: %v", err)
	}
	if _, err := s2.Hangup(ctx, Options{}, "x", "because"); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Fatalf("bad reason: %v", err)
	}
	// A node the registry knows to be down fails fast.
	reg.Observe(callapi.Heartbeat{Node: "pbx3", State: callapi.NodeDown, IntervalMS: 1000}, now)
	if _, _, err := s.Originate(ctx, Options{}, callapi.OriginateRequest{Node: "pbx3", OriginateArgs: callapi.OriginateArgs{To: "PJSIP/a"}}); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("down node: %v", err)
	}
}

func TestExecutorRejects(t *testing.T) {
	x := &worker.Executor{Node: "pbx1", PBX: fakepbx.NewBasic()}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cmd  callapi.Command
		want callapi.Code
	}{
		{"unknown action", callapi.Command{ID: "1", Action: "call.explode", CallID: "c"}, callapi.CodeInvalidArgument},
		{"no call id", callapi.Command{ID: "3", Action: callapi.ActCallHangup}, callapi.CodeInvalidArgument},
		{"unknown arg", callapi.Command{ID: "4", Action: callapi.ActCallOriginate, CallID: "c", Args: json.RawMessage(`{"to":"PJSIP/a","colour":"red"}`)}, callapi.CodeInvalidArgument},
		{"missing call", callapi.Command{ID: "5", Action: callapi.ActCallGet, CallID: "c"}, callapi.CodeNotFound},
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

// decodedCall decodes Service.Call's JSON.
func decodedCall(raw json.RawMessage, err error) (*callapi.Call, error) {
	if err != nil {
		return nil, err
	}
	var c callapi.Call
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
