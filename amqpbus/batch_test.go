package amqpbus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

func batchOn(c *Config) { c.Batching = BatchOn }

// Under load, requests to one node gather into batches and replies into
// reply batches; every requester gets its own reply.
func TestBatchGathersUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = 2 * time.Millisecond
	wk := e.worker("pbx1", rec, ServeOptions{NoAny: true}, nil)
	gw := e.bus("gateway", batchOn)

	const n, rounds = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, n*rounds)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				cmd := cmdOf(callapi.ActCallGet, fmt.Sprintf("c%d", g))
				rep, err := gw.Request(ctxFor(t, 10*time.Second), "pbx1", cmd)
				if err != nil {
					errs <- fmt.Errorf("request %d/%d: %w", g, i, err)
					return
				}
				var res map[string]string
				if err := rep.Decode(&res); err != nil || res["echo"] != cmd.ID || rep.ID != cmd.ID {
					errs <- fmt.Errorf("request %d/%d: reply %+v for %s", g, i, rep, cmd.ID)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	gs, ws := gw.Stats(), wk.Stats()
	t.Logf("gateway: %d batches carrying %d commands, %d waits; worker: %d reply batches carrying %d replies",
		gs.Batches, gs.BatchedCommands, gs.BatchWaits, ws.ReplyBatches, ws.BatchedReplies)
	if gs.Batches == 0 || gs.BatchedCommands < 2*gs.Batches {
		t.Fatalf("no batching under load: %+v", gs)
	}
	if ws.ReplyBatches == 0 {
		t.Fatalf("no reply batching under load: %+v", ws)
	}
	if gs.UnknownReplies != 0 || gs.BadReplies != 0 {
		t.Fatalf("stray replies: %+v", gs)
	}
}

