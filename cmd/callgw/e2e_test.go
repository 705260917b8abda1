package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/restapi"
	"github.com/callgw/callgw/webhook"
)

// brokerURL returns the test broker; without one the test fails under CI
// and is skipped on a developer machine.
func brokerURL(t *testing.T) string {
	t.Helper()
	u := testenv.BrokerURL()
	testenv.NeedBroker(t, u)
	return u
}

// system is a full system on the real broker: one gateway, one worker and
// one simulator per node, all on a test-unique name prefix.
type system struct {
	t      *testing.T
	url    string
	prefix string
	base   string
	gw     *stack.Gateway
	sims   map[string]*arisim.Server // the simulated nodes
	pbxs   map[string]pbx            // every node, simulated or real
	cancel context.CancelFunc
	auth   []config.AuthClient // token auth on when set
	cors   []string            // CALLGW_CORS_ORIGINS of the gateway
	// tenants are the tenants' node resource patterns (CALLGW_TENANTS_FILE)
	// of the gateway and the workers.
	tenants callapi.TenantScopes
	// stopWorker stops one node's worker gracefully and waits for it.
	stopWorker map[string]func()
	// httpAddr is the gateway's address when set (127.0.0.1:0 otherwise):
	// a gateway restarted by restartGateway keeps it.
	httpAddr string
	// restartGateway stops the gateway gracefully and starts another in
	// its place.
	restartGateway func()
}

func testLogger(t *testing.T) *zap.Logger {
	if os.Getenv("CALLGW_TEST_LOG") != "" {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}

func startStack(t *testing.T, nodes ...string) *system {
	t.Helper()
	return startStackAuth(t, nil, nodes...)
}

func startStackAuth(t *testing.T, auth []config.AuthClient, nodes ...string) *system {
	t.Helper()
	return startStackWith(t, &system{auth: auth}, nodes...)
}

// startStackWith starts a system whose gateway settings (auth, cors) come
// from s.
func startStackWith(t *testing.T, s *system, nodes ...string) *system {
	t.Helper()
	s.t, s.url, s.prefix, s.sims, s.pbxs, s.stopWorker = t, brokerURL(t), "t"+uuid.NewString()[:8]+".", map[string]*arisim.Server{}, map[string]pbx{}, map[string]func(){}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	done := make(chan struct{}, len(nodes)+1)
	log := testLogger(t)
	common := config.Common{AMQPURLs: []string{s.url}, LogLevel: "info", Prefix: s.prefix, Tenants: s.tenants}
	for _, n := range nodes {
		ariURL, ariUser, ariPass := "", "u", "p"
		if onRealPBX(n) {
			real := newARIPBX(t)
			s.pbxs[n] = real
			t.Cleanup(real.cleanup) // after the stack stopped (cleanups run last first)
			ariURL, ariUser, ariPass = realARI()
		} else {
			sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: n, SystemName: n})
			ts := httptest.NewServer(sim.Handler())
			s.sims[n], s.pbxs[n] = sim, simPBX{sim}
			t.Cleanup(func() { ts.Close(); sim.Close() })
			ariURL = ts.URL + "/ari"
		}
		w, err := stack.NewWorker(&config.Worker{Common: common, NodeID: n, ARIURL: ariURL, ARIUser: ariUser, ARIPassword: ariPass,
			ARIApp: "callgw", Tenant: callapi.DefaultTenant, HeartbeatInterval: 500 * time.Millisecond, Concurrency: 64}, log.Named(n))
		if err != nil {
			t.Fatal(err)
		}
		wctx, stopWorker := context.WithCancel(ctx)
		stopped := make(chan struct{})
		s.stopWorker[n] = func() { stopWorker(); <-stopped }
		go func() {
			defer func() { done <- struct{}{} }()
			defer close(stopped)
			if err := w.Run(wctx); err != nil {
				t.Errorf("worker %s: %v", n, err)
			}
		}()
	}
	s.startGateway(ctx, log, done)
	t.Cleanup(func() {
		cancel()
		for range len(nodes) + 1 {
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("stack did not stop within 15s")
				return
			}
		}
		deleteTopology(t, s.url, s.prefix)
	})
	return s
}

