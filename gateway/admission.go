package gateway

import (
	"sync"

	"github.com/callgw/callgw/callapi"
)

// Admission bounds the commands that start something new on a node — an
// originate, a call created to be dialled later, a bridge (admitted) — a
// gateway has sent to one target (a node, or the shared any queue) and
// still waits on. Past the bound a new one is refused at once with
// node_unavailable (503, Retry-After) instead of queueing behind the
// others in the broker: after an outage, when every client retries at
// once, the node is given what it can serve within the requests'
// deadlines, and what it takes is served first come first served, instead
// of everything waiting together until it times out. Commands about
// existing calls and bridges (a hang-up above all, but also a play or a
// transfer) are never refused. A nil *Admission admits everything.
type Admission struct {
	limit int

	mu sync.Mutex
	n  map[callapi.Target]int
}

// NewAdmission bounds each target to limit admitted commands in flight
// (limit <= 0: nil, no bound).
func NewAdmission(limit int) *Admission {
	if limit <= 0 {
		return nil
	}
	return &Admission{limit: limit, n: make(map[callapi.Target]int)}
}

// Limit is the bound per target (0: none).
func (a *Admission) Limit() int {
	if a == nil {
		return 0
	}
	return a.limit
}

// InFlight is how many admitted commands wait on target.
func (a *Admission) InFlight(t callapi.Target) int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[t]
}

// enter admits one command to t: it returns false when t has
// limit of them in flight already. An admitted command must leave.
func (a *Admission) enter(t callapi.Target) bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[t] >= a.limit {
		return false
	}
	a.n[t]++
	return true
}

func (a *Admission) leave(t callapi.Target) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[t] <= 1 {
		delete(a.n, t)
		return
	}
	a.n[t]--
}

// admitted reports whether the Admission bounds action a: the actions
// that start a new call or bridge.
func admitted(a callapi.Action) bool {
	switch a {
	case callapi.ActCallOriginate, callapi.ActCallCreate, callapi.ActBridgeCreate:
		return true
	}
	return false
}

// busy is the answer to a command refused by the Admission.
func busy(t callapi.Target, limit int, a callapi.Action) error {
	who := "node " + string(t)
	if t == callapi.TargetAny {
		who = "the shared any queue"
	}
	return callapi.Errorf(callapi.CodeNodeUnavailable,
		"%s already has %d %s commands from this gateway in flight: retry later", who, limit, a)
}
