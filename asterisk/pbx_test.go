package asterisk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/asterisk/hangupcause"
	"github.com/callgw/callgw/callapi"
)

// recSink is a callapi.EventSink that records what it is given.
type recSink struct {
	mu     sync.Mutex
	evs    []*callapi.Event
	notify chan struct{}
}

func newRecSink() *recSink { return &recSink{notify: make(chan struct{}, 1)} }

func (s *recSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	s.mu.Lock()
	s.evs = append(s.evs, e)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// of returns the events of call id, in publish order.
func (s *recSink) of(id callapi.CallID) []*callapi.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*callapi.Event
	for _, e := range s.evs {
		if e.CallID == id {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until call id has an event of type typ and returns it.
func (s *recSink) waitFor(t *testing.T, id callapi.CallID, typ callapi.EventType) *callapi.Event {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		for _, e := range s.of(id) {
			if e.Type == typ {
				return e
			}
		}
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("no %s for %s; got %v", typ, id, types(s.of(id), ""))
		}
	}
}

type harness struct {
	srv  *arisim.Server
	ts   *httptest.Server
	url  string
	pbx  *PBX
	sink *recSink
	stop func()
}

func newSim(t testing.TB) (*arisim.Server, *httptest.Server) {
	t.Helper()
	srv := arisim.New(arisim.Config{User: "u", Password: "p", DialplanStep: 20 * time.Millisecond, DTMFInterval: 20 * time.Millisecond})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts
}

// startPBX runs a PBX against ts until the test ends (or stop is called).
func startPBX(t testing.TB, ts *httptest.Server, tweak func(*Config)) (*PBX, *recSink, func()) {
	t.Helper()
	sink := newRecSink()
	cfg := Config{
		Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Tenant: "acme",
		Log: zaptest.NewLogger(t), ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		RequestTimeout: 2 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	p, stop := runPBX(t, cfg, sink)
	return p, sink, stop
}

// runPBX runs a PBX with cfg until the test ends (or stop is called), and
// waits until it is connected.
func runPBX(t testing.TB, cfg Config, sink callapi.EventSink) (*PBX, func()) {
	t.Helper()
	p, err := NewPBX(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := p.Ready(rctx); err != nil {
		t.Fatal(err)
	}
	return p, stop
}

func newHarness(t *testing.T) *harness {
	srv, ts := newSim(t)
	p, sink, stop := startPBX(t, ts, nil)
	return &harness{srv: srv, ts: ts, url: ts.URL + "/ari", pbx: p, sink: sink, stop: stop}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newID() callapi.CallID { return callapi.CallID(uuid.NewString()) }

func waitNoChannels(t *testing.T, srv *arisim.Server) {
	t.Helper()
	for i := 0; i < 250 && srv.ChannelCount() > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if n := srv.ChannelCount(); n != 0 {
		t.Fatalf("%d channels left on the PBX", n)
	}
}

func hangupData(t *testing.T, e *callapi.Event) callapi.HangupData {
	t.Helper()
	var h callapi.HangupData
	if err := json.Unmarshal(e.Data, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPBXAnswerLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	c, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", From: "100", Tags: []string{"sales-42"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Node != "pbx1" || c.Tenant != "acme" || c.Direction != callapi.Outbound {
		t.Errorf("originate returned %+v", c)
	}
	h.sink.waitFor(t, id, callapi.EvCallAnswered)

	got, err := h.pbx.Call(ctx, "acme", id)
	if err != nil || got.State != callapi.StateUp || got.AnsweredAt == nil || !slices.Equal(got.Tags, []string{"sales-42"}) {
		t.Fatalf("Call = %+v, %v", got, err)
	}
	list, err := h.pbx.Calls(ctx, "acme")
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("Calls = %v, %v", list, err)
	}

	if err := h.pbx.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallHangup)
	if hd := hangupData(t, e); hd.Cause != 16 || hd.CauseText != "Normal Clearing" || hd.Reason != ReasonAPI {
		t.Errorf("hangup %+v", hd)
	}
	if _, err := h.pbx.Call(ctx, "acme", id); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("Call after hangup: %v", err)
	}
	waitNoChannels(t, h.srv)
	time.Sleep(100 * time.Millisecond) // late ARI events must not add anything
	evs := h.sink.of(id)
	if got := types(evs, ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}) {
		t.Fatalf("events %v", got)
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) || e.Tenant != "acme" || e.Node != "pbx1" || !slices.Equal(e.Tags, []string{"sales-42"}) || len(e.ARI) == 0 {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	if s := h.pbx.Stats(); s.EventsDropped != 0 || s.PublishErrors != 0 || s.Calls != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestPBXTenantIsolation(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pbx.Call(ctx, "beta", id); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("other tenant Call: %v", err)
	}
	if l, _ := h.pbx.Calls(ctx, "beta"); len(l) != 0 {
		t.Errorf("other tenant Calls: %v", l)
	}
	if err := h.pbx.Hangup(ctx, "beta", id, ""); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("other tenant Hangup: %v", err)
	}
	if _, err := h.pbx.Call(ctx, "acme", id); err != nil {
		t.Errorf("own Call: %v", err)
	}
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test"}); callapi.ErrorCode(err) != callapi.CodeConflict {
		t.Errorf("same id twice: %v", err)
	}
	if err := h.pbx.Hangup(ctx, "acme", "nope", ""); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("unknown Hangup: %v", err)
	}
	for _, e := range h.sink.of(id) {
		if e.Tenant != "acme" {
			t.Errorf("event of tenant %q", e.Tenant)
		}
	}
}