// deleteTopology removes the durable exchanges and queues a test declared
// under its prefix, so that test runs do not pile up on the shared broker
// (hundreds of leftover quorum queues exhaust a small broker's files).
func deleteTopology(t *testing.T, url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := amqpbus.DeleteTopology(ctx, url, prefix); err != nil {
		t.Logf("cleanup: %v", err)
	}
	// The webhook objects (callgw dev serves and delivers webhooks).
	conn, err := amqpbus.Dialer([]string{url}, "callgw test cleanup")(ctx)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	if err := webhook.DeleteAll(ctx, conn, webhook.Names{Prefix: prefix}); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

func (s *system) startGateway(ctx context.Context, log *zap.Logger, done chan struct{}) {
	t := s.t
	addr := s.httpAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	g, err := stack.NewGateway(&config.Gateway{Common: config.Common{AMQPURLs: []string{s.url}, LogLevel: "info", Prefix: s.prefix, Tenants: s.tenants},
		HTTPAddr: addr, DefaultTimeout: 5 * time.Second, MaxTimeout: 60 * time.Second,
		AuthClients: s.auth, AuthSigningKey: strings.Repeat("s", 32), AuthTokenTTL: time.Hour,
		CallRecords: 1000, CallRecordsTTL: time.Hour, CORSOrigins: s.cors}, log.Named("gateway"))
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer func() { done <- struct{}{} }()
		defer close(stopped)
		if err := g.Run(gctx); err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()
	s.restartGateway = func() {
		stop()
		<-stopped
		<-done // this gateway's, so that the stack's cleanup counts the next one
		s.startGateway(ctx, log, done)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	base, err := g.WaitReady(wctx)
	if err != nil {
		t.Fatalf("gateway not ready: %v", err)
	}
	s.gw, s.base = g, base
}

// spy is a queue the test declares and binds to an exchange, as a
// customer's program would.
type spy struct {
	t  *testing.T
	ch *amqp.Channel
	d  <-chan amqp.Delivery
}

func (s *system) spy(exchange string, keys ...string) *spy {
	t := s.t
	conn, err := amqp.DialConfig(s.url, amqp.Config{Properties: amqp.Table{"connection_name": "callgw e2e spy " + t.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		keys = []string{""}
	}
	for _, k := range keys {
		if err := ch.QueueBind(q.Name, k, s.prefix+exchange, false, nil); err != nil {
			t.Fatalf("bind %s to %s: %v", k, s.prefix+exchange, err)
		}
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &spy{t: t, ch: ch, d: d}
}

// next returns the next event for call id (skipping others) or fails.
func (sp *spy) next(id callapi.CallID, within time.Duration) *callapi.Event {
	sp.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case d := <-sp.d:
			var e callapi.Event
			if err := json.Unmarshal(d.Body, &e); err != nil {
				sp.t.Fatalf("undecodable event %s: %v", d.Body, err)
			}
			if e.CallID == id {
				return &e
			}
		case <-deadline:
			sp.t.Fatalf("no event for call %s within %v", id, within)
			return nil
		}
	}
}

// quiet asserts the spy receives nothing for d.
func (sp *spy) quiet(d time.Duration) {
	sp.t.Helper()
	select {
	case m := <-sp.d:
		sp.t.Fatalf("unexpected message %s %s", m.RoutingKey, m.Body)
	case <-time.After(d):
	}
}

func (s *system) do(method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("undecodable %s: %v", b, err)
	}
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func TestCallLifecycle(t *testing.T) {
	s := startStack(t, "pbx1")
	sp := s.spy(callapi.ExchangeEvents)

	st, hdr, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "node": "pbx1", "from": "100"})
	if st != http.StatusCreated {
		t.Fatalf("originate: %d %s", st, body)
	}
	var c callapi.Call
	mustJSON(t, body, &c)
	if c.ID == "" || c.Node != "pbx1" {
		t.Fatalf("originate answer: %s", body)
	}
	if loc := hdr.Get("Location"); !strings.HasSuffix(loc, "/v1/calls/"+string(c.ID)) {
		t.Errorf("Location = %q", loc)
	}
	if e := sp.next(c.ID, 5*time.Second); e.Type != callapi.EvCallCreated || e.Node != "pbx1" {
		t.Fatalf("first event = %s, want call.created", e.Type)
	}
	if e := sp.next(c.ID, 5*time.Second); e.Type != callapi.EvCallAnswered {
		t.Fatalf("second event = %s, want call.answered", e.Type)
	}

	st, _, body = s.do("GET", "/v1/calls/"+string(c.ID), nil)
	var got callapi.Call
	mustJSON(t, body, &got)
	if st != http.StatusOK || got.ID != c.ID || got.State != callapi.StateUp {
		t.Fatalf("get: %d %s", st, body)
	}
	st, _, body = s.do("GET", "/v1/calls", nil)
	if st != http.StatusOK || !strings.Contains(string(body), string(c.ID)) {
		t.Fatalf("list: %d %s", st, body)
	}

	st, _, body = s.do("DELETE", "/v1/calls/"+string(c.ID), nil)
	if st != http.StatusNoContent {
		t.Fatalf("hangup: %d %s", st, body)
	}
	e := sp.next(c.ID, 5*time.Second)
	if e.Type != callapi.EvCallHangup {
		t.Fatalf("after hangup: %s", e.Type)
	}

	// The call is gone from the node; its record remains.
	if rec := s.ended(c.ID); rec.EndReason != "api" || rec.Hangup == nil || rec.Hangup.Cause != 16 {
		t.Fatalf("record after hangup: %+v", rec)
	}
	st, _, body = s.do("GET", "/v1/calls", nil)
	if st != http.StatusOK || strings.Contains(string(body), string(c.ID)) {
		t.Fatalf("live list after hangup: %d %s", st, body)
	}
	_ = hdr
}

// ended waits until GET /v1/calls/{id} answers the call's record (the
// gateway learns the end from call.hangup, a moment after the node).
func (s *system) ended(id callapi.CallID) *callapi.Call {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _, body := s.do("GET", "/v1/calls/"+string(id), nil)
		var c callapi.Call
		if st == http.StatusOK {
			mustJSON(s.t, body, &c)
			if c.State == callapi.StateEnded {
				return &c
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("call %s: no ended record: %d %s", id, st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBusyOutcome(t *testing.T) {
	s := startStack(t, "pbx1")
	sp := s.spy(callapi.ExchangeEvents)
	st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/busy@callgw-test", "wait": "answered"})
	if st != http.StatusCreated {
		t.Fatalf("originate: %d %s", st, body)
	}
	var c callapi.Call
	mustJSON(t, body, &c)
	if c.Hangup == nil || c.Hangup.Cause != 17 {
		t.Fatalf("REST answer does not say busy: %s", body)
	}
	for {
		e := sp.next(c.ID, 5*time.Second)
		if e.Type != callapi.EvCallHangup {
			continue
		}
		var h callapi.HangupData
		mustJSON(t, e.Data, &h)
		if h.Cause != 17 {
			t.Fatalf("call.hangup cause = %d, want 17: %s", h.Cause, e.Data)
		}
		break
	}
	// No call is left behind: only its record.
	if rec := s.ended(c.ID); rec.Hangup == nil || rec.Hangup.Cause != 17 || rec.TalkMS != nil {
		t.Fatalf("busy call's record: %+v", rec)
	}
	_ = body
}

func TestNodeUnavailableFailsFast(t *testing.T) {
	s := startStack(t, "pbx1")
	start := time.Now()
	st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "node": "pbx9"})
	took := time.Since(start)
	var p problem
	mustJSON(t, body, &p)
	if st != http.StatusServiceUnavailable || p.Code != "node_unavailable" {
		t.Fatalf("unknown node: %d %s", st, body)
	}
	if took > time.Second {
		t.Fatalf("node_unavailable took %v, want < 1s", took)
	}
}

var _ = fmt.Sprint
var _ net.Addr

// TestEventStreamSSE reads GET /v1/events with a real HTTP client while a
// call lives and ends.
func TestEventStreamSSE(t *testing.T) {
	s := startStack(t, "pbx1")
	key := "sse-" + uuid.NewString()
	id := callapi.CallIDFor(callapi.CommandID(callapi.DefaultTenant, key))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events?call_id="+string(id), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan callapi.Event, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var e callapi.Event
				if json.Unmarshal([]byte(data), &e) == nil && e.Type != "" {
					events <- e
				}
			}
		}
	}()
	next := func() callapi.Event {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event on the stream within 5s")
		}
		return callapi.Event{}
	}
	// The stream is subscribed once the response headers came; originate.
	st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test"}, "Idempotency-Key", key)
	if st != http.StatusCreated {
		t.Fatalf("originate: %d %s", st, body)
	}
	var seq uint64
	for _, want := range []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered} {
		e := next()
		if e.Type != want || e.CallID != id || e.Seq <= seq {
			t.Fatalf("got %s (call %s, seq %d), want %s for %s after seq %d", e.Type, e.CallID, e.Seq, want, id, seq)
		}
		seq = e.Seq
	}
	if st, _, body := s.do("DELETE", "/v1/calls/"+string(id), nil); st != http.StatusNoContent {
		t.Fatalf("hangup: %d %s", st, body)
	}
	for {
		e := next()
		if e.CallID != id || e.Seq <= seq {
			t.Fatalf("foreign or out-of-order event: %+v", e)
		}
		seq = e.Seq
		if e.Type == callapi.EvCallHangup {
			break
		}
	}
}

