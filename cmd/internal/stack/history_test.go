package stack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/worker"
)

// historyWorld is a worker on the simulator and gateways with history
// streams (small retention) on the real broker, under a unique prefix
// whose queues, exchanges and history streams go at the end.
type historyWorld struct {
	t      *testing.T
	ctx    context.Context
	common config.Common
	worker *worker.Worker
}

func newHistoryWorld(t *testing.T) *historyWorld {
	url := testenv.BrokerURL()
	testenv.NeedBroker(t, url)
	prefix := "stkh" + uuid.NewString()[:8] + "."
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := amqpbus.DeleteHistory(ctx, url, prefix, callapi.DefaultTenant); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := amqpbus.DeleteTopology(ctx, url, prefix); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	urls := []string{url}
	if all := os.Getenv("CALLGW_AMQP_URL"); all != "" {
		urls = strings.Split(all, ",") // a cluster: every node, as a deployment lists them
	}
	w := &historyWorld{t: t, ctx: t.Context(), common: config.Common{AMQPURLs: urls, LogLevel: "warn", Prefix: prefix}}
	sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: "pbx1", SystemName: "pbx1"})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(sim.Close)
	t.Cleanup(ts.Close)
	wk, err := NewWorker(&config.Worker{Common: w.common, NodeID: "pbx1", ARIURL: ts.URL + "/ari", ARIUser: "u", ARIPassword: "p",
		ARIApp: "callgw", Tenant: callapi.DefaultTenant, HeartbeatInterval: 200 * time.Millisecond, Concurrency: 8,
		StateDir: t.TempDir()}, w.log("worker"))
	if err != nil {
		t.Fatal(err)
	}
	w.worker = wk
	w.run("worker", wk.Run)
	testenv.WaitFor(t, "the worker's readiness", 15*time.Second, func() bool { return wk.Ready() == nil })
	return w
}

func (w *historyWorld) log(name string) *zap.Logger {
	return zaptest.NewLogger(w.t, zaptest.Level(zap.WarnLevel)).Named(name)
}

// run runs fn until the returned stop (or the test's end) and checks
// that it stops cleanly.
func (w *historyWorld) run(name string, fn func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				w.t.Errorf("%s stopped with %v", name, err)
			}
		case <-time.After(20 * time.Second):
			w.t.Errorf("%s did not stop", name)
		}
	}
	w.t.Cleanup(stop)
	return stop
}

// gateway starts a gateway with history streams and returns its client.
func (w *historyWorld) gateway(name string) (*client.Client, *Gateway, func()) {
	g, err := NewGateway(&config.Gateway{Common: w.common, HTTPAddr: "127.0.0.1:0", DefaultTimeout: 5 * time.Second, MaxTimeout: time.Minute,
		CallRecords: 100, CallRecordsTTL: time.Hour, HistoryMaxAge: 10 * time.Minute, HistoryMaxMB: 1, HistorySegmentMB: 1}, w.log(name))
	if err != nil {
		w.t.Fatal(err)
	}
	stop := w.run(name, g.Run)
	ctx, cancel := context.WithTimeout(w.ctx, 15*time.Second)
	defer cancel()
	base, err := g.WaitReady(ctx)
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	c, err := client.New(base)
	if err != nil {
		w.t.Fatal(err)
	}
	return c, g, stop
}

// pump reads s into a channel until s ends.
func pump(s *client.EventStream) <-chan *callapi.Event {
	ch := make(chan *callapi.Event, 1024)
	go func() {
		defer close(ch)
		for {
			e, err := s.Next()
			if err != nil {
				return
			}
			ch <- e
		}
	}()
	return ch
}

// until reads ch until an event satisfies stop (included), within 10 s.
func until(t *testing.T, ch <-chan *callapi.Event, what string, stop func(*callapi.Event) bool) []*callapi.Event {
	t.Helper()
	var got []*callapi.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended waiting for %s", what)
			}
			got = append(got, e)
			if stop(e) {
				return got
			}
		case <-timeout:
			t.Fatalf("no %s within 10s (%d events)", what, len(got))
		}
	}
}

