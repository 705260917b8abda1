package gateway

import (
	"context"
	"testing"
	"time"
)

// keyBus answers the idempotency.lookup broadcast with preset answers per
// node (a node without one does not answer).
type keyBus struct {
	loopBus
	answers  map[NodeID]KeyLookup
	gathered int
}

func (b *keyBus) Gather(ctx context.Context, cmd *Command, expect []NodeID) ([]*Reply, error) {
	b.gathered++
	var out []*Reply
	for _, n := range expect {
		if a, ok := b.answers[n]; ok {
			out = append(out, OKReply(cmd.ID, n, a))
		}
	}
	return out, nil
}

// What a keyed originate does after asking the nodes' journals.
func TestLookupKey(t *testing.T) {
	now := time.Now()
	up := func(n NodeID) Heartbeat { return Heartbeat{Node: n, State: NodeUp, Healthy: true, IntervalMS: 1000} }
	done := OKReply("c", "pbx2", Call{ID: "x", Node: "pbx2", State: StateEnded})
	for _, tc := range []struct {
		name     string
		nodes    []Heartbeat
		seen     map[NodeID]time.Time // LastSeen of the heartbeat, default now
		answers  map[NodeID]KeyLookup
		target   Target
		reply    bool
		running  NodeID
		code     Code
		gathered int
	}{
		{name: "one node, the target: nothing to ask", nodes: []Heartbeat{up("pbx1")}, target: "pbx1"},
		{name: "nobody has it", nodes: []Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[NodeID]KeyLookup{"pbx1": {}, "pbx2": {}}, gathered: 1},
		{name: "another node ran it", nodes: []Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[NodeID]KeyLookup{"pbx1": {}, "pbx2": {Found: true, Reply: done}}, reply: true, gathered: 1},
		{name: "another node runs it", nodes: []Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[NodeID]KeyLookup{"pbx1": {}, "pbx2": {Found: true, Running: true}}, running: "pbx2", gathered: 1},
		{name: "a live node does not answer", nodes: []Heartbeat{up("pbx1"), up("pbx2")}, target: "pbx1",
			answers: map[NodeID]KeyLookup{"pbx1": {}}, code: ENodeUnavailable, gathered: 1},
		{name: "a node down within the horizon", nodes: []Heartbeat{up("pbx1"), {Node: "pbx2", State: NodeDown, IntervalMS: 1000}}, target: "pbx1",
			answers: map[NodeID]KeyLookup{"pbx1": {}}, code: ENodeUnavailable, gathered: 1},
		{name: "a node down for longer", nodes: []Heartbeat{up("pbx1"), {Node: "pbx2", State: NodeDown, IntervalMS: 1000}}, target: "pbx1",
			seen: map[NodeID]time.Time{"pbx2": now.Add(-KeyHorizon - time.Minute)}, answers: map[NodeID]KeyLookup{"pbx1": {}}},
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
			ko, err := s.lookupKey(context.Background(), Options{Tenant: "acme", IdempotencyKey: "k"}, &Command{ID: "c"}, tc.target)
			if ErrorCode(err) != tc.code {
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
	for _, n := range []NodeID{"a", "b", "c"} {
		reg.Observe(Heartbeat{Node: n, State: NodeUp, Healthy: true, IntervalMS: 1000}, now)
	}
	reg.Observe(Heartbeat{Node: "sick", State: NodeUp, Healthy: false, IntervalMS: 1000}, now)
	s := NewService(&loopBus{}, reg, NewLocations(0))
	seen := map[Target]int{}
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
