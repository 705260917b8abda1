package amqpbus

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// fakeChan drives a pubChan's loop with hand-made broker events (returns,
// confirms, replies, channel closes), in the orders the broker may produce
// them, to check Request's outcome (Bus.await) for each. No broker needed.
type fakeChan struct {
	b        *Bus
	pc       *pubChan
	returns  chan amqp.Return
	confirms chan amqp.Confirmation
	closes   chan *amqp.Error
	replies  chan amqp.Delivery
	ended    chan struct{}
}

func newFakeChan(t *testing.T) *fakeChan {
	t.Helper()
	b, err := New(Config{URLs: []string{"amqp://guest:guest@127.0.0.1:1/"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeChan{
		b:        b,
		returns:  make(chan amqp.Return),
		confirms: make(chan amqp.Confirmation, 16),
		closes:   make(chan *amqp.Error, 1),
		replies:  make(chan amqp.Delivery),
		ended:    make(chan struct{}),
	}
	f.pc = &pubChan{s: &session{b: b}, waiters: map[uint64]*pubWaiter{}, byMsg: map[string]*pubWaiter{}}
	go func() {
		defer close(f.ended)
		f.pc.loop(f.returns, f.confirms, f.closes, f.replies)
	}()
	t.Cleanup(f.close)
	return f
}

// close ends the loop as a closed channel would (amqp091 closes the
// confirm channel last).
func (f *fakeChan) close() {
	select {
	case <-f.ended:
		return
	default:
	}
	close(f.confirms)
	<-f.ended
}

// request registers a request as Request's publish would (delivery tag
// tag) and runs Bus.await for it in the background.
func (f *fakeChan) request(ctx context.Context, id string, tag uint64) (*pubWaiter, <-chan awaitResult) {
	w := &pubWaiter{msgID: id, done: make(chan pubResult, 1), quiet: true}
	c := f.b.pending.add(id, 1, false)
	f.b.pending.bind(c, f.pc)
	f.pc.wmu.Lock()
	f.pc.waiters[tag] = w
	f.pc.byMsg[id] = w
	f.pc.wmu.Unlock()
	out := make(chan awaitResult, 1)
	go func() {
		defer f.b.pending.remove(c)
		rep, lost, err := f.b.await(ctx, "test", "pbx1", w, c)
		out <- awaitResult{rep, lost, err}
	}()
	return w, out
}

type awaitResult struct {
	rep       *callapi.Reply
	lost, err error
}

func (f *fakeChan) reply(id string) {
	body := `{"id":"` + id + `","ok":true,"node":"pbx1","result":{}}`
	f.replies <- amqp.Delivery{CorrelationId: id, Body: []byte(body)}
}

// waitLoud waits until the request holding w has its reply and asked for
// the confirm (so that the next event comes after the reply).
func (f *fakeChan) waitLoud(t *testing.T, w *pubWaiter) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		loud := !w.quiet
		w.mu.Unlock()
		if loud {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never asked for its confirm")
		}
		time.Sleep(time.Millisecond)
	}
}

func result(t *testing.T, out <-chan awaitResult) awaitResult {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("request still waiting")
		return awaitResult{}
	}
}

func wantCode(t *testing.T, r awaitResult, code callapi.Code) {
	t.Helper()
	if r.rep != nil || r.lost != nil || callapi.ErrorCode(r.err) != code {
		t.Fatalf("got reply %v, lost %v, error %v; want error %s", r.rep, r.lost, r.err, code)
	}
}

func TestAwaitConfirmThenReply(t *testing.T) {
	f := newFakeChan(t)
	_, out := f.request(context.Background(), "c1", 1)
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: true}
	f.reply("c1")
	r := result(t, out)
	if r.err != nil || r.lost != nil || r.rep == nil || r.rep.ID != "c1" {
		t.Fatalf("got %+v, want the reply", r)
	}
}

func TestAwaitReplyThenConfirm(t *testing.T) {
	f := newFakeChan(t)
	w, out := f.request(context.Background(), "c1", 1)
	f.reply("c1")
	f.waitLoud(t, w)
	select {
	case r := <-out:
		t.Fatalf("returned %+v before the confirm", r)
	case <-time.After(20 * time.Millisecond):
	}
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: true}
	if r := result(t, out); r.err != nil || r.rep == nil {
		t.Fatalf("got %+v, want the reply", r)
	}
}