func is(typ callapi.EventType, id callapi.CallID) func(*callapi.Event) bool {
	return func(e *callapi.Event) bool { return e.Type == typ && e.CallID == id }
}

func ids(es []*callapi.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e.Type) + " " + e.ID
	}
	return out
}

// TestResumeAcrossGatewaysAndRestart: behind a load balancer a client
// streams from gateway A, goes away, and resumes on gateway B with its
// Last-Event-ID (the SDK's cursor): it gets exactly the events it missed
// (compared with a stream that never broke), in order, then the live
// ones; then gateway A restarts and the client resumes on the new A from
// B's last cursor, again exactly; the restarted gateway reads the call
// records of calls that ended before it started the same as B; since=
// replays from a time. With CALLGW_AMQP_URL listing a cluster's nodes it
// runs there (docs/operations.md "A local cluster for tests"; by hand with
// one node stopped).
func TestResumeAcrossGatewaysAndRestart(t *testing.T) {
	w := newHistoryWorld(t)
	ctx := w.ctx
	cA, gA, stopA := w.gateway("gateway A")
	cB, gB, _ := w.gateway("gateway B")
	dial := func(c *client.Client) *callapi.Call {
		t.Helper()
		call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}})
		if err != nil {
			t.Fatal(err)
		}
		return call
	}
	hangup := func(c *client.Client, id callapi.CallID) {
		t.Helper()
		if err := c.Hangup(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	refS, err := cB.Events(ctx, client.EventFilter{}, client.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer refS.Close()
	ref := pump(refS)
	sA, err := cA.Events(ctx, client.EventFilter{}, client.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fromA := pump(sA)
	call1 := dial(cA)
	until(t, fromA, "call 1 answered on A", is(callapi.EvCallAnswered, call1.ID))
	cursor := sA.LastEventID()
	if !strings.Contains(cursor, ":") {
		t.Fatalf("A's last event id %q is not a history cursor", cursor)
	}
	_ = sA.Close()
	if stop := os.Getenv("CALLGW_TEST_NODE_STOP"); stop != "" {
		urlBefore := gA.Bus().State().URL
		// By hand on a cluster: the node everyone is connected to (and
		// the streams' leader) stops while the client is away.
		if start := os.Getenv("CALLGW_TEST_NODE_START"); start != "" {
			t.Cleanup(func() { shell(t, start) })
		}
		stopped := time.Now()
		shell(t, stop)
		testenv.WaitFor(t, "the gateways and the worker back on another node", 30*time.Second, func() bool {
			return gA.Ready() == nil && gB.Ready() == nil && w.worker.Ready() == nil && gA.Bus().State().URL != urlBefore
		})
		t.Logf("node stopped (%s); gateways and worker on %s after %v", stop, gA.Bus().State().URL, time.Since(stopped).Round(time.Millisecond))
	}

	// Missed while away: call 1's end, all of call 2.
	hangup(cA, call1.ID)
	call2 := dial(cA)
	hangup(cB, call2.ID)
	all := until(t, ref, "call 2's hang-up on the reference stream", is(callapi.EvCallHangup, call2.ID))
	_, lastID, _ := strings.Cut(cursor, ":")
	i := 0
	for i < len(all) && all[i].ID != lastID {
		i++
	}
	if i == len(all) {
		t.Fatalf("the reference stream never had the client's last event %s", lastID)
	}
	missed := all[i+1:]
	size := 0
	for _, e := range all {
		b, _ := json.Marshal(e)
		size += len(b)
	}
	t.Logf("%d events of 2 calls (and node events) on the reference stream, %d bytes of JSON", len(all), size)

	sB, err := cB.Events(ctx, client.EventFilter{}, client.StreamOptions{LastEventID: cursor})
	if err != nil {
		t.Fatal(err)
	}
	fromB := pump(sB)
	gotB := until(t, fromB, "call 2's hang-up resumed on B", is(callapi.EvCallHangup, call2.ID))
	if strings.Join(ids(gotB), "\n") != strings.Join(ids(missed), "\n") {
		t.Fatalf("resumed on B:\n%s\nmissed:\n%s", strings.Join(ids(gotB), "\n"), strings.Join(ids(missed), "\n"))
	}
	t.Logf("resumed on B with %d missed events", len(gotB))
	call3 := dial(cB) // live after the resume
	if got := until(t, fromB, "call 3 answered live on B", is(callapi.EvCallAnswered, call3.ID)); got[0].CallID != call3.ID {
		t.Fatalf("after the resume on B: %s first", strings.Join(ids(got), ", "))
	}
	cursorB := sB.LastEventID()
	_ = sB.Close()

	// A restarts: a gateway without memory resumes from B's cursor.
	stopA()
	hangup(cB, call3.ID)
	all = until(t, ref, "call 3's hang-up on the reference stream", is(callapi.EvCallHangup, call3.ID))
	_, lastB, _ := strings.Cut(cursorB, ":")
	i = 0
	for i < len(all) && all[i].ID != lastB {
		i++
	}
	if i == len(all) { // the reference had it before this read
		i = -1
	}
	missed = all[i+1:]
	cA2, _, _ := w.gateway("gateway A, restarted")
	sA2, err := cA2.Events(ctx, client.EventFilter{}, client.StreamOptions{LastEventID: cursorB})
	if err != nil {
		t.Fatal(err)
	}
	defer sA2.Close()
	gotA2 := until(t, pump(sA2), "call 3's hang-up resumed on the restarted A", is(callapi.EvCallHangup, call3.ID))
	if strings.Join(ids(gotA2), "\n") != strings.Join(ids(missed), "\n") {
		t.Fatalf("resumed on the restarted A:\n%s\nmissed:\n%s", strings.Join(ids(gotA2), "\n"), strings.Join(ids(missed), "\n"))
	}

	// Call records: the restarted A never saw call 1 end; it reads it as B does.
	for _, id := range []callapi.CallID{call1.ID, call2.ID} {
		onA, err := cA2.GetCall(ctx, id)
		if err != nil {
			t.Fatalf("call %s on the restarted A: %v", id, err)
		}
		onB, err := cB.GetCall(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(onA)
		jb, _ := json.Marshal(onB)
		switch {
		case onA.State != callapi.StateEnded || onA.AnsweredAt == nil || onA.EndReason != "api":
			t.Errorf("record of %s on the restarted A: %s", id, ja)
		case string(ja) != string(jb) && os.Getenv("CALLGW_TEST_NODE_STOP") != "":
			// B learns records from a server-named queue, which loses
			// what is published while it is declared again on another
			// node; the restarted A read them from the history.
			t.Logf("record of %s on B, which lived through the node's stop, differs from the history's:\n%s\n%s", id, jb, ja)
		case string(ja) != string(jb):
			t.Errorf("record of %s on the restarted A:\n%s\non B:\n%s", id, ja, jb)
		}
	}

	// since=: a client that was away replays from a time.
	sS, err := cA2.Events(ctx, client.EventFilter{Types: []callapi.EventType{callapi.EvCallHangup}}, client.StreamOptions{Since: began})
	if err != nil {
		t.Fatal(err)
	}
	defer sS.Close()
	got := until(t, pump(sS), "call 3's hang-up replayed since the start", is(callapi.EvCallHangup, call3.ID))
	if len(got) != 3 || got[0].CallID != call1.ID || got[1].CallID != call2.ID {
		t.Errorf("since the start: %s", strings.Join(ids(got), ", "))
	}
}

// shell runs a command line (the cluster script, by hand).
func shell(t *testing.T, line string) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s", line, err, out)
	}
}