func TestPBXBusy(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/busy@callgw-test"}); err != nil {
		t.Fatal(err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallHangup)
	if hd := hangupData(t, e); hd.Cause != 17 || hd.CauseText != "User busy" || hd.DialStatus != "BUSY" {
		t.Errorf("hangup %+v", hd)
	}
	if got := types(h.sink.of(id), ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallHangup}) {
		t.Errorf("events %v", got)
	}
}

func TestPBXWaitAnswered(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name    string
		to      string
		timeout int
		state   callapi.CallState
		hangup  *callapi.Hangup
	}{
		{"answer", "Local/answer@callgw-test", 0, callapi.StateUp, nil},
		{"busy", "Local/busy@callgw-test", 0, callapi.StateEnded, &callapi.Hangup{Cause: 17, CauseText: "User busy", DialStatus: "BUSY"}},
		{"ring timeout", "Local/ring@callgw-test", 1, callapi.StateEnded, &callapi.Hangup{Cause: 19, CauseText: "User alerting, no answer", DialStatus: "NOANSWER"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t, 10*time.Second)
			id := newID()
			c, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: tc.to, Timeout: tc.timeout, Wait: callapi.WaitAnswered})
			if err != nil {
				t.Fatal(err)
			}
			if c.State != tc.state {
				t.Errorf("state %s, want %s", c.State, tc.state)
			}
			if (c.Hangup == nil) != (tc.hangup == nil) || (c.Hangup != nil && *c.Hangup != *tc.hangup) {
				t.Errorf("hangup %+v, want %+v", c.Hangup, tc.hangup)
			}
			if tc.hangup != nil {
				if _, err := h.pbx.Call(ctx, "acme", id); callapi.ErrorCode(err) != callapi.CodeNotFound {
					t.Errorf("ended call still known: %v", err)
				}
			} else if err := h.pbx.Hangup(ctx, "acme", id, ""); err != nil {
				t.Error(err)
			}
		})
	}
	waitNoChannels(t, h.srv)
}