// rawBatch publishes a batch of commands to target by hand, as another
// AMQP client could, and returns the replies it gets (by command id)
// within d, once want of them came.
func rawBatch(t *testing.T, e *env, target string, cmds []batchCommand, want int, d time.Duration) map[string]*callapi.Reply {
	t.Helper()
	replies := publishRawBatch(t, e, target, cmds)
	got := map[string]*callapi.Reply{}
	timeout := time.After(d)
	for len(got) < want {
		select {
		case m := <-replies:
			if m.Type == TypeBatch {
				reps, bad, err := decodeReplies(m.Body)
				if err != nil || bad != 0 {
					t.Fatalf("reply batch: %v (%d bad)", err, bad)
				}
				for _, r := range reps {
					got[r.ID] = r
				}
				continue
			}
			r, err := decodeReply(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if m.CorrelationId != r.ID {
				t.Fatalf("reply correlation id %q for %q", m.CorrelationId, r.ID)
			}
			got[r.ID] = r
		case <-timeout:
			return got
		}
	}
	return got
}

// publishRawBatch publishes the batch and returns its direct replies.
func publishRawBatch(t *testing.T, e *env, target string, cmds []batchCommand) <-chan amqp.Delivery {
	t.Helper()
	ch := rawChannel(t)
	replies, err := ch.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(batchBody{V: 2, Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	err = ch.PublishWithContext(ctxFor(t, 5*time.Second), e.names.Commands, "cmd."+target+".batch", true, false, amqp.Publishing{
		ContentType: contentJSON, Type: TypeBatch, MessageId: newID(), ReplyTo: directReplyTo, Body: body,
	})
	if err != nil {
		t.Fatal(err)
	}
	return replies
}

func item(a callapi.Action, call string, deadline time.Time) batchCommand {
	c := cmdOf(a, call)
	return batchCommand{Command: *c, DeadlineMS: deadline.UnixMilli()}
}

// An expired item never runs; the others of its batch do. A malformed
// item is answered invalid_argument and never runs. A duplicate item is
// answered from memory (run once).
func TestBatchItemsOneByOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	e.worker("pbx1", rec, ServeOptions{NoAny: true}, nil)

	live := time.Now().Add(10 * time.Second)
	expired := item(callapi.ActCallHangup, "c1", time.Now().Add(-time.Second))
	ok1 := item(callapi.ActCallGet, "c2", live)
	dup := ok1
	noAction := item("", "c3", live)
	badTenant := item(callapi.ActCallGet, "c4", live)
	badTenant.Tenant = "a.b"
	ok2 := item(callapi.ActCallHangup, "c5", live)
	got := rawBatch(t, e, "pbx1", []batchCommand{expired, ok1, noAction, dup, badTenant, ok2}, 4, 3*time.Second)

	if rec.count(expired.ID) != 0 {
		t.Fatal("the expired item ran")
	}
	if _, ok := got[expired.ID]; ok {
		t.Fatal("the expired item was answered")
	}
	for _, c := range []batchCommand{ok1, ok2} {
		if r := got[c.ID]; r == nil || !r.OK || rec.count(c.ID) != 1 {
			t.Fatalf("item %s: reply %+v, ran %d times", c.Action, r, rec.count(c.ID))
		}
	}
	for _, c := range []batchCommand{noAction, badTenant} {
		r := got[c.ID]
		if r == nil || r.OK || r.Error.Code != callapi.CodeInvalidArgument || rec.count(c.ID) != 0 {
			t.Fatalf("bad item %+v: reply %+v, ran %d times", c.Command, r, rec.count(c.ID))
		}
	}
}

// Commands of one call keep their order across batches (small batches,
// a full window, a slow handler so that lanes matter).
func TestBatchKeepsPerCallOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = time.Millisecond
	e.worker("pbx1", rec, ServeOptions{NoAny: true}, nil)
	gw := e.bus("gateway", func(c *Config) { c.Batching, c.BatchMax = BatchOn, 3 })

	const calls, per = 8, 12
	r := gw.batchRoute("pbx1", cmdOf(callapi.ActCallGet, "x"))
	if r == nil {
		t.Fatal("no batch route")
	}
	want := map[callapi.CallID][]string{}
	var qs []*queued
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range per {
		for c := range calls {
			cmd := cmdOf(callapi.ActCallHangup, fmt.Sprintf("call%d", c))
			cmd.Deadline, _ = ctx.Deadline()
			want[cmd.CallID] = append(want[cmd.CallID], cmd.ID)
			q := &queued{cmd: cmd, c: gw.pending.add(cmd.ID, 1, false), w: &pubWaiter{msgID: cmd.ID, done: make(chan pubResult, 1), quiet: true}}
			qs = append(qs, q)
			r.enqueue(q) // in this order, as requests arriving one after the other
		}
	}
	for _, q := range qs {
		rep, lost, err := gw.await(ctx, "test", "pbx1", q.w, q.c)
		q.done()
		gw.pending.remove(q.c)
		if err != nil || lost != nil || !rep.OK {
			t.Fatalf("%s: %+v %v %v", q.cmd.ID, rep, lost, err)
		}
	}
	if gw.Stats().Batches < 2 {
		t.Fatalf("want several batches, got %+v", gw.Stats())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for call, ids := range want {
		if fmt.Sprint(rec.order[call]) != fmt.Sprint(ids) {
			t.Fatalf("call %s ran %v, sent %v", call, rec.order[call], ids)
		}
	}
}

// A batch nobody routes fails each of its items with node_unavailable at
// once.
func TestBatchUnroutableFailsEachItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", batchOn)
	const n = 32
	var wg sync.WaitGroup
	start := time.Now()
	codes := make(chan callapi.Code, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := gw.Request(ctxFor(t, 5*time.Second), "ghost", cmdOf(callapi.ActCallGet, fmt.Sprint(i)))
			codes <- callapi.ErrorCode(err)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != callapi.CodeNodeUnavailable {
			t.Fatalf("item failed with %q, want node_unavailable", c)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v, want at once", d)
	}
}

// Creating commands never travel in a batch; a batch from another client
// that holds one is acked before anything runs, so a worker killed
// mid-batch never runs it twice (the shared queue would redeliver an
// unacked message to the next worker).
func TestBatchWithCreateRunsAtMostOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", batchOn)
	if gw.batchRoute("pbx1", cmdOf(callapi.ActCallOriginate, "")) != nil {
		t.Fatal("an originate would be batched")
	}

	started := make(chan struct{}, 4)
	block := make(chan struct{})
	defer close(block)
	first := newRecorder("pbx1")
	slow := handlerFunc(func(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
		first.Handle(ctx, cmd)
		started <- struct{}{}
		select {
		case <-block:
		case <-ctx.Done():
		}
		return callapi.OKReply(cmd.ID, "pbx1", nil)
	})
	e.worker("pbx1", slow, ServeOptions{}, nil)

	orig := item(callapi.ActCallOriginate, "", time.Now().Add(20*time.Second))
	get := item(callapi.ActCallGet, "c9", time.Now().Add(20*time.Second))
	publishRawBatch(t, e, "any", []batchCommand{orig, get})
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the batch did not run")
		}
	}
	// Kill the first worker's connection mid-batch; a second worker takes
	// over the shared queue: nothing may be redelivered to it.
	second := newRecorder("pbx2")
	e.worker("pbx2", second, ServeOptions{}, nil)
	if n := e.closeConnections("worker pbx1"); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	time.Sleep(500 * time.Millisecond)
	if second.count(orig.ID) != 0 || second.count(get.ID) != 0 || first.count(orig.ID) != 1 {
		t.Fatalf("originate ran %d+%d times", first.count(orig.ID), second.count(orig.ID))
	}
}

