package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
)

// keyedStack is a system whose workers keep their idempotency journal in a
// state directory and can be stopped and started again (a new process, a
// fresh memory of command ids, the same journal).
type keyedStack struct {
	*system
	ctx      context.Context
	stateDir string
	ts       map[string]*httptest.Server
	stop     map[string]func()
}

func startKeyedStack(t *testing.T, nodes ...string) *keyedStack {
	t.Helper()
	s := &system{t: t, url: brokerURL(t), prefix: "t" + uuid.NewString()[:8] + ".", sims: map[string]*arisim.Server{}, stopWorker: map[string]func(){}}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	ks := &keyedStack{system: s, ctx: ctx, stateDir: t.TempDir(), ts: map[string]*httptest.Server{}, stop: map[string]func(){}}
	for _, n := range nodes {
		sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: n, SystemName: n})
		ts := httptest.NewServer(sim.Handler())
		s.sims[n], ks.ts[n] = sim, ts
		t.Cleanup(func() { ts.Close(); sim.Close() })
		ks.startWorker(n)
	}
	done := make(chan struct{}, 1)
	s.startGateway(ctx, testLogger(t), done)
	t.Cleanup(func() {
		for _, stop := range ks.stop {
			stop()
		}
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop within 15s")
		}
		deleteTopology(t, s.url, s.prefix)
	})
	return ks
}

// startWorker starts (again) node's worker on its simulator and journal.
func (ks *keyedStack) startWorker(n string) {
	t := ks.t
	w, err := stack.NewWorker(&config.Worker{Common: config.Common{AMQPURLs: []string{ks.url}, LogLevel: "info", Prefix: ks.prefix},
		NodeID: n, ARIURL: ks.ts[n].URL + "/ari", ARIUser: "u", ARIPassword: "p", ARIApp: "callgw", Tenant: callapi.DefaultTenant,
		HeartbeatInterval: 500 * time.Millisecond, Concurrency: 64, StateDir: ks.stateDir, IdempotencyWindow: time.Hour}, testLogger(t).Named(n))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ks.ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := w.Run(wctx); err != nil {
			t.Errorf("worker %s: %v", n, err)
		}
	}()
	ks.stop[n] = func() { cancel(); <-stopped; delete(ks.stop, n) }
	deadline := time.Now().Add(10 * time.Second)
	for w.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not ready: %v", n, w.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitNode waits until the gateway sees node in state st.
func (ks *keyedStack) waitNode(n string, st callapi.NodeState) {
	ks.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if node, ok := ks.gw.Registry().Get(callapi.NodeID(n), time.Now()); ok && node.State == st && (st != callapi.NodeUp || node.Healthy) {
			return
		}
		if time.Now().After(deadline) {
			ks.t.Fatalf("node %s not %s", n, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Finding 1: a retry with the same Idempotency-Key after the worker's
// restart is answered from its journal — the call as it ended — and never
// places a second call.
func TestKeyedOriginateSurvivesWorkerRestart(t *testing.T) {
	ks := startKeyedStack(t, "pbx1")
	key := "idem-" + uuid.NewString()
	body := map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}
	first := ks.originateKeyed(key, body, "originate")
	if st, _, b := ks.do("DELETE", "/v1/calls/"+string(first.ID), nil); st != http.StatusNoContent {
		t.Fatalf("hangup: %d %s", st, b)
	}
	ks.stop["pbx1"]()
	ks.startWorker("pbx1")
	ks.waitNode("pbx1", callapi.NodeUp)

	again := ks.originateKeyed(key, body, "retry after restart")
	if again.ID != first.ID || again.State != callapi.StateEnded || again.Hangup == nil {
		t.Fatalf("retry after restart: %+v, want call %s ended", again, first.ID)
	}
	time.Sleep(200 * time.Millisecond)
	if n := ks.sims["pbx1"].ChannelCount(); n != 0 {
		t.Fatalf("a second call was placed: %d channels up", n)
	}
}

// A keyed originate whose record may be on a node that is down is refused
// with a retryable error until that node is back; then the retry gets the
// call the first attempt placed, and no node places another.
func TestKeyedOriginateWaitsForMissingNode(t *testing.T) {
	ks := startKeyedStack(t, "pbx1", "pbx2")
	ks.waitNode("pbx1", callapi.NodeUp)
	ks.waitNode("pbx2", callapi.NodeUp)
	key := "idem-" + uuid.NewString()
	body := map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}
	first := ks.originateKeyed(key, body, "originate")
	holder := string(first.Node)
	other := map[string]string{"pbx1": "pbx2", "pbx2": "pbx1"}[holder]

	ks.stop[holder]()
	ks.waitNode(holder, callapi.NodeDown)
	st, _, b := ks.do("POST", "/v1/calls", body, "Idempotency-Key", key)
	if st != http.StatusServiceUnavailable || !strings.Contains(string(b), "node_unavailable") {
		t.Fatalf("retry while the holder is down: %d %s, want 503 node_unavailable", st, b)
	}
	if n := ks.sims[other].ChannelCount(); n != 0 {
		t.Fatalf("%s placed a second call: %d channels", other, n)
	}

	ks.startWorker(holder)
	ks.waitNode(holder, callapi.NodeUp)
	again := ks.originateKeyed(key, body, "retry after the holder is back")
	if again.ID != first.ID || string(again.Node) != holder {
		t.Fatalf("retry: %+v, want call %s on %s", again, first.ID, holder)
	}
	if n := ks.sims[other].ChannelCount(); n != 0 {
		t.Fatalf("%s placed a second call: %d channels", other, n)
	}
}

// A keyed call that ends while its worker is down gets its call.hangup
// when the worker is back: the journal knows the call, the re-read does
// not (a new process tracks no call).
func TestHangupOfCallLostWhileWorkerDown(t *testing.T) {
	ks := startKeyedStack(t, "pbx1")
	sp := ks.spy(callapi.ExchangeEventsRouted, "*.*.call.hangup.*")
	st, _, b := ks.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}, "Idempotency-Key", "idem-"+uuid.NewString())
	if st != http.StatusCreated {
		t.Fatalf("originate: %d %s", st, b)
	}
	var c callapi.Call
	mustJSON(t, b, &c)
	ks.stop["pbx1"]()
	ks.sims["pbx1"].HangupChannel(string(c.ID), 16) // nobody listens
	ks.startWorker("pbx1")
	e := sp.next(c.ID, 5*time.Second)
	var hd callapi.HangupData
	if err := json.Unmarshal(e.Data, &hd); err != nil || e.Type != callapi.EvCallHangup || hd.Reason != "lost" {
		t.Fatalf("event %+v %+v %v, want call.hangup reason lost", e, hd, err)
	}
}

// originateKeyed posts the originate body with the Idempotency-Key key and
// returns the call of its 201 (what names the attempt in a failure).
func (ks *keyedStack) originateKeyed(key string, body map[string]any, what string) callapi.Call {
	ks.t.Helper()
	st, _, b := ks.do("POST", "/v1/calls", body, "Idempotency-Key", key)
	if st != http.StatusCreated {
		ks.t.Fatalf("%s: %d %s", what, st, b)
	}
	var c callapi.Call
	mustJSON(ks.t, b, &c)
	return c
}
