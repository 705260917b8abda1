package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// keyBus answers the idempotency.lookup broadcast with preset answers per
// node (a node without one does not answer).
type keyBus struct {
	loopBus
	answers  map[callapi.NodeID]callapi.KeyLookup
	gathered int
}

func (b *keyBus) Gather(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
	b.gathered++
	var out []*callapi.Reply
	for _, n := range expect {
		if a, ok := b.answers[n]; ok {
			out = append(out, callapi.OKReply(cmd.ID, n, a))
		}
	}
	return out, nil
}

// What a keyed originate does after asking the nodes' journals.
func TestLookupKey(t *testing.T) {
	now := time.Now()
	up := func(n callapi.NodeID) callapi.Heartbeat {
		return callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}
	}
	done := callapi.OKReply("c", "pbx2", callapi.Call{ID: "x", Node: "pbx2", State: callapi.StateEnded})
	for _, tc := range []struct {
		name     string
		nodes    []callapi.Heartbeat
		seen     map[callapi.NodeID]time.Time // LastSeen of the heartbeat, default now
		answers  map[callapi.NodeID]callapi.KeyLookup
		target   callapi.Target
		reply    bool
		running  callapi.NodeID
		code     callapi.Code
		gathered int
	}{
		{name: "one node, the target: nothing to ask", nodes: []callapi.Heartbeat{up("pbx1")}, target: "pbx1"},
		{name: "nobody has it", nodes: []callapi.Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}, "pbx2": {}}, gathered: 1},
		{name: "another node ran it", nodes: []callapi.Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}, "pbx2": {Found: true, Reply: done}}, reply: true, gathered: 1},
		{name: "another node runs it", nodes: []callapi.Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}, "pbx2": {Found: true, Running: true}}, running: "pbx2", gathered: 1},
		{name: "a live node does not answer", nodes: []callapi.Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}}, code: callapi.CodeNodeUnavailable, gathered: 1},
		{name: "a node down within the horizon", nodes: []callapi.Heartbeat{up("pbx1"), {Node: "pbx2", State: callapi.NodeDown, IntervalMS: 1000}}, target: "pbx1",
			answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}}, code: callapi.CodeNodeUnavailable, gathered: 1},
		{name: "a node down for longer", nodes: []callapi.Heartbeat{up("pbx1"), {Node: "pbx2", State: callapi.NodeDown, IntervalMS: 1000}}, target: "pbx1",
			seen: map[callapi.NodeID]time.Time{"pbx2": now.Add(-callapi.KeyHorizon - time.Minute)}, answers: map[callapi.NodeID]callapi.KeyLookup{"pbx1": {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry()
			for _, h := range tc.nodes {
				at := now
				if s, ok := tc.seen[h.Node]; ok {
					at = s
				}
				reg.Observe(h, at)
			}
			bus := &keyBus{answers: tc.answers}
			s := NewService(bus, reg, NewLocations(0))
			s.Now = func() time.Time { return now }
			ko, err := s.lookupKey(context.Background(), Options{Tenant: "acme", IdempotencyKey: "k"}, &callapi.Command{ID: "c"}, tc.target)
			if callapi.ErrorCode(err) != tc.code {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if err == nil && ((ko.reply != nil) != tc.reply || ko.running != tc.running) {
				t.Fatalf("outcome %+v", ko)
			}
			if bus.gathered != tc.gathered {
				t.Fatalf("asked %d times, want %d", bus.gathered, tc.gathered)
			}
		})
	}
}

// The copies of one key go to one node, whichever gateway sends them;
// keys spread over the healthy nodes.
func TestKeyTarget(t *testing.T) {
	reg := NewRegistry()
	now := time.Now()
	for _, n := range []callapi.NodeID{"a", "b", "c"} {
		reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, now)
	}
	reg.Observe(callapi.Heartbeat{Node: "sick", State: callapi.NodeUp, Healthy: false, IntervalMS: 1000}, now)
	s := NewService(&loopBus{}, reg, NewLocations(0))
	seen := map[callapi.Target]int{}
	for i := range 300 {
		k := string(rune('A'+i%26)) + string(rune('a'+i/26))
		t1, err := s.keyTarget(k)
		if err != nil {
			t.Fatal(err)
		}
		if t2, _ := s.keyTarget(k); t2 != t1 {
			t.Fatalf("key %s: %s then %s", k, t1, t2)
		}
		seen[t1]++
	}
	if seen["sick"] != 0 || len(seen) != 3 {
		t.Fatalf("spread %v", seen)
	}
	for n, c := range seen {
		if c < 50 {
			t.Errorf("node %s got %d of 300 keys", n, c)
		}
	}
}
