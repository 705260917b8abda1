package asterisk

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
)

// A worker restarted while calls are up serves a command on such a call
// only after its re-read adopted it: a hangup sent the moment it starts
// (the re-read slowed) hangs the call up instead of answering not_found.
func TestPBXCommandWaitsForReread(t *testing.T) {
	srv, ts := newSim(t)
	p1, _, stop1 := startPBX(t, ts, nil)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p1.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	stop1()

	srv.SlowRequests("GET", "/channels", 300*time.Millisecond)
	sink := newRecSink()
	p2, err := NewPBX(Config{Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Tenant: "acme",
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p2.Run(rctx) }()
	defer func() { cancel(); <-done }()

	if err := p2.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatalf("hangup at start: %v (want it served after the re-read)", err)
	}
	srv.SlowRequests("GET", "/channels", 0)
	sink.waitFor(t, id, callapi.EvCallHangup)
	waitNoChannels(t, srv)
}

// A call the worker does not track is looked up on Asterisk before a
// command answers not_found: found in the app, it is adopted and served.
func TestPBXUnknownCallAskedOfARI(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	h.pbx.calls.forget(id) // as if its StasisStart had been lost
	c, err := h.pbx.Call(ctx, "acme", id)
	if err != nil || c.State != callapi.StateUp {
		t.Fatalf("Call on an untracked live call: %+v %v", c, err)
	}
	if _, err := h.pbx.Call(ctx, "beta", id); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("other tenant: %v", err)
	}
	if err := h.pbx.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallHangup)
	if _, err := h.pbx.Call(ctx, "acme", newID()); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("unknown id: %v", err)
	}
}

// waitConnected waits until the events WebSocket is (up) or is not (!up)
// connected, and returns when that happened.
func waitConnected(t *testing.T, p *PBX, up bool, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.connected.Load() != up {
		if time.Now().After(deadline) {
			t.Fatalf("connected is not %v after %v", up, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now()
}

// While ARI is away an originate is refused (retryable node_unavailable)
// and nothing is created; once the PBX is back the worker reconnects
// within a second with the default backoff.
func TestPBXAwayRefusesOriginatesAndRecoversFast(t *testing.T) {
	srv, ts := newSim(t)
	p, _, _ := startPBX(t, ts, func(c *Config) { c.ReconnectMin, c.ReconnectMax = 0, 0 }) // the defaults
	ctx := ctxT(t, 20*time.Second)
	const away = 3 * time.Second
	srv.RefuseFor(away)
	back := time.Now().Add(away)
	waitConnected(t, p, false, time.Second)
	_, err := p.Originate(ctx, "acme", newID(), callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered})
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("originate while ARI is away: %v, want node_unavailable", err)
	}
	if n := srv.ChannelCount(); n != 0 {
		t.Fatalf("%d channels created while ARI was away", n)
	}
	up := waitConnected(t, p, true, away+5*time.Second)
	if d := up.Sub(back); d > time.Second {
		t.Errorf("reconnected %v after the PBX came back, want <= 1s", d)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		_, err := p.Originate(rctx, "acme", newID(), callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered})
		if err == nil {
			break
		}
		if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || rctx.Err() != nil {
			t.Fatalf("originate after recovery: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A hang-up whose DELETE never reached Asterisk does not make the call's
// end ours: lost with the PBX, it ends with reason lost, not api/16.
func TestPBXHangupReasonWhenLostWithPBX(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	h.srv.RefuseFor(300 * time.Millisecond)
	if err := h.pbx.Hangup(ctx, "acme", id, "busy"); err == nil {
		t.Fatal("hangup succeeded while ARI refused")
	}
	h.srv.HangupChannel(string(id), 16) // ends while nobody listens
	hd := hangupData(t, h.sink.waitFor(t, id, callapi.EvCallHangup))
	if hd.Reason != ReasonLost || hd.Cause == 17 {
		t.Errorf("hangup %+v, want reason %s and not our busy cause", hd, ReasonLost)
	}
}

// A failed originate is not listed as a live call, even when its cleanup
// cannot reach Asterisk either.
func TestPBXFailedOriginateNotListed(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	h.srv.FailRequests("POST", "/channels", http.StatusInternalServerError, 1)
	h.srv.FailRequests("DELETE", "/channels", http.StatusInternalServerError, 1)
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test"}); err == nil {
		t.Fatal("originate succeeded")
	}
	calls, _ := h.pbx.Calls(ctx, "acme")
	if slices.ContainsFunc(calls, func(c *callapi.Call) bool { return c.ID == id }) {
		t.Errorf("failed originate listed: %+v", calls)
	}
	if _, err := h.pbx.Call(ctx, "acme", id); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("failed originate found: %v", err)
	}
	if n := h.pbx.Stats().Calls; n != 0 {
		t.Errorf("%d live calls counted", n)
	}
}

// flakySink refuses the first n call.hangup events it is given (as a
// broker restart does), then takes everything.
type flakySink struct {
	*recSink
	mu sync.Mutex
	n  int
}

func (s *flakySink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	s.mu.Lock()
	if e.Type == callapi.EvCallHangup && s.n > 0 {
		s.n--
		s.mu.Unlock()
		return errors.New("test: channel closed")
	}
	s.mu.Unlock()
	return s.recSink.PublishEvent(ctx, e)
}

// A call.hangup the broker did not take (its connection was lost) is
// retried, not dropped.
func TestPBXHangupRetriedAcrossBrokerLoss(t *testing.T) {
	_, ts := newSim(t)
	sink := &flakySink{recSink: newRecSink(), n: 2}
	p, _ := runPBX(t, Config{Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Tenant: "acme",
		Log: zaptest.NewLogger(t), PublishWindow: 1}, sink)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	if err := p.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, id, callapi.EvCallHangup)
	// The retry counts its success just after the sink took the event.
	deadline := time.Now().Add(2 * time.Second)
	for p.Stats().Republished != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := p.Stats(); s.Republished != 1 {
		t.Errorf("stats %+v, want one republished", s)
	}
}

// OnHealthChange is called when the events WebSocket connects (Info then
// says healthy) and when it drops (unhealthy): the worker beats at once
// on both, so gateways learn of the PBX's return within moments.
func TestPBXHealthChangeCalled(t *testing.T) {
	srv, ts := newSim(t)
	p, err := NewPBX(Config{Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Tenant: "acme",
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}, newRecSink())
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan bool, 16)
	p.OnHealthChange(func() { changes <- p.connected.Load() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	next := func(want bool) {
		t.Helper()
		select {
		case up := <-changes:
			if up != want {
				t.Fatalf("health change with connected=%v, want %v", up, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no health change (want connected=%v)", want)
		}
	}
	next(true)
	ictx := ctxT(t, 5*time.Second)
	if info, err := p.Info(ictx); err != nil || !info.Healthy {
		t.Fatalf("Info at the change: %+v %v", info, err)
	}
	srv.RefuseFor(time.Second)
	next(false)
	next(true)
}