func TestPBXWaitDeadlineLeavesNoCall(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	id := newID()
	_, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/ring@callgw-test", Wait: callapi.WaitAnswered})
	if callapi.ErrorCode(err) != callapi.CodeTimeout {
		t.Fatalf("err %v, want timeout", err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallHangup)
	if hd := hangupData(t, e); hd.Reason != ReasonTimeout {
		t.Errorf("hangup %+v", hd)
	}
	waitNoChannels(t, h.srv)
	if l, _ := h.pbx.Calls(context.Background(), "acme"); len(l) != 0 {
		t.Errorf("calls left: %v", l)
	}
}

func TestPBXOriginateFailures(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)

	h.srv.FailRequests("POST", "/channels", http.StatusInternalServerError, 1)
	if _, err := h.pbx.Originate(ctx, "acme", newID(), callapi.OriginateArgs{To: "Local/answer@callgw-test"}); callapi.ErrorCode(err) != callapi.CodePBXError {
		t.Errorf("500: %v", err)
	}
	_, err := h.pbx.Originate(ctx, "acme", newID(), callapi.OriginateArgs{To: "Bogus/x"})
	var ae *ariError
	if callapi.ErrorCode(err) == "" || !errors.As(err, &ae) || ae.Status != 500 || ae.Message != "Allocation failed" {
		// Asterisk's {"error": "Allocation failed"} keeps its message.
		t.Errorf("bogus technology: %v", err)
	}

	h.srv.SlowRequests("POST", "/channels", 2*time.Second)
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := h.pbx.Originate(sctx, "acme", newID(), callapi.OriginateArgs{To: "Local/answer@callgw-test"}); callapi.ErrorCode(err) != callapi.CodeTimeout {
		t.Errorf("slow: %v", err)
	}
	h.srv.ClearFaults()
	if h.pbx.Stats().RequestsAbandoned == 0 {
		t.Error("abandoned request not counted")
	}
	for i := 0; i < 100 && h.pbx.Stats().Calls > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if s := h.pbx.Stats(); s.Calls != 0 {
		t.Errorf("calls left after failed originates: %+v", s)
	}
	waitNoChannels(t, h.srv)
}

// A call that ends while the events WebSocket is down gets its call.hangup
// after the reconnect; the other calls keep working.
func TestPBXReconnectPublishesDifferences(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	a, b := newID(), newID()
	for _, id := range []callapi.CallID{a, b} {
		if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
			t.Fatal(err)
		}
	}
	h.srv.RefuseFor(500 * time.Millisecond) // drops the WebSocket, refuses reconnects
	time.Sleep(50 * time.Millisecond)
	h.srv.HangupChannel(string(a), 16) // unseen: nobody listens
	e := h.sink.waitFor(t, a, callapi.EvCallHangup)
	if hd := hangupData(t, e); hd.Reason != ReasonLost {
		t.Errorf("hangup %+v, want reason %s", hd, ReasonLost)
	}
	if s := h.pbx.Stats(); s.Connects < 2 {
		t.Errorf("connects %d", s.Connects)
	}
	if err := h.pbx.Hangup(ctx, "acme", b, "busy"); err != nil {
		t.Fatal(err)
	}
	if hd := hangupData(t, h.sink.waitFor(t, b, callapi.EvCallHangup)); hd.Cause != 17 {
		t.Errorf("b hangup %+v", hd)
	}
	for _, id := range []callapi.CallID{a, b} {
		evs := h.sink.of(id)
		if n := len(types(evs, "")); types(evs, "")[n-1] != callapi.EvCallHangup {
			t.Errorf("%s: %v", id, types(evs, ""))
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Seq <= evs[i-1].Seq {
				t.Errorf("%s: seq %d after %d", id, evs[i].Seq, evs[i-1].Seq)
			}
		}
	}
}

