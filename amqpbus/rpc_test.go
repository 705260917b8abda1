package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

func TestRequestReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	e.worker("pbx1", rec, ServeOptions{}, nil)
	gw := e.bus("gateway", nil)

	for _, target := range []callapi.Target{"pbx1", callapi.TargetAny} {
		cmd := cmdOf(callapi.ActCallGet, "c1")
		rep, err := gw.Request(ctxFor(t, 5*time.Second), target, cmd)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		var res map[string]string
		if err := rep.Decode(&res); err != nil || res["echo"] != cmd.ID || rep.Node != "pbx1" || rep.ID != cmd.ID {
			t.Fatalf("%s: reply %+v res %v err %v", target, rep, res, err)
		}
	}

	// A failed reply comes back as a reply, its error decodable.
	e2 := e.bus("worker pbx2", nil)
	if err := e2.ServeCommands("pbx2", handlerFunc(func(_ context.Context, cmd *callapi.Command) *callapi.Reply {
		return callapi.ErrReply(cmd.ID, "pbx2", callapi.Invalid("to", "bad"))
	}), ServeOptions{NoAny: true}); err != nil {
		t.Fatal(err)
	}
	e.waitServing(e2)
	rep, err := gw.Request(ctxFor(t, 5*time.Second), "pbx2", cmdOf(callapi.ActCallHangup, "c2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); callapi.ErrorCode(err) != callapi.CodeInvalidArgument || callapi.ErrorField(err) != "to" {
		t.Fatalf("reply error %v (%s)", err, callapi.ErrorCode(err))
	}
}

func TestNoRouteIsNodeUnavailableAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", nil)

	start := time.Now()
	_, err := gw.Request(ctxFor(t, 5*time.Second), "ghost", cmdOf(callapi.ActCallGet, "c1"))
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("Request to a node nobody serves: %v (%s), want node_unavailable", err, callapi.ErrorCode(err))
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("node_unavailable took %v, want well under a second", d)
	}
	if err := gw.Send(ctxFor(t, 5*time.Second), "ghost", cmdOf(callapi.ActCallHangup, "c1")); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("Send: %v, want node_unavailable", err)
	}
	if _, err := gw.Gather(ctxFor(t, 5*time.Second), cmdOf(callapi.ActCallList, ""), []callapi.NodeID{"ghost"}); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("Gather with no worker: %v, want node_unavailable", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("three returns took %v", d)
	}
	if gw.Stats().Returned < 3 {
		t.Fatalf("returned counter %d", gw.Stats().Returned)
	}
}

func TestNodeQueueLivesWithItsWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", nil)
	cfg := e.config("worker pbx1")
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ServeCommands("pbx1", newRecorder("pbx1"), ServeOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := runBus(t, w)
	t.Cleanup(stop)
	e.waitServing(w)
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatal(err)
	}
	stop()
	start := time.Now()
	_, err = gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c"))
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || time.Since(start) > time.Second {
		t.Fatalf("after the worker left: %v after %v, want node_unavailable at once", err, time.Since(start))
	}
}

func TestSecondWorkerForSameNodeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	e.worker("pbx1", rec, ServeOptions{NoAny: true}, nil)
	other := newRecorder("pbx1")
	b2 := e.bus("worker pbx1 second", nil)
	if err := b2.ServeCommands("pbx1", other, ServeOptions{NoAny: true}); err != nil {
		t.Fatal(err)
	}
	gw := e.bus("gateway", nil)
	for i := 0; i < 10; i++ {
		if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(other.runs); n != 0 {
		t.Fatalf("second worker for pbx1 ran %d commands", n)
	}
}

