package webhook

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/internal/testenv"
)

// isolationN is the number of receivers of TestOneBadReceiverLeavesTheOthersAlone:
// a hundred, each with its classic queues (3 per subscription, about 6 s in
// all); BenchmarkOneBadReceiverOfMany reports the same figures.
const isolationN = 100

// TestOneBadReceiverLeavesTheOthersAlone: isolationN subscriptions get the
// same events; the latency (event time to POST received) of the healthy
// receivers is measured with every receiver healthy, then with one
// receiver failing (500) and one slow (past the timeout): it must not
// change beyond noise (at most 2 × + 150 ms, for a loaded test machine;
// behind the slow receiver each event would wait 600 ms more).
func TestOneBadReceiverLeavesTheOthersAlone(t *testing.T) {
	e := newEnv(t)
	e.cfg.Timeout = 300 * time.Millisecond
	before, after := isolation(t, e, isolationN, 5)
	t.Logf("healthy receivers' latency p50/p99: all healthy %v/%v; one failing and one slow %v/%v", before[0], before[1], after[0], after[1])
	if after[1] > 2*before[1]+150*time.Millisecond {
		t.Fatalf("p99 latency of the healthy receivers went from %v to %v with a bad neighbour", before[1], after[1])
	}
}

// isolation runs the two phases with n receivers and events per phase,
// and returns the healthy receivers' latency [p50, p99] in each.
func isolation(t testing.TB, e *env, n, events int) (before, after [2]time.Duration) {
	var bad atomic.Bool
	var rcs []*receiver
	for i := range n {
		var h func(int, http.ResponseWriter, *http.Request) bool
		switch i {
		case 0: // failing
			h = func(_ int, w http.ResponseWriter, _ *http.Request) bool {
				if bad.Load() {
					w.WriteHeader(500)
					return false
				}
				return true
			}
		case 1: // slow: past the timeout
			h = func(int, http.ResponseWriter, *http.Request) bool {
				if bad.Load() {
					time.Sleep(2 * e.cfg.Timeout)
				}
				return true
			}
		}
		rc := newReceiver(t, h)
		rcs = append(rcs, rc)
		e.subscribe(rc.srv.URL, nil)
	}
	e.start(e.cfg)
	healthy := rcs[2:]
	phase := func(call string) [2]time.Duration {
		e.publish(call, 0, events)
		testenv.WaitFor(t, "healthy receivers", 30*time.Second, func() bool {
			for _, rc := range healthy {
				if len(rc.callEvents(call)) < events {
					return false
				}
			}
			return true
		})
		var lat []time.Duration
		for _, rc := range healthy {
			lat = append(lat, rc.callEvents(call)...)
		}
		return percentiles(lat)
	}
	phase("warm-up") // every lane consuming, connections open
	before = phase("before")
	bad.Store(true)
	after = phase("after")
	return before, after
}

// callEvents returns the latency of each event of call received.
func (rc *receiver) callEvents(call string) []time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []time.Duration
	for i, ev := range rc.got {
		if string(ev.CallID) == call {
			out = append(out, rc.at[i].Sub(ev.Time))
		}
	}
	return out
}

// percentiles returns p50 and p99 of d.
func percentiles(d []time.Duration) [2]time.Duration {
	if len(d) == 0 {
		return [2]time.Duration{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return [2]time.Duration{at(0.50), at(0.99)}
}