// A gateway in auto mode batches to a node only once its heartbeat says
// it speaks version 2; a worker's bus announces it.
func TestBatchNegotiatedByHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", func(c *Config) { c.Batching = BatchAuto })
	heard := make(chan callapi.NodeID, 8)
	if _, err := gw.SubscribeHeartbeats(ctxFor(t, 5*time.Second), func(hb *callapi.Heartbeat) { heard <- hb.Node }); err != nil {
		t.Fatal(err)
	}
	cmd := cmdOf(callapi.ActCallGet, "c1")
	if gw.batchRoute("pbx1", cmd) != nil {
		t.Fatal("batching to a node never heard")
	}
	old := e.bus("old pbx0", nil) // not serving commands: announces nothing
	wk := e.worker("pbx1", newRecorder("pbx1"), ServeOptions{NoAny: true}, nil)
	for _, b := range []struct {
		bus  *Bus
		node callapi.NodeID
	}{{old, "pbx0"}, {wk, "pbx1"}} {
		if err := b.bus.PublishHeartbeat(ctxFor(t, 5*time.Second), &callapi.Heartbeat{Node: b.node, State: callapi.NodeUp, IntervalMS: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	for seen := map[callapi.NodeID]bool{}; len(seen) < 2; {
		select {
		case n := <-heard:
			seen[n] = true
		case <-time.After(5 * time.Second):
			t.Fatal("heartbeats not heard")
		}
	}
	if gw.batchRoute("pbx0", cmd) != nil {
		t.Fatal("batching to a version 1 node")
	}
	if gw.batchRoute("pbx1", cmd) == nil {
		t.Fatal("not batching to a version 2 node")
	}
}

// A gateway bus stopping with requests still queued on a route (window
// full, slow worker) returns promptly and fails them; nothing waits for
// their deadlines.
func TestBatchRouteStopsWithTheBus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	block := make(chan struct{})
	defer close(block)
	slow := handlerFunc(func(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return callapi.OKReply(cmd.ID, "pbx1", nil)
	})
	e.worker("pbx1", slow, ServeOptions{NoAny: true}, nil)
	cfg := e.config("gateway")
	cfg.Batching, cfg.BatchHold = BatchOn, time.Minute
	gw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- gw.Run(ctx) }()
	if err := gw.Ready(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := gw.Request(ctxFor(t, 30*time.Second), "pbx1", cmdOf(callapi.ActCallGet, fmt.Sprint(i)))
			errs <- err
		}()
	}
	time.Sleep(300 * time.Millisecond) // two batches in flight, the rest queued
	start := time.Now()
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		t.Fatal("Run did not return with requests queued on a route")
	}
	for range n {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("a request succeeded though its worker never answered")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a request still waits after Run returned")
		}
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("stopping took %v", d)
	}
}

// A request never waits past its own deadline for another request's
// publish: with the broker away, a batch waits to be written until the
// last deadline of its requests, holding its route's writer; a later
// request with a shorter deadline that gets the other window slot is
// answered node_unavailable at its own deadline, not at the other's.
func TestBatchRequestNotHeldByAnothersPublish(t *testing.T) {
	t.Parallel()
	// Nothing listens there: the bus never connects, as while the
	// broker is away.
	gw, err := New(Config{URLs: []string{"amqp://guest:guest@127.0.0.1:1/"}, Batching: BatchOn, Prefix: "tnone."})
	if err != nil {
		t.Fatal(err)
	}
	long := make(chan error, 1)
	go func() {
		_, err := gw.Request(ctxFor(t, 3*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "long"))
		long <- err
	}()
	time.Sleep(100 * time.Millisecond) // the long one holds the route's writer
	start := time.Now()
	_, err = gw.Request(ctxFor(t, 300*time.Millisecond), "pbx1", cmdOf(callapi.ActCallGet, "short"))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the short request was answered after %v, past its 300ms deadline", d)
	}
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Errorf("short request: %v, want node_unavailable (nothing was sent)", err)
	}
	if err := <-long; callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Errorf("long request: %v, want node_unavailable", err)
	}
}