// TestTwoNodes: calls on two nodes, listed together; a command for the
// pbx2 call reaches only pbx2's queue; a gateway started after the calls
// exist can still hang them up.
func TestTwoNodes(t *testing.T) {
	s := startStack(t, "pbx1", "pbx2")
	spy1 := s.spy(callapi.ExchangeCommands, "cmd.pbx1.#")
	ids := map[string]callapi.CallID{}
	for _, n := range []string{"pbx1", "pbx2"} {
		st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "node": n, "wait": "answered"})
		var c callapi.Call
		mustJSON(t, body, &c)
		if st != http.StatusCreated || string(c.Node) != n || c.State != callapi.StateUp {
			t.Fatalf("originate on %s: %d %s", n, st, body)
		}
		ids[n] = c.ID
	}
	spy1.drain()
	st, _, body := s.do("GET", "/v1/calls", nil)
	var list struct {
		Calls   []callapi.Call   `json:"calls"`
		Missing []callapi.NodeID `json:"missing_nodes"`
	}
	mustJSON(t, body, &list)
	if st != 200 || len(list.Calls) != 2 || len(list.Missing) != 0 {
		t.Fatalf("list: %d %s", st, body)
	}
	if st, _, body := s.do("GET", "/v1/calls?node=pbx2", nil); st != 200 || strings.Contains(string(body), string(ids["pbx1"])) || !strings.Contains(string(body), string(ids["pbx2"])) {
		t.Fatalf("list node=pbx2: %d %s", st, body)
	}

	// A second gateway, started now, knows nothing of these calls.
	late := &system{t: t, url: s.url, prefix: s.prefix}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 1)
	late.startGateway(ctx, testLogger(t), done)
	t.Cleanup(func() { cancel(); <-done })
	spy1.drain()
	if st, _, body := late.do("DELETE", "/v1/calls/"+string(ids["pbx2"]), nil); st != http.StatusNoContent {
		t.Fatalf("late gateway hangup on pbx2: %d %s", st, body)
	}
	// The locate broadcast (cmd.all.*) is seen by every node; the hangup
	// itself must not reach pbx1.
	spy1.noneMatching("cmd.pbx1.", 300*time.Millisecond)
	if rec := late.ended(ids["pbx2"]); rec.Node != "pbx2" {
		t.Fatalf("pbx2 call's record: %+v", rec)
	}
	if st, _, body := late.do("DELETE", "/v1/calls/"+string(ids["pbx1"]), nil); st != http.StatusNoContent {
		t.Fatalf("late gateway hangup on pbx1: %d %s", st, body)
	}
}

