package gateway

import (
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Work that creates goes only to up, healthy nodes: an unhealthy node (its
// ARI away) takes no new call, also not through the any queue.
func TestCreateTargetHealthAware(t *testing.T) {
	hb := func(n callapi.NodeID, st callapi.NodeState, healthy bool, calls int) callapi.Heartbeat {
		return callapi.Heartbeat{Node: n, State: st, Healthy: healthy, Calls: calls, IntervalMS: 1000}
	}
	for _, tc := range []struct {
		name  string
		nodes []callapi.Heartbeat
		named callapi.NodeID
		want  callapi.Target
		code  callapi.Code
	}{
		{"all healthy: any", []callapi.Heartbeat{hb("a", callapi.NodeUp, true, 5), hb("b", callapi.NodeUp, true, 1)}, "", callapi.TargetAny, ""},
		{"one unhealthy: the healthy one", []callapi.Heartbeat{hb("a", callapi.NodeUp, false, 0), hb("b", callapi.NodeUp, true, 9)}, "", "b", ""},
		{"fewest calls among healthy", []callapi.Heartbeat{hb("a", callapi.NodeUp, false, 0), hb("b", callapi.NodeUp, true, 9), hb("c", callapi.NodeUp, true, 2)}, "", "c", ""},
		{"draining not chosen", []callapi.Heartbeat{hb("a", callapi.NodeUp, false, 0), hb("b", callapi.NodeDraining, true, 0), hb("c", callapi.NodeUp, true, 7)}, "", "c", ""},
		{"none healthy", []callapi.Heartbeat{hb("a", callapi.NodeUp, false, 0)}, "", "", callapi.CodeNodeUnavailable},
		{"none up", []callapi.Heartbeat{hb("a", callapi.NodeDraining, true, 0)}, "", "", callapi.CodeNodeUnavailable},
		{"named unhealthy", []callapi.Heartbeat{hb("a", callapi.NodeUp, false, 0), hb("b", callapi.NodeUp, true, 0)}, "a", "", callapi.CodeNodeUnavailable},
		{"named healthy", []callapi.Heartbeat{hb("a", callapi.NodeUp, true, 0)}, "a", "a", ""},
		{"named down", []callapi.Heartbeat{hb("a", callapi.NodeDown, true, 0)}, "a", "", callapi.CodeNodeUnavailable},
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
			if callapi.ErrorCode(err) != tc.code || got != tc.want {
				t.Fatalf("createTarget(%q) = %q, %v; want %q, code %q", tc.named, got, err, tc.want, tc.code)
			}
		})
	}
}
