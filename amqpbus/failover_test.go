package amqpbus

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestFailoverDuring1000RPCs closes this test's connections (gateway and
// worker) from the broker side in the middle of a stream of 1,000 RPCs:
// every RPC succeeds or fails, none outlives its deadline, none runs twice,
// and both buses are connected again within 2 s.
func TestFailoverDuring1000RPCs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	defaults := func(c *Config) { c.ReconnectMin, c.ReconnectMax = 0, 0 } // production backoff
	rec := newRecorder("pbx1")
	rec.delay = 20 * time.Millisecond
	w := e.worker("pbx1", rec, ServeOptions{}, defaults)
	gw := e.bus("gateway", defaults)

	const total, par, timeout = 1000, 16, 3 * time.Second
	var (
		done, ok, failed, hung, okAfter atomic.Int32
		closed                          atomic.Bool
		wg                              sync.WaitGroup
		codes                           sync.Map
	)
	jobs := make(chan int)
	// A paced stream (~300/s, ~3.5 s) so that the close (rabbitmqctl takes
	// a second or more) lands mid-stream; the last fifth waits for it.
	gate := make(chan struct{})
	var gateOnce sync.Once
	openGate := func() { gateOnce.Do(func() { close(gate) }) }
	defer func() { openGate(); wg.Wait() }() // no goroutine left behind on failure
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				target := callapi.Target("pbx1")
				if i%4 == 0 {
					target = callapi.TargetAny
				}
				cmd := cmdOf(callapi.ActCallGet, "")
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				start := time.Now()
				rep, err := gw.Request(ctx, target, cmd)
				cancel()
				if time.Since(start) > timeout+500*time.Millisecond {
					hung.Add(1)
				}
				if err == nil && rep.OK {
					ok.Add(1)
					if closed.Load() {
						okAfter.Add(1)
					}
				} else {
					failed.Add(1)
					codes.Store(callapi.ErrorCode(err), true)
				}
				done.Add(1)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := 0; i < total; i++ {
			if i == total*4/5 {
				<-gate
			}
			time.Sleep(3 * time.Millisecond)
			jobs <- i
		}
	}()
	for done.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.closeConnections(""); n < 2 {
		t.Fatalf("closed %d connections, want the gateway's and the worker's", n)
	}
	closed.Store(true)
	openGate()
	wg.Wait()

	var cs []string
	codes.Range(func(k, _ any) bool { cs = append(cs, string(k.(callapi.Code))); return true })
	t.Logf("%d ok (%d after the close), %d failed (codes %v), %d sent again after a lost channel",
		ok.Load(), okAfter.Load(), failed.Load(), cs, gw.Stats().Retried)
	if hung.Load() > 0 {
		t.Fatalf("%d RPCs outlived their deadline", hung.Load())
	}
	if ok.Load()+failed.Load() != total {
		t.Fatalf("%d ok + %d failed != %d", ok.Load(), failed.Load(), total)
	}
	if okAfter.Load() == 0 {
		t.Fatal("no RPC succeeded after the reconnection")
	}
	rec.mu.Lock()
	for id, n := range rec.runs {
		if n > 1 {
			t.Errorf("command %s ran %d times", id, n)
		}
	}
	rec.mu.Unlock()
	for name, b := range map[string]*Bus{"gateway": gw, "worker": w} {
		s := b.State()
		if !s.Connected || s.Reconnects < 1 {
			t.Fatalf("%s: state %+v", name, s)
		}
		if d := s.Since.Sub(s.LostAt); d > 2*time.Second || d < 0 {
			t.Fatalf("%s reconnected %v after the loss, want within 2s", name, d)
		} else {
			t.Logf("%s reconnected %v after the loss", name, d)
		}
	}
}

func TestFirstURLDead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dead := "amqp://guest:guest@127.0.0.1:1/"
	start := time.Now()
	withDead := func(c *Config) { c.URLs = []string{dead, brokerURL()} }
	e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, withDead)
	gw := e.bus("gateway", withDead)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("ready after %v with the first URL dead", d)
	}
	if s := gw.State(); !strings.Contains(s.URL, ":5672") && !strings.Contains(s.URL, "127.0.0.1/") {
		t.Fatalf("connected to %q", s.URL)
	}
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatal(err)
	}
	// After a loss it tries the next URL (the dead one) and comes back.
	if n := e.closeConnections("gateway"); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s := gw.State(); !s.Connected || s.Reconnects < 1; s = gw.State() {
		if time.Now().After(deadline) {
			t.Fatalf("not reconnected: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := gw.State(); s.Since.Sub(s.LostAt) > 2*time.Second {
		t.Fatalf("reconnected after %v", s.Since.Sub(s.LostAt))
	}
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatal(err)
	}
}

// TestRequestSentAgainAfterLostChannel: when the gateway's connection dies
// while a command runs, a command that creates nothing is sent again under
// its id and answered from the worker's memory (run once); a creating one
// fails at once with timeout ("may have run"), long before its deadline.
func TestRequestSentAgainAfterLostChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	release := make(chan struct{}) // the commands run until the gateway's connection is closed
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	e.worker("pbx1", handlerFunc(func(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
		rec.inFly.Add(1)
		rec.mu.Lock()
		rec.runs[cmd.ID]++
		rec.mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return callapi.OKReply(cmd.ID, "pbx1", nil)
	}), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)

	get, orig := cmdOf(callapi.ActCallGet, "c1"), cmdOf(callapi.ActCallOriginate, "c2")
	type result struct {
		rep *callapi.Reply
		err error
		d   time.Duration
	}
	res := map[callapi.Action]chan result{get.Action: make(chan result, 1), orig.Action: make(chan result, 1)}
	for _, cmd := range []*callapi.Command{get, orig} {
		go func() {
			start := time.Now()
			rep, err := gw.Request(ctxFor(t, 15*time.Second), "pbx1", cmd)
			res[cmd.Action] <- result{rep, err, time.Since(start)}
		}()
	}
	for rec.inFly.Load() < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.closeConnections("gateway"); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	r := <-res[orig.Action]
	releaseOnce.Do(func() { close(release) })
	if callapi.ErrorCode(r.err) != callapi.CodeOutcomeUnknown || r.d > 10*time.Second {
		t.Fatalf("originate after a lost channel: %v after %v, want outcome_unknown at once", r.err, r.d)
	}
	r = <-res[get.Action]
	if r.err != nil || !r.rep.OK {
		t.Fatalf("call.get after a lost channel: %+v %v", r.rep, r.err)
	}
	if rec.count(get.ID) != 1 || rec.count(orig.ID) != 1 {
		t.Fatalf("runs: get %d, originate %d", rec.count(get.ID), rec.count(orig.ID))
	}
	if gw.Stats().Retried != 1 {
		t.Fatalf("retried %d", gw.Stats().Retried)
	}
}