// drain discards what the spy received so far.
func (sp *spy) drain() {
	for {
		select {
		case <-sp.d:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// noneMatching fails if a message whose routing key starts with prefix
// arrives within d.
func (sp *spy) noneMatching(prefix string, d time.Duration) {
	sp.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-sp.d:
			if strings.HasPrefix(m.RoutingKey, prefix) {
				sp.t.Fatalf("unexpected %s %s", m.RoutingKey, m.Body)
			}
		case <-deadline:
			return
		}
	}
}

// TestIdempotentOriginate sends one originate with one Idempotency-Key
// three times, concurrently: exactly one call exists.
func TestIdempotentOriginate(t *testing.T) {
	s := startStack(t, "pbx1")
	key := "idem-" + uuid.NewString()
	type res struct {
		st   int
		body []byte
	}
	out := make(chan res, 3)
	for range 3 {
		go func() {
			st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test"}, "Idempotency-Key", key)
			out <- res{st, body}
		}()
	}
	var id callapi.CallID
	for range 3 {
		r := <-out
		if r.st != http.StatusCreated {
			t.Fatalf("originate: %d %s", r.st, r.body)
		}
		var c callapi.Call
		mustJSON(t, r.body, &c)
		if id != "" && c.ID != id {
			t.Fatalf("two call ids for one key: %s %s", id, c.ID)
		}
		id = c.ID
	}
	// And once more, after the first completed.
	st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test"}, "Idempotency-Key", key)
	if st != http.StatusCreated || !strings.Contains(string(body), string(id)) {
		t.Fatalf("retry: %d %s", st, body)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.pbx("pbx1").ChannelCount(); n != 2 { // one Local call = two channels (;1 and ;2)
		t.Fatalf("PBX has %d channels, want 2 (one Local call)", n)
	}
	st, _, body = s.do("GET", "/v1/calls", nil)
	if c := strings.Count(string(body), `"id"`); st != 200 || c != 1 {
		t.Fatalf("list shows %d calls: %s", c, body)
	}
}

// TestTenantIsolation: with token auth on, a tenant's token never sees or
// touches another tenant's calls or events (404, not 403).
func TestTenantIsolation(t *testing.T) {
	s := startTenants(t, "pbx1")
	token := s.token
	acme, beta := token("acme"), token("beta")

	if st, _, _ := s.do("GET", "/v1/calls", nil); st != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", st)
	}
	sp := s.spy(callapi.ExchangeEventsRouted, "beta.#")
	spAcme := s.spy(callapi.ExchangeEventsRouted, "acme.#")
	st, _, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}, "Authorization", acme)
	if st != http.StatusCreated {
		t.Fatalf("originate as acme: %d %s", st, body)
	}
	var c callapi.Call
	mustJSON(t, body, &c)
	if c.Tenant != "acme" {
		t.Fatalf("call tenant = %q", c.Tenant)
	}
	if e := spAcme.next(c.ID, 5*time.Second); e.Tenant != "acme" {
		t.Fatalf("acme binding got %+v", e)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/calls/" + string(c.ID)},
		{"DELETE", "/v1/calls/" + string(c.ID)},
	} {
		if st, _, body := s.do(tc.method, tc.path, nil, "Authorization", beta); st != http.StatusNotFound {
			t.Fatalf("beta %s %s: %d %s, want 404", tc.method, tc.path, st, body)
		}
	}
	if st, _, body := s.do("GET", "/v1/calls", nil, "Authorization", beta); st != 200 || strings.Contains(string(body), string(c.ID)) {
		t.Fatalf("beta list: %d %s", st, body)
	}
	if st, _, _ := s.do("GET", "/v1/calls/"+string(c.ID), nil, "Authorization", acme); st != 200 {
		t.Fatalf("acme get: %d", st)
	}
	if st, _, _ := s.do("DELETE", "/v1/calls/"+string(c.ID), nil, "Authorization", acme); st != http.StatusNoContent {
		t.Fatalf("acme hangup: %d", st)
	}
	sp.quiet(300 * time.Millisecond) // none of acme's events reached beta's binding
}

