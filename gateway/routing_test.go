package gateway

import (
	"testing"
	"time"
)

// Work that creates goes only to up, healthy nodes: an unhealthy node (its
// ARI away) takes no new call, also not through the any queue.
func TestCreateTargetHealthAware(t *testing.T) {
	hb := func(n NodeID, st NodeState, healthy bool, calls int) Heartbeat {
		return Heartbeat{Node: n, State: st, Healthy: healthy, Calls: calls, IntervalMS: 1000}
	}
	for _, tc := range []struct {
		name  string
		nodes []Heartbeat
		named NodeID
		want  Target
		code  Code
	}{
		{"all healthy: any", []Heartbeat{hb("a", NodeUp, true, 5), hb("b", NodeUp, true, 1)}, "", TargetAny, ""},
		{"one unhealthy: the healthy one", []Heartbeat{hb("a", NodeUp, false, 0), hb("b", NodeUp, true, 9)}, "", "b", ""},
		{"fewest calls among healthy", []Heartbeat{hb("a", NodeUp, false, 0), hb("b", NodeUp, true, 9), hb("c", NodeUp, true, 2)}, "", "c", ""},
		{"draining not chosen", []Heartbeat{hb("a", NodeUp, false, 0), hb("b", NodeDraining, true, 0), hb("c", NodeUp, true, 7)}, "", "c", ""},
		{"none healthy", []Heartbeat{hb("a", NodeUp, false, 0)}, "", "", ENodeUnavailable},
		{"none up", []Heartbeat{hb("a", NodeDraining, true, 0)}, "", "", ENodeUnavailable},
		{"named unhealthy", []Heartbeat{hb("a", NodeUp, false, 0), hb("b", NodeUp, true, 0)}, "a", "", ENodeUnavailable},
		{"named healthy", []Heartbeat{hb("a", NodeUp, true, 0)}, "a", "a", ""},
		{"named down", []Heartbeat{hb("a", NodeDown, true, 0)}, "a", "", ENodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry()
			now := time.Now()
			for _, h := range tc.nodes {
				reg.Observe(h, now)
			}
			s := NewService(&loopBus{}, reg, NewLocations(0))
			s.Now = func() time.Time { return now }
			got, err := s.createTarget(tc.named)
			if ErrorCode(err) != tc.code || got != tc.want {
				t.Fatalf("createTarget(%q) = %q, %v; want %q, code %q", tc.named, got, err, tc.want, tc.code)
			}
		})
	}
}