func TestExpiredCommandIsDeadLetteredNeverRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		prefetch int // 1: expires in the broker; 64: the worker checks x-deadline
	}{{"broker TTL", 1}, {"worker deadline check", 64}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			rec := newRecorder("pbx1")
			rec.delay = 700 * time.Millisecond
			e.worker("pbx1", rec, ServeOptions{Concurrency: 1, NoAny: true}, func(c *Config) { c.Prefetch = tc.prefetch })
			gw := e.bus("gateway", nil)

			slow := cmdOf(callapi.ActCallHangup, "c1")
			if err := gw.Send(ctxFor(t, 5*time.Second), "pbx1", slow); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the slow one is running
			late := cmdOf(callapi.ActCallHangup, "c2")
			_, err := gw.Request(ctxFor(t, 200*time.Millisecond), "pbx1", late)
			if callapi.ErrorCode(err) != callapi.CodeTimeout {
				t.Fatalf("Request past its deadline: %v, want timeout", err)
			}
			d, ok := e.waitDead(late.ID, 5*time.Second)
			if !ok {
				t.Fatalf("expired command %s not in %s", late.ID, e.names.DeadQueue)
			}
			if reason, _ := d.Headers["x-first-death-reason"].(string); reason != "expired" && reason != "rejected" {
				t.Fatalf("dead-letter reason %q", reason)
			}
			time.Sleep(200 * time.Millisecond)
			if n := rec.count(late.ID); n != 0 {
				t.Fatalf("expired command ran %d times", n)
			}
			if rec.count(slow.ID) != 1 {
				t.Fatalf("slow command ran %d times", rec.count(slow.ID))
			}
		})
	}
}

func TestDuplicateAnsweredFromMemory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	w := e.worker("pbx1", rec, ServeOptions{}, nil)
	gw := e.bus("gateway", nil)

	for _, a := range []callapi.Action{callapi.ActCallGet, callapi.ActCallOriginate} {
		cmd := cmdOf(a, "c-"+string(a))
		first, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmd)
		if err != nil {
			t.Fatal(err)
		}
		again := *cmd
		again.Deadline = time.Time{}
		second, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", &again)
		if err != nil {
			t.Fatal(err)
		}
		if string(first.Result) != string(second.Result) || !second.OK {
			t.Fatalf("%s: duplicate answered %+v, first %+v", a, second, first)
		}
		if n := rec.count(cmd.ID); n != 1 {
			t.Fatalf("%s: ran %d times, want once", a, n)
		}
	}
	if w.Stats().Duplicates != 2 {
		t.Fatalf("duplicates counter %d, want 2", w.Stats().Duplicates)
	}

	// The same id for another action is a conflict, not a cached answer.
	cmd := cmdOf(callapi.ActCallGet, "c9")
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmd); err != nil {
		t.Fatal(err)
	}
	other := &callapi.Command{ID: cmd.ID, Action: callapi.ActCallHangup, Tenant: "acme", CallID: "c9"}
	rep, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", other)
	if err != nil {
		t.Fatal(err)
	}
	if callapi.ErrorCode(rep.Err()) != callapi.CodeConflict {
		t.Fatalf("id reused for another action: %+v", rep)
	}
}

func TestConcurrentDuplicateCreateRunsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = 300 * time.Millisecond
	e.worker("pbx1", rec, ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	// Different call ids so the scheduler would run them side by side:
	// only the memory of "in progress" keeps the second copy from running.
	id := newID()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := &callapi.Command{ID: id, Action: callapi.ActCallOriginate, Tenant: "acme"}
			rep, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmd)
			if err == nil && !rep.OK {
				err = rep.Err()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rec.count(id); n != 1 {
		t.Fatalf("originate ran %d times, want once", n)
	}
}

func TestPoisonMessageDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	runs := map[string]int{}
	w := e.worker("pbx1", handlerFunc(func(_ context.Context, cmd *callapi.Command) *callapi.Reply {
		mu.Lock()
		runs[cmd.ID]++
		mu.Unlock()
		if cmd.Action == callapi.ActCallHangup {
			panic("handler bug")
		}
		return callapi.OKReply(cmd.ID, "pbx1", nil)
	}), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	ch := rawChannel(t)

	// Undecodable: dead-lettered at once, logged with its id.
	for _, key := range []string{"cmd.any.call.get", "cmd.pbx1.call.get"} {
		id := "poison-" + newID()
		if err := ch.Publish(e.names.Commands, key, true, false, amqp.Publishing{
			MessageId: id, ContentType: contentJSON, Body: []byte(`{"id": 42, garbage`),
		}); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.waitDead(id, 5*time.Second); !ok {
			t.Fatalf("poison %s (%s) not dead-lettered", id, key)
		}
	}
	if w.Stats().Poison < 2 {
		t.Fatalf("poison counter %d", w.Stats().Poison)
	}

	// A command that crashes its handler: retried up to the delivery
	// limit on the shared queue, then dead-lettered with an error reply.
	cmd := cmdOf(callapi.ActCallHangup, "c1")
	rep, err := gw.Request(ctxFor(t, 10*time.Second), callapi.TargetAny, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if callapi.ErrorCode(rep.Err()) != callapi.CodeInternal {
		t.Fatalf("reply %+v, want internal", rep)
	}
	if _, ok := e.waitDead(cmd.ID, 5*time.Second); !ok {
		t.Fatalf("crashing command not dead-lettered")
	}
	mu.Lock()
	n := runs[cmd.ID]
	mu.Unlock()
	if n != w.cfg.DeliveryLimit {
		t.Fatalf("crashing command ran %d times, want the delivery limit %d", n, w.cfg.DeliveryLimit)
	}
}

func TestQuorumDeliveryLimitDeadLetters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", func(c *Config) { c.DeliveryLimit = 2 })
	ch := rawChannel(t)
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	// A consumer that always gives the message back, as a crashing worker would.
	ds, err := ch.Consume(e.names.Any, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := cmdOf(callapi.ActCallGet, "c1")
	if err := gw.Send(ctxFor(t, 5*time.Second), callapi.TargetAny, cmd); err != nil {
		t.Fatal(err)
	}
	deliveries := 0
	timeout := time.After(10 * time.Second)
loop:
	for {
		select {
		case d := <-ds:
			deliveries++
			_ = d.Nack(false, true)
		case <-time.After(time.Second): // quiet for a second: no more redeliveries
			if deliveries > 0 {
				break loop
			}
		case <-timeout:
			break loop
		}
	}
	if deliveries != 3 {
		t.Fatalf("delivered %d times, want 3 (x-delivery-limit 2)", deliveries)
	}
	d, ok := e.waitDead(cmd.ID, 5*time.Second)
	if !ok {
		t.Fatal("not dead-lettered after the delivery limit")
	}
	if r := d.Headers["x-first-death-reason"]; r != "delivery_limit" {
		t.Fatalf("dead-letter reason %v", r)
	}
}

func TestOrderPerCallConcurrencyAcrossCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = 30 * time.Millisecond // long enough for calls to overlap on a loaded machine
	e.worker("pbx1", rec, ServeOptions{Concurrency: 4}, nil)
	gw := e.bus("gateway", nil)

	calls := []string{"a", "b", "c", "d", "e", "f"}
	want := map[callapi.CallID][]string{}
	for i := 0; i < 15; i++ {
		for _, c := range calls {
			cmd := cmdOf(callapi.ActCallHangup, c)
			want[cmd.CallID] = append(want[cmd.CallID], cmd.ID)
			if err := gw.Send(ctxFor(t, 5*time.Second), "pbx1", cmd); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		n := 0
		for _, o := range rec.order {
			n += len(o)
		}
		rec.mu.Unlock()
		if n == 15*len(calls) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ran %d of %d", n, 15*len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for c, ids := range want {
		if got := rec.order[c]; !equal(got, ids) {
			t.Fatalf("call %s ran out of order:\n got %v\nwant %v", c, got, ids)
		}
	}
	if p := rec.peak.Load(); p < 2 || p > 4 {
		t.Fatalf("peak concurrency %d, want 2..4", p)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGather(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	e.worker("pbx2", newRecorder("pbx2"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)

	start := time.Now()
	reps, err := gw.Gather(ctxFor(t, 5*time.Second), cmdOf(callapi.ActCallList, ""), []callapi.NodeID{"pbx1", "pbx2"})
	if err != nil || len(reps) != 2 {
		t.Fatalf("Gather: %d replies, %v", len(reps), err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Gather did not finish early: %v", time.Since(start))
	}
	// A node that never answers: what arrived, at the deadline, no error.
	start = time.Now()
	reps, err = gw.Gather(ctxFor(t, 400*time.Millisecond), cmdOf(callapi.ActCallList, ""), []callapi.NodeID{"pbx1", "pbx2", "pbx3"})
	if err != nil || len(reps) != 2 {
		t.Fatalf("Gather with a silent node: %d replies, %v", len(reps), err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Gather with a silent node returned after %v", d)
	}
}

func TestSendPublishesCommandCompleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	got := make(chan *callapi.Event, 4)
	sub, err := gw.SubscribeEvents(ctxFor(t, 5*time.Second), []string{"acme.*.command.#"}, func(ev *callapi.Event) { got <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	cmd := cmdOf(callapi.ActCallHangup, "c1")
	if err := gw.Send(ctxFor(t, 5*time.Second), "pbx1", cmd); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		var d callapi.CommandCompletedData
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.CommandID != cmd.ID || d.Reply == nil || !d.Reply.OK {
			t.Fatalf("command.completed %+v: %+v %v", ev, d, err)
		}
		if ev.Type != callapi.EvCommandCompleted || ev.Node != "pbx1" || ev.Tenant != "acme" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no command.completed event")
	}
}

func TestUnknownReplyDroppedAndCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = 300 * time.Millisecond
	e.worker("pbx1", handlerFunc(func(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
		time.Sleep(300 * time.Millisecond) // ignores its deadline on purpose
		return callapi.OKReply(cmd.ID, "pbx1", nil)
	}), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := gw.Request(ctx, "pbx1", cmdOf(callapi.ActCallGet, "c"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Request: %v", err)
	}
	gw.pending.mu.Lock()
	n := len(gw.pending.m)
	gw.pending.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d pending entries left after cancel", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for gw.Stats().UnknownReplies == 0 {
		if time.Now().After(deadline) {
			t.Fatal("late reply not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChannelErrorKeepsConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	before := gw.State()
	for i := 0; i < 2*gw.cfg.PublishChannels; i++ {
		err := gw.publishConfirmed(ctxFor(t, 2*time.Second), "test", e.prefix+"no-such-exchange", "x", false,
			amqp.Publishing{MessageId: newID(), Body: []byte("{}")})
		if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
			t.Fatalf("publish to a missing exchange: %v", err)
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
			t.Fatalf("after channel errors: %v", err)
		}
	}
	after := gw.State()
	if !after.Connected || after.Reconnects != before.Reconnects || !after.Since.Equal(before.Since) {
		t.Fatalf("a channel error took the connection down: %+v -> %+v", before, after)
	}
}

func TestBlockedConnectionFailsAtDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	// Simulate connection.blocked (a real alarm would block every test
	// on the shared broker).
	gw.mu.Lock()
	s := gw.sess
	gw.mu.Unlock()
	gw.setBlocked(s, amqp.Blocking{Active: true, Reason: "memory (test)"})
	if !gw.State().Blocked {
		t.Fatal("state not blocked")
	}
	start := time.Now()
	_, err := gw.Request(ctxFor(t, 300*time.Millisecond), "pbx1", cmdOf(callapi.ActCallGet, "c"))
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("blocked: %v after %v", err, time.Since(start))
	}
	go func() { time.Sleep(200 * time.Millisecond); gw.setBlocked(s, amqp.Blocking{Active: false}) }()
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
}

func TestStopAny(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	if _, err := gw.Request(ctxFor(t, 5*time.Second), callapi.TargetAny, cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatal(err)
	}
	w.StopAny()
	_, err := gw.Request(ctxFor(t, 400*time.Millisecond), callapi.TargetAny, cmdOf(callapi.ActCallGet, "c"))
	if callapi.ErrorCode(err) != callapi.CodeTimeout {
		t.Fatalf("any after StopAny: %v, want timeout (nobody takes shared work)", err)
	}
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c")); err != nil {
		t.Fatalf("node queue after StopAny: %v", err)
	}
}

func TestGracefulShutdownDrains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	rec.delay = 400 * time.Millisecond
	cfg := e.config("worker pbx1")
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ServeCommands("pbx1", rec, ServeOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := runBus(t, w)
	t.Cleanup(stop)
	e.waitServing(w)
	gw := e.bus("gateway", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := gw.Request(ctxFor(t, 5*time.Second), "pbx1", cmdOf(callapi.ActCallGet, newID()))
			errs <- err
		}()
	}
	for rec.inFly.Load() < 5 {
		time.Sleep(10 * time.Millisecond)
	}
	stop() // while the five run
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("in-flight command lost at shutdown: %v", err)
		}
	}
}

func TestReadyFailsWithoutBroker(t *testing.T) {
	t.Parallel()
	b, err := New(Config{URLs: []string{"amqp://guest:guest@127.0.0.1:1/"}, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := runBus(t, b)
	defer stop()
	if err := b.Ready(ctxFor(t, 200*time.Millisecond)); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("Ready: %v", err)
	}
	start := time.Now()
	_, err = b.Request(ctxFor(t, 200*time.Millisecond), "pbx1", cmdOf(callapi.ActCallGet, "c"))
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || time.Since(start) > time.Second {
		t.Fatalf("Request without broker: %v after %v", err, time.Since(start))
	}
	if s := b.State(); s.Connected || s.LastError == "" {
		t.Fatalf("state %+v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"bad url", func(c *Config) { c.URLs = []string{"http://x"} }, false},
		{"min > max", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Second, time.Millisecond }, false},
		{"prefetch", func(c *Config) { c.Prefetch = -1 }, false},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if _, err := New(c); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestDirectRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := newRecorder("pbx1")
	e.worker("pbx1", rec, ServeOptions{}, nil)
	gw := e.bus("gateway direct", func(c *Config) { c.DirectRouting = true })
	for _, target := range []callapi.Target{"pbx1", callapi.TargetAny} {
		rep, err := gw.Request(ctxFor(t, 5*time.Second), target, cmdOf(callapi.ActCallGet, "c"))
		if err != nil || !rep.OK || rep.Node != "pbx1" {
			t.Fatalf("%s: %+v %v", target, rep, err)
		}
	}
	start := time.Now()
	if _, err := gw.Request(ctxFor(t, 5*time.Second), "ghost", cmdOf(callapi.ActCallGet, "c")); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("direct to a missing node queue: %v", err)
	}
	if err := gw.Send(ctxFor(t, 5*time.Second), "ghost", cmdOf(callapi.ActCallHangup, "c")); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("Send direct to a missing node queue: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("returns took %v", d)
	}
	reps, err := gw.Gather(ctxFor(t, 5*time.Second), cmdOf(callapi.ActCallList, ""), []callapi.NodeID{"pbx1"})
	if err != nil || len(reps) != 1 {
		t.Fatalf("Gather: %v %v", reps, err)
	}
}

func TestWorkerRedeclaresItsDeletedQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.worker("pbx1", newRecorder("pbx1"), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	if out, err := exec.Command("rabbitmqctl", "-q", "delete_queue", e.names.Node("pbx1")).CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl delete_queue: %v %s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := gw.Request(ctxFor(t, 2*time.Second), "pbx1", cmdOf(callapi.ActCallGet, "c"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not come back after its queue was deleted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := w.State(); s.Reconnects != 0 || !s.Serving {
		t.Fatalf("state %+v", s)
	}
}

// A worker bus is ready only once its node queue is consumed: a worker
// announces itself when ready, and a command routed to it at once must
// not come back unroutable.
func TestWorkerReadyMeansServing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := e.bus("gateway", nil)
	for i := range 5 {
		cfg := e.config(fmt.Sprintf("worker pbx%d", i))
		w, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		node := callapi.NodeID(fmt.Sprintf("pbx%d", i))
		if err := w.ServeCommands(node, newRecorder(node), ServeOptions{NoAny: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(runBus(t, w))
		if err := w.Ready(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if !w.State().Serving {
			t.Fatalf("worker %d ready but not serving", i)
		}
		if _, err := gw.Request(ctxFor(t, 5*time.Second), callapi.NodeTarget(node), cmdOf(callapi.ActCallGet, "c")); err != nil {
			t.Fatalf("worker %d: first command after ready: %v", i, err)
		}
	}
}