// TestAsyncOriginate: Prefer: respond-async answers 202 with the command
// id at once; the outcome arrives as a command.completed event.
func TestAsyncOriginate(t *testing.T) {
	s := startStack(t, "pbx1")
	sp := s.spy(callapi.ExchangeEventsRouted, "default.*.command.completed.*")
	st, hdr, body := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}, "Prefer", "respond-async")
	if st != http.StatusAccepted || !strings.Contains(hdr.Get("Preference-Applied"), "respond-async") {
		t.Fatalf("async originate: %d %v %s", st, hdr, body)
	}
	var acc callapi.Accepted
	mustJSON(t, body, &acc)
	if acc.CommandID == "" || acc.CallID == "" {
		t.Fatalf("accepted: %s", body)
	}
	select {
	case d := <-sp.d:
		var e callapi.Event
		mustJSON(t, d.Body, &e)
		var done callapi.CommandCompletedData
		mustJSON(t, e.Data, &done)
		if done.CommandID != acc.CommandID || done.Reply == nil || !done.Reply.OK {
			t.Fatalf("command.completed: %s", d.Body)
		}
		var c callapi.Call
		if err := done.Reply.Decode(&c); err != nil || c.ID != acc.CallID || c.State != callapi.StateUp {
			t.Fatalf("completed call: %+v %v", c, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no command.completed within 5s")
	}
}

// startTenants starts a system with token auth on and two clients, of
// tenants acme and beta, with every scope but admin.
func startTenants(t *testing.T, nodes ...string) *system {
	t.Helper()
	return startTenantsWith(t, nil, nodes...)
}

// startTenantsWith is startTenants with the tenants' node resource
// patterns.
func startTenantsWith(t *testing.T, tenants callapi.TenantScopes, nodes ...string) *system {
	t.Helper()
	var clients []config.AuthClient
	for _, tenant := range []string{"acme", "beta"} {
		h, err := restapi.HashSecret(tenant + "-secret-0123456789")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, config.AuthClient{ID: tenant + "-app", SecretHash: h, Tenant: tenant,
			Scopes: []string{"calls:read", "calls:write", "events:read", "nodes:read"}})
	}
	return startStackWith(t, &system{auth: clients, tenants: tenants}, nodes...)
}

// token obtains a bearer token for a tenant of startTenants, as an
// Authorization header value.
func (s *system) token(tenant string) string {
	s.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {tenant + "-app"}, "client_secret": {tenant + "-secret-0123456789"}}
	resp, err := http.PostForm(s.base+"/oauth/token", form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		s.t.Fatalf("token for %s: %d %v", tenant, resp.StatusCode, err)
	}
	return "Bearer " + tok.AccessToken
}