// A return that arrives after the reply (the reply can only be another
// publish's, under the same id) still fails the request.
func TestAwaitReturnAfterReply(t *testing.T) {
	f := newFakeChan(t)
	w, out := f.request(context.Background(), "c1", 1)
	f.reply("c1")
	f.waitLoud(t, w)
	f.returns <- amqp.Return{MessageId: "c1", RoutingKey: "cmd.pbx1.call.get", ReplyCode: 312, ReplyText: "NO_ROUTE"}
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: true} // the broker acks a returned message
	wantCode(t, result(t, out), callapi.CodeNodeUnavailable)
}

func TestAwaitNackAfterReply(t *testing.T) {
	f := newFakeChan(t)
	w, out := f.request(context.Background(), "c1", 1)
	f.reply("c1")
	f.waitLoud(t, w)
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: false}
	wantCode(t, result(t, out), callapi.CodeNodeUnavailable)
	if n := f.b.Stats().Nacked; n != 1 {
		t.Fatalf("nacked = %d, want 1", n)
	}
}

func TestAwaitReturnBeforeReplyFailsAtOnce(t *testing.T) {
	f := newFakeChan(t)
	_, out := f.request(context.Background(), "c1", 1)
	f.returns <- amqp.Return{MessageId: "c1", ReplyCode: 312, ReplyText: "NO_ROUTE"}
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: true}
	wantCode(t, result(t, out), callapi.CodeNodeUnavailable)
}

func TestAwaitNackBeforeReplyFailsAtOnce(t *testing.T) {
	f := newFakeChan(t)
	_, out := f.request(context.Background(), "c1", 1)
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: false}
	wantCode(t, result(t, out), callapi.CodeNodeUnavailable)
}

func TestAwaitReplyButNoConfirmBeforeDeadline(t *testing.T) {
	f := newFakeChan(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	w, out := f.request(ctx, "c1", 1)
	f.reply("c1")
	f.waitLoud(t, w)
	wantCode(t, result(t, out), callapi.CodeTimeout)
}

func TestAwaitReplyThenChannelLost(t *testing.T) {
	f := newFakeChan(t)
	w, out := f.request(context.Background(), "c1", 1)
	f.reply("c1")
	f.waitLoud(t, w)
	f.close()
	// The confirm cannot come any more, but the worker's reply says what
	// happened: the request returns it (not node_unavailable, which
	// would say the command never reached a worker).
	r := result(t, out)
	if r.err != nil || r.lost != nil || r.rep == nil || r.rep.ID != "c1" {
		t.Fatalf("got %+v, want the reply", r)
	}
}

// A channel lost after the publish, before its confirm and its reply:
// the request is told it was lost (Request sends it again, or answers
// outcome_unknown), never node_unavailable.
func TestAwaitChannelLostBeforeConfirm(t *testing.T) {
	f := newFakeChan(t)
	_, out := f.request(context.Background(), "c1", 1)
	f.close()
	r := result(t, out)
	if r.lost == nil || r.rep != nil || r.err != nil {
		t.Fatalf("got %+v, want lost", r)
	}
}

func TestAwaitChannelLostBeforeReply(t *testing.T) {
	f := newFakeChan(t)
	_, out := f.request(context.Background(), "c1", 1)
	f.confirms <- amqp.Confirmation{DeliveryTag: 1, Ack: true}
	f.close()
	r := result(t, out)
	if r.lost == nil || r.rep != nil || r.err != nil {
		t.Fatalf("got %+v, want lost (Request sends it again or fails with timeout)", r)
	}
}

// Many requests on one channel, confirms and replies in both orders.
func TestAwaitManyInterleaved(t *testing.T) {
	f := newFakeChan(t)
	const n = 200
	outs := make([]<-chan awaitResult, n)
	ws := make([]*pubWaiter, n)
	for i := range n {
		ws[i], outs[i] = f.request(context.Background(), newID(), uint64(i+1))
	}
	for i := range n {
		if i%2 == 0 {
			f.confirms <- amqp.Confirmation{DeliveryTag: uint64(i + 1), Ack: true}
			f.reply(ws[i].msgID)
		} else {
			f.reply(ws[i].msgID)
			f.waitLoud(t, ws[i])
			f.confirms <- amqp.Confirmation{DeliveryTag: uint64(i + 1), Ack: true}
		}
	}
	for i := range n {
		if r := result(t, outs[i]); r.err != nil || r.rep == nil || r.rep.ID != ws[i].msgID {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
}
