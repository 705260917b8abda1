package worker

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// recordedStop returns stop steps that record their order; waitInFlight
// returns once inFlight is closed (true) or its ctx ends (false).
func recordedStop(inFlight <-chan struct{}) (*stopSteps, func() []string) {
	var mu sync.Mutex
	var got []string
	step := func(name string) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, name)
		}
	}
	s := &stopSteps{
		log:              zap.NewNop(),
		drainTimeout:     time.Minute,
		announceDraining: step("draining"),
		stopAny:          step("stop-any"),
		waitInFlight: func(ctx context.Context) bool {
			step("wait")()
			select {
			case <-inFlight:
				step("drained")()
				return true
			case <-ctx.Done():
				step("gave-up")()
				return false
			}
		},
		running:      func() int64 { return 1 },
		announceDown: step("down"),
		closeBus:     step("close-bus"),
		closeARI:     step("close-ari"),
	}
	return s, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestWorkerStopOrder: a worker's stop announces draining, stops taking
// shared work, drains the commands in flight (bounded, and cut short by a
// failure), then announces node.down, closes the bus and only then ARI; a
// stop after a failure does not drain.
func TestWorkerStopOrder(t *testing.T) {
	closed := make(chan struct{})
	close(closed)
	for _, tc := range []struct {
		name       string
		graceful   bool
		inFlight   chan struct{} // closed: the commands in flight end
		timeout    time.Duration
		failDuring bool // a part fails while draining
		want       []string
	}{
		{"graceful", true, closed, time.Minute, false,
			[]string{"draining", "stop-any", "wait", "drained", "down", "close-bus", "close-ari"}},
		{"drain timeout", true, make(chan struct{}), 20 * time.Millisecond, false,
			[]string{"draining", "stop-any", "wait", "gave-up", "down", "close-bus", "close-ari"}},
		{"failure while draining", true, make(chan struct{}), time.Minute, true,
			[]string{"draining", "stop-any", "wait", "gave-up", "down", "close-bus", "close-ari"}},
		{"after a failure", false, make(chan struct{}), time.Minute, false,
			[]string{"down", "close-bus", "close-ari"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, got := recordedStop(tc.inFlight)
			s.drainTimeout = tc.timeout
			failed, fail := context.WithCancelCause(context.Background())
			defer fail(nil)
			if tc.failDuring {
				go func() {
					for !slices.Contains(got(), "wait") {
						time.Sleep(time.Millisecond)
					}
					fail(errors.New("bus stopped"))
				}()
			}
			done := make(chan struct{})
			go func() { stop(failed, *s, tc.graceful); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("stop did not return; steps so far %v", got())
			}
			if !slices.Equal(got(), tc.want) {
				t.Fatalf("steps %v, want %v", got(), tc.want)
			}
		})
	}
}
