package asterisk

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
)

// asyncRecSink is an AsyncSink that records events in publish order and
// confirms them only when release is called, so that a shard's window
// really fills. Confirms of events of type failType fail; events of the
// calls in refuse are refused at publish.
type asyncRecSink struct {
	*recSink
	failType callapi.EventType
	refuse   map[callapi.CallID]bool

	mu          sync.Mutex
	pending     []*fakeConfirm
	outstanding int // published, not released
	peak        int
	syncCalls   atomic.Int64
}

type fakeConfirm struct {
	done chan struct{}
	err  error
}

func (c *fakeConfirm) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errNacked = errors.New("test: nacked")

func newAsyncRecSink() *asyncRecSink { return &asyncRecSink{recSink: newRecSink()} }

func (s *asyncRecSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	s.syncCalls.Add(1)
	return s.recSink.PublishEvent(ctx, e)
}

func (s *asyncRecSink) PublishEventAsync(ctx context.Context, e *callapi.Event) (Confirm, error) {
	if s.refuse[e.CallID] {
		return nil, errors.New("test: refused")
	}
	_ = s.recSink.PublishEvent(ctx, e)
	c := &fakeConfirm{done: make(chan struct{})}
	if e.Type == s.failType {
		c.err = errNacked
	}
	s.mu.Lock()
	s.pending = append(s.pending, c)
	s.outstanding++
	s.peak = max(s.peak, s.outstanding)
	s.mu.Unlock()
	return c, nil
}

// release confirms every event published so far.
func (s *asyncRecSink) release() {
	s.mu.Lock()
	ps := s.pending
	s.pending = nil
	s.outstanding = 0
	s.mu.Unlock()
	for _, c := range ps {
		close(c.done)
	}
}

// releaseEvery releases the confirms every d until the test ends.
func (s *asyncRecSink) releaseEvery(t *testing.T, d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				s.release()
				return
			case <-tk.C:
				s.release()
			}
		}
	}()
}

func (s *asyncRecSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.evs)
}

