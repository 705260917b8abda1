package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// heldBus holds every Request until release is closed (or its context
// ends), counting the requests it holds.
type heldBus struct {
	namingBus
	release chan struct{}
	mu      sync.Mutex
	held    int
}

func (b *heldBus) Request(ctx context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	b.mu.Lock()
	b.held++
	b.mu.Unlock()
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, callapi.Wrap(callapi.CodeTimeout, "test", ctx.Err(), "no reply")
	}
	return callapi.OKReply(cmd.ID, "pbx1", callapi.Call{ID: cmd.CallID, Node: "pbx1"}), nil
}

func (b *heldBus) holding() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// TestAdmitted: the bound is on what starts a new call or bridge, never
// on commands about existing ones, even those that create something on
// them (a playback, a snoop call, a transfer's bridge).
func TestAdmitted(t *testing.T) {
	for _, tc := range []struct {
		a    callapi.Action
		want bool
	}{
		{callapi.ActCallOriginate, true}, {callapi.ActCallCreate, true}, {callapi.ActBridgeCreate, true},
		{callapi.ActCallHangup, false}, {callapi.ActCallPlay, false}, {callapi.ActCallRecord, false},
		{callapi.ActCallSnoop, false}, {callapi.ActCallTransfer, false}, {callapi.ActCallDial, false},
		{callapi.ActBridgeAdd, false}, {callapi.ActCallGet, false},
	} {
		if got := admitted(tc.a); got != tc.want {
			t.Errorf("admitted(%s) = %v, want %v", tc.a, got, tc.want)
		}
	}
}

func TestNewAdmission(t *testing.T) {
	for _, tc := range []struct {
		limit, want int
	}{{-1, 0}, {0, 0}, {1, 1}, {256, 256}} {
		a := NewAdmission(tc.limit)
		if got := a.Limit(); got != tc.want || (tc.want == 0) != (a == nil) {
			t.Errorf("NewAdmission(%d): limit %d (nil %v), want %d", tc.limit, got, a == nil, tc.want)
		}
	}
	var a *Admission // nil: no bound
	for range 1000 {
		if !a.enter("pbx1") {
			t.Fatal("a nil Admission refused")
		}
	}
}

// TestAdmissionBoundsCreatingCommands: past the bound, a creating command
// to the same target is refused at once with node_unavailable (nothing
// published), while other targets, commands about existing calls and
// asynchronous requests still go; a finished one makes room again.
func TestAdmissionBoundsCreatingCommands(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    callapi.OriginateRequest
		target callapi.Target
		saying string
	}{
		{"named node", callapi.OriginateRequest{Node: "pbx1", OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test"}}, "pbx1", "node pbx1 already has 2"},
		{"any node", callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test"}}, callapi.TargetAny, "the shared any queue already has 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry()
			reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
			reg.Observe(callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
			bus := &heldBus{release: make(chan struct{})}
			s := NewService(bus, reg, NewLocations(0))
			s.Admission = NewAdmission(2)
			o := Options{Tenant: callapi.DefaultTenant}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for range 2 {
				wg.Add(1)
				go func() { // ends when the bus releases
					defer wg.Done()
					_, _, err := s.Originate(ctx, o, tc.req)
					errs <- err
				}()
			}
			for bus.holding() < 2 {
				time.Sleep(time.Millisecond)
			}
			if n := s.Admission.InFlight(tc.target); n != 2 {
				t.Fatalf("in flight on %s: %d, want 2", tc.target, n)
			}

			start := time.Now()
			_, _, err := s.Originate(ctx, o, tc.req)
			if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || !strings.Contains(callapi.ErrorMessage(err), tc.saying) {
				t.Fatalf("third originate: %v, want node_unavailable saying %q", err, tc.saying)
			}
			if d := time.Since(start); d > time.Second || bus.holding() != 2 {
				t.Fatalf("refused after %v with %d published: want at once, nothing published", d, bus.holding())
			}

			// Async originates are answered on publish: not bounded.
			if _, acc, err := s.Originate(ctx, Options{Tenant: callapi.DefaultTenant, Async: true}, tc.req); err != nil || acc == nil {
				t.Fatalf("async originate: %v %v", acc, err)
			}

			// A command about an existing call (a hang-up) is never refused.
			s.Locations.Put(callKey(callapi.DefaultTenant, "c1"), "pbx1")
			hung := make(chan error, 1)
			go func() { _, err := s.Hangup(ctx, o, "c1", ""); hung <- err }() // ends when the bus releases
			for bus.holding() < 3 {
				time.Sleep(time.Millisecond)
			}

			close(bus.release)
			wg.Wait()
			for range 2 {
				if err := <-errs; err != nil {
					t.Errorf("admitted originate: %v", err)
				}
			}
			if err := <-hung; err != nil {
				t.Errorf("hang-up: %v", err)
			}
			if n := s.Admission.InFlight(tc.target); n != 0 {
				t.Fatalf("in flight after the replies: %d", n)
			}
			if _, _, err := s.Originate(ctx, o, tc.req); err != nil {
				t.Fatalf("originate once room was made: %v", err)
			}
		})
	}
}