// A restarted worker re-adopts the calls still up, with their tenant and tags.
func TestPBXRestartReadopts(t *testing.T) {
	srv, ts := newSim(t)
	p1, sink1, stop1 := startPBX(t, ts, nil)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p1.Originate(ctx, "beta", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Tags: []string{"t1", "t2"}, Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	inID, err := srv.InboundCall("alice", "5551000")
	if err != nil {
		t.Fatal(err)
	}
	sink1.waitFor(t, callapi.CallID(inID), callapi.EvCallCreated)
	last := sink1.of(id)[len(sink1.of(id))-1].Seq
	stop1()

	p2, sink2, _ := startPBX(t, ts, nil)
	e := sink2.waitFor(t, id, callapi.EvCallCreated)
	var d callapi.CreatedData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Adopted || d.Tenant != "beta" || d.Direction != callapi.Outbound || !slices.Equal(d.Tags, []string{"t1", "t2"}) || d.State != callapi.StateUp {
		t.Errorf("adopted %+v", d)
	}
	if e.Seq <= last {
		t.Errorf("seq went back from %d to %d", last, e.Seq)
	}
	sink2.waitFor(t, callapi.CallID(inID), callapi.EvCallCreated)
	c, err := p2.Call(ctx, "beta", id)
	if err != nil || c.Direction != callapi.Outbound {
		t.Fatalf("Call %+v %v", c, err)
	}
	in, err := p2.Call(ctx, "acme", callapi.CallID(inID))
	if err != nil || in.Direction != callapi.Inbound || in.From != "alice" || in.To != "5551000" {
		t.Fatalf("inbound %+v %v", in, err)
	}
	if err := p2.Hangup(ctx, "beta", id, ""); err != nil {
		t.Fatal(err)
	}
	sink2.waitFor(t, id, callapi.EvCallHangup)
	if err := p2.Hangup(ctx, "acme", callapi.CallID(inID), ""); err != nil {
		t.Fatal(err)
	}
	sink2.waitFor(t, callapi.CallID(inID), callapi.EvCallHangup)
	waitNoChannels(t, srv)
}

func TestPBXInbound(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id, err := h.srv.InboundCall("alice", "5551000")
	if err != nil {
		t.Fatal(err)
	}
	e := h.sink.waitFor(t, callapi.CallID(id), callapi.EvCallCreated)
	var d callapi.CreatedData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Direction != callapi.Inbound || d.From != "alice" || d.To != "5551000" || !slices.Equal(d.Args, []string{"5551000"}) || e.Tenant != "acme" {
		t.Errorf("created %+v tenant %s", d, e.Tenant)
	}
	// CALLGW_TENANT on the channel overrides the node's default tenant.
	if err := h.pbx.rest.do(ctx, http.MethodPost, "/channels/"+seg(id)+"/variable", map[string][]string{"variable": {VarTenant}, "value": {"beta"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m := h.pbx.lookupMeta(ctx, &ariChannel{ID: id}); m.tenant != "beta" || m.dir != callapi.Inbound {
		t.Errorf("meta %+v", m)
	}
	h.srv.HangupChannel(id, 16)
	if hd := hangupData(t, h.sink.waitFor(t, callapi.CallID(id), callapi.EvCallHangup)); hd.Cause != 16 || hd.Reason != ReasonRemote {
		t.Errorf("hangup %+v", hd)
	}
}

func TestPBXInfoAndReplaced(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	info, err := h.pbx.Info(ctx)
	if err != nil || !info.Healthy || info.AsteriskID != "sim" || info.AsteriskVersion != arisim.Version || info.App != "callgw" {
		t.Fatalf("info %+v %v", info, err)
	}
	// A second connection for the same app replaces ours.
	u := "ws" + strings.TrimPrefix(h.url, "http") + "/events?app=callgw&api_key=u:p"
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow() //nolint:errcheck
	for i := 0; i < 100; i++ {
		if info, _ = h.pbx.Info(ctx); !info.Healthy {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info.Healthy || !strings.Contains(info.Reason, "replaced") {
		t.Errorf("info after replace %+v", info)
	}
}

func TestNewPBXValidates(t *testing.T) {
	ok := Config{Node: "pbx1", URL: "http://127.0.0.1:8088/ari", User: "u", Password: "p", App: "callgw"}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"node", func(c *Config) { c.Node = "a.b" }},
		{"url", func(c *Config) { c.URL = "ftp://x" }},
		{"app", func(c *Config) { c.App = "" }},
		{"tenant", func(c *Config) { c.Tenant = "a b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			if _, err := NewPBX(c, newRecSink()); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
				t.Errorf("err %v", err)
			}
		})
	}
	if _, err := NewPBX(ok, newRecSink()); err != nil {
		t.Error(err)
	}
}

// A call sent to the dialplan is watched (the app subscribes to it) but not
// controlled: its answer and hangup are published all the same.
func TestPBXDialplanOriginate(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{
		To: "Local/answer@callgw-test", Context: "callgw-test", Extension: "echo", Priority: 1,
		Variables: map[string]string{"FOO": "bar"},
	}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallAnswered)
	if err := h.pbx.Hangup(ctx, "acme", id, "normal"); err != nil {
		t.Fatal(err)
	}
	if hd := hangupData(t, h.sink.waitFor(t, id, callapi.EvCallHangup)); hd.Cause != 16 {
		t.Errorf("hangup %+v", hd)
	}
	waitNoChannels(t, h.srv)
}

// Under many concurrent calls, every call's events come in order with
// strictly increasing seq, and each call gets exactly one call.hangup.
func TestPBXConcurrentOrder(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 20*time.Second)
	const n = 200
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
			if _, err := h.pbx.Originate(ctx, "acme", ids[i], callapi.OriginateArgs{To: to, Wait: callapi.WaitAnswered}); err != nil {
				errs <- err
				return
			}
			if i%3 != 0 {
				if err := h.pbx.Hangup(ctx, "acme", ids[i], ""); err != nil {
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
	for _, id := range ids {
		h.sink.waitFor(t, id, callapi.EvCallHangup)
	}
	waitNoChannels(t, h.srv)
	time.Sleep(50 * time.Millisecond)
	for i, id := range ids {
		got := types(h.sink.of(id), "")
		want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}
		if i%3 == 0 {
			want = []callapi.EventType{callapi.EvCallCreated, callapi.EvCallHangup}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
		for j, e := range h.sink.of(id) {
			if e.Seq != uint64(j+1) {
				t.Errorf("%s: event %d seq %d", id, j, e.Seq)
			}
		}
	}
	if s := h.pbx.Stats(); s.Calls != 0 || s.EventsDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// failSink refuses every event; blockSink holds each until released.
type failSink struct{}

func (failSink) PublishEvent(context.Context, *callapi.Event) error { return context.DeadlineExceeded }

type blockSink struct{ release chan struct{} }

func (s blockSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A sink that fails or stalls never stops intake silently: refused events
// are counted, events that find their queue full are dropped and counted.
func TestPBXSinkTrouble(t *testing.T) {
	t.Run("failing", func(t *testing.T) {
		srv, ts := newSim(t)
		p, err := NewPBX(Config{Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Log: zaptest.NewLogger(t)}, failSink{})
		if err != nil {
			t.Fatal(err)
		}
		runFor(t, p, func(ctx context.Context) {
			if _, err := p.Originate(ctx, "acme", newID(), callapi.OriginateArgs{To: "Local/busy@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
				t.Fatal(err)
			}
			waitNoChannels(t, srv)
			for i := 0; i < 100 && p.Stats().PublishErrors < 2; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if s := p.Stats(); s.PublishErrors < 2 || s.EventsPublished != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	})
	t.Run("stalled", func(t *testing.T) {
		srv, ts := newSim(t)
		sink := blockSink{release: make(chan struct{})}
		p, err := NewPBX(Config{Node: "pbx1", URL: ts.URL + "/ari", User: "u", Password: "p", App: "callgw", Log: zaptest.NewLogger(t),
			Shards: 1, QueueSize: 1, EnqueueTimeout: 10 * time.Millisecond, PublishTimeout: 5 * time.Second}, sink)
		if err != nil {
			t.Fatal(err)
		}
		runFor(t, p, func(ctx context.Context) {
			for range 3 {
				if _, err := p.Originate(ctx, "acme", newID(), callapi.OriginateArgs{To: "Local/answer@callgw-test"}); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 200 && p.Stats().EventsDropped == 0; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if s := p.Stats(); s.EventsDropped == 0 {
				t.Errorf("nothing dropped: %+v", s)
			}
			close(sink.release)
			_ = srv
		})
	})
}

func runFor(t *testing.T, p *PBX, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	if err := p.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	f(ctx)
	rcancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestHangupReasonsHaveCauses: every reason the executor lets through
// (callapi.HangupReasons) has the cause Asterisk gives it, and the adapter
// knows no reason the gateway refuses.
func TestHangupReasonsHaveCauses(t *testing.T) {
	for _, r := range callapi.HangupReasons {
		if reasonCause(r) == 0 {
			t.Errorf("gateway accepts reason %q, which has no cause here", r)
		}
	}
	for _, r := range hangupcause.Reasons() {
		if !slices.Contains(callapi.HangupReasons, r) {
			t.Errorf("cause for reason %q, which gateway refuses", r)
		}
	}
}

// TestPBXHangupTrustsReason: the adapter does not check the reason again
// (the executor did, with callapi.HangupArgs.Validate): one it is given goes to
// Asterisk, whose refusal comes back, and the call stays up.
func TestPBXHangupTrustsReason(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 5*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	err := h.pbx.Hangup(ctx, "acme", id, "because")
	if callapi.ErrorCode(err) != callapi.CodeInvalidArgument || !strings.Contains(callapi.ErrorMessage(err), "asterisk rejected") {
		t.Errorf("err %v, want Asterisk's refusal", err)
	}
	if c, err := h.pbx.Call(ctx, "acme", id); err != nil || c.State != callapi.StateUp {
		t.Fatalf("after a refused hangup: %+v %v", c, err)
	}
	if err := h.pbx.Hangup(ctx, "acme", id, "no_answer"); err != nil {
		t.Fatal(err)
	}
	if hd := hangupData(t, h.sink.waitFor(t, id, callapi.EvCallHangup)); hd.Cause != 19 {
		t.Errorf("hangup %+v", hd)
	}
}

// An Asterisk restart loses every channel without an event: after the
// reconnect each call gets its call.hangup, and new calls work.
func TestPBXAsteriskRestart(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	h.srv.Restart()
	if hd := hangupData(t, h.sink.waitFor(t, id, callapi.EvCallHangup)); hd.Reason != ReasonLost {
		t.Errorf("hangup %+v", hd)
	}
	for i := 0; i < 250; i++ { // reconnected and the app registered again
		if info, _ := h.pbx.Info(ctx); info.Healthy && h.pbx.Stats().Connects >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	id2 := newID()
	c, err := h.pbx.Originate(ctx, "acme", id2, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered})
	if err != nil || c.State != callapi.StateUp {
		t.Fatalf("after restart: %+v %v", c, err)
	}
}

// A dropped WebSocket while a call ends: the call.hangup arrives, from the
// events or from the re-read, exactly once.
func TestPBXDropWebSockets(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	h.srv.DropWebSockets()
	h.srv.HangupChannel(string(id), 17)
	h.sink.waitFor(t, id, callapi.EvCallHangup)
	waitNoChannels(t, h.srv)
	time.Sleep(100 * time.Millisecond)
	n := 0
	for _, e := range h.sink.of(id) {
		if e.Type == callapi.EvCallHangup {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d call.hangup events", n)
	}
}