func (s *asyncRecSink) peakOutstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// runWithSink runs a PBX on sink against ts; stop (also at cleanup) ends
// Run and waits for it.
func runWithSink(t *testing.T, sink callapi.EventSink, tweak func(*Config)) (*PBX, func()) {
	t.Helper()
	_, ts := newSim(t)
	cfg := Config{
		Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Tenant: "acme",
		Log: zaptest.NewLogger(t), RequestTimeout: 2 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	p, stop := runPBX(t, cfg, sink)
	return p, stop
}

// placeCalls runs n calls at once: every third busy, the others answered
// then hung up. It returns their ids.
func placeCalls(t *testing.T, p *PBX, n int) []callapi.CallID {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	ids := make([]callapi.CallID, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range ids {
		ids[i] = newID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := "Local/answer@callgw-test"
			if i%3 == 0 {
				to = "Local/busy@callgw-test"
			}
			if _, err := p.Originate(ctx, "acme", ids[i], callapi.OriginateArgs{To: to, Wait: callapi.WaitAnswered}); err != nil {
				errs <- err
				return
			}
			if i%3 != 0 {
				if err := p.Hangup(ctx, "acme", ids[i], ""); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return ids
}

func wantTypes(i int) []callapi.EventType {
	if i%3 == 0 {
		return []callapi.EventType{callapi.EvCallCreated, callapi.EvCallHangup}
	}
	return []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}
}

// waitAccounted waits until every event the sink was given is counted as
// published or failed.
func waitAccounted(t *testing.T, p *PBX, total func() int) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := p.Stats()
		if n := total(); int(s.EventsPublished+s.PublishErrors) == n {
			return s
		} else if time.Now().After(deadline) {
			t.Fatalf("%d events given to the sink, stats %+v", n, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With a window of unconfirmed events per shard, every call's events are
// still published in ARI's order with seq 1, 2, 3…, each call gets exactly
// one call.hangup, the window is used but never exceeded, and every event
// is counted once confirmed.
func TestPBXPublishWindowOrder(t *testing.T) {
	sink := newAsyncRecSink()
	sink.releaseEvery(t, 20*time.Millisecond)
	const shards, window = 2, 8
	p, _ := runWithSink(t, sink, func(c *Config) { c.Shards, c.PublishWindow = shards, window })
	ids := placeCalls(t, p, 200)
	for _, id := range ids {
		sink.waitFor(t, id, callapi.EvCallHangup)
	}
	s := waitAccounted(t, p, sink.count)
	time.Sleep(50 * time.Millisecond) // late ARI events must not add anything
	for i, id := range ids {
		evs := sink.of(id)
		if got := types(evs, ""); !slices.Equal(got, wantTypes(i)) {
			t.Errorf("%s: %v, want %v", id, got, wantTypes(i))
		}
		for j, e := range evs {
			if e.Seq != uint64(j+1) {
				t.Errorf("%s: event %d has seq %d", id, j, e.Seq)
			}
		}
	}
	if s.PublishErrors != 0 || s.EventsDropped != 0 || s.EventsPublished != int64(sink.count()) || s.Calls != 0 {
		t.Errorf("stats %+v, %d events published", s, sink.count())
	}
	if n := sink.syncCalls.Load(); n != 0 {
		t.Errorf("%d synchronous publishes", n)
	}
	if pk := sink.peakOutstanding(); pk <= shards || pk > shards*window {
		t.Errorf("peak unconfirmed events %d, want in (%d, %d]", pk, shards, shards*window)
	}
}

// Confirms that fail and publishes that are refused are counted and logged
// as a synchronous sink's failures are; the other events are published,
// in order, and each call still ends once.
func TestPBXPublishWindowFailures(t *testing.T) {
	sink := newAsyncRecSink()
	sink.failType = callapi.EvCallAnswered
	// Every event of these calls is refused at publish.
	refused := []callapi.CallID{newID(), newID(), newID()}
	sink.refuse = map[callapi.CallID]bool{}
	for _, id := range refused {
		sink.refuse[id] = true
	}
	sink.releaseEvery(t, 5*time.Millisecond)
	p, _ := runWithSink(t, sink, func(c *Config) { c.Shards, c.PublishWindow = 4, 4 })
	ctx := ctxT(t, 10*time.Second)
	for _, id := range refused {
		if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
			t.Fatal(err)
		}
		if err := p.Hangup(ctx, "acme", id, ""); err != nil {
			t.Fatal(err)
		}
	}
	ids := placeCalls(t, p, 60)
	for _, id := range ids {
		sink.waitFor(t, id, callapi.EvCallHangup)
	}
	answered := 0
	for i := range ids {
		if i%3 != 0 {
			answered++
		}
	}
	// Refused: created, answered, hangup of each refused call.
	wantErrs := int64(answered + 3*len(refused))
	total := func() int { return sink.count() + 3*len(refused) }
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().PublishErrors < wantErrs && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := waitAccounted(t, p, total)
	if s.PublishErrors != wantErrs || s.EventsPublished != int64(sink.count()-answered) {
		t.Errorf("stats %+v; want %d errors, %d published", s, wantErrs, sink.count()-answered)
	}
	for i, id := range ids {
		if got := types(sink.of(id), ""); !slices.Equal(got, wantTypes(i)) {
			t.Errorf("%s: %v, want %v", id, got, wantTypes(i))
		}
	}
	// Refused events are lost, but a call.hangup is retried (through the
	// synchronous path, which this sink takes), after a backoff.
	for p.Stats().Republished < int64(len(refused)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s = p.Stats()
	for _, id := range refused {
		if got := types(sink.of(id), ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallHangup}) {
			t.Errorf("refused call %s: %v, want only its retried call.hangup", id, got)
		}
	}
	if s.Republished != int64(len(refused)) {
		t.Errorf("republished %d, want %d", s.Republished, len(refused))
	}
}

// Stopping waits for the confirms still due, each within PublishTimeout of
// its publishing: confirms that come are counted published, those that
// never come are counted failed, and Run returns in bounded time.
func TestPBXPublishWindowStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		confirm bool
	}{{"confirmed after stop", true}, {"never confirmed", false}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newAsyncRecSink()
			const timeout = 500 * time.Millisecond
			p, stop := runWithSink(t, sink, func(c *Config) { c.PublishWindow, c.PublishTimeout = 64, timeout })
			ctx := ctxT(t, 10*time.Second)
			id := newID()
			if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
				t.Fatal(err)
			}
			sink.waitFor(t, id, callapi.EvCallAnswered)
			if s := p.Stats(); s.EventsPublished != 0 || s.PublishErrors != 0 {
				t.Fatalf("accounted before any confirm: %+v", s)
			}
			n := sink.count()
			start := time.Now()
			if tc.confirm {
				time.AfterFunc(100*time.Millisecond, sink.release)
			}
			stop()
			took := time.Since(start)
			s := p.Stats()
			if tc.confirm && (s.EventsPublished != int64(n) || s.PublishErrors != 0) {
				t.Errorf("stats %+v, want %d published", s, n)
			}
			if !tc.confirm && (s.EventsPublished != 0 || s.PublishErrors != int64(n)) {
				t.Errorf("stats %+v, want %d failed", s, n)
			}
			if took > timeout+2*time.Second {
				t.Errorf("Run took %v to return", took)
			}
			sink.release()
		})
	}
}

// PublishWindow 1 publishes synchronously even on an asynchronous sink.
func TestPBXPublishWindowOne(t *testing.T) {
	sink := newAsyncRecSink()
	p, _ := runWithSink(t, sink, func(c *Config) { c.PublishWindow = 1 })
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/busy@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, id, callapi.EvCallHangup)
	s := waitAccounted(t, p, sink.count)
	if n := sink.syncCalls.Load(); n != 2 || s.EventsPublished != 2 || sink.peakOutstanding() != 0 {
		t.Errorf("sync publishes %d, stats %+v", n, s)
	}
}
