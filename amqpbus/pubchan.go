package amqpbus

import (
	"context"
	"errors"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// directReplyTo is RabbitMQ's direct reply-to pseudo-queue.
const directReplyTo = "amq.rabbitmq.reply-to"

// errChannelClosed is the cause when a pooled channel closes before the
// broker confirmed a publish or before a reply came.
var errChannelClosed = errors.New("amqpbus: channel closed")

// pubChan is one pooled channel in confirm mode. It also consumes direct
// reply-to, so requests published on it get their replies on it.
//
// Returns and confirms are read by one goroutine (loop) from an
// unbuffered return channel and the confirm channel. amqp091 delivers both
// from its single reader goroutine, and RabbitMQ sends a message's
// basic.return before its basic.ack; since loop finishes recording a
// return before it receives anything else, a publish is known to have
// been returned by the time its confirm is handled.
type pubChan struct {
	s  *session
	ch *amqp.Channel

	mu sync.Mutex // serializes sequence number + publish

	wmu     sync.Mutex
	waiters map[uint64]*pubWaiter
	byMsg   map[string]*pubWaiter
	dead    bool
}

type pubWaiter struct {
	msgID    string
	returned *amqp.Return   // set by loop only
	done     chan pubResult // buffered 1

	mu    sync.Mutex
	quiet bool // report failures only
	// verdict is the confirm's outcome once handled (verdicted).
	verdict   pubResult
	verdicted bool
	// group, for a batch of commands, holds the waiters of its items:
	// the batch's verdict is theirs (each one quiet or loud on its own).
	group []*pubWaiter
	// onVerdict, when set, is called once the verdict is known (from the
	// channel's loop: it must not block).
	onVerdict func()
}

// pubResult is the broker's verdict on one publish.
type pubResult struct {
	acked    bool
	returned *amqp.Return
	err      error // channel closed before the verdict
	// unsent: err came before the message was written (nothing reached
	// the broker), not from a channel lost after the write.
	unsent bool
}

// lost reports a channel or connection lost after the message was written
// but before the broker's verdict: the message may have been routed.
func (r pubResult) lost() bool { return r.err != nil && !r.unsent }

// err maps the verdict to an error for the caller (nil when routed and acked).
func (r pubResult) error(op string) error {
	switch {
	case r.err != nil && r.unsent:
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, r.err, "not published")
	case r.err != nil:
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, r.err, "broker connection lost before the publish was confirmed")
	case r.returned != nil:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "no queue takes %s (%d %s): node unavailable",
			r.returned.RoutingKey, r.returned.ReplyCode, r.returned.ReplyText)
	case !r.acked:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "broker refused the message (nack): queue full or unavailable")
	}
	return nil
}

func (s *session) openPubChan() (*pubChan, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.openChannel", err, "cannot open channel")
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.openChannel", err, "cannot enable confirms")
	}
	returns := ch.NotifyReturn(make(chan amqp.Return)) // unbuffered: see pubChan
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 4096))
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	replies, err := ch.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.openChannel", err, "cannot consume direct reply-to")
	}
	pc := &pubChan{s: s, ch: ch, waiters: make(map[uint64]*pubWaiter), byMsg: make(map[string]*pubWaiter)}
	s.wg.Add(1)
	go func() { // owner: the session; ends when the channel closes
		defer s.wg.Done()
		pc.loop(returns, confirms, closes, replies)
	}()
	return pc, nil
}

func (pc *pubChan) isDead() bool {
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	return pc.dead
}

func (pc *pubChan) loop(returns <-chan amqp.Return, confirms <-chan amqp.Confirmation, closes <-chan *amqp.Error, replies <-chan amqp.Delivery) {
	b := pc.s.b
	var cause error = errChannelClosed
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			b.stats.returned.Add(1)
			pc.wmu.Lock()
			if w := pc.byMsg[r.MessageId]; w != nil && w.returned == nil {
				w.returned = &r
			}
			pc.wmu.Unlock()
		case c, ok := <-confirms:
			if !ok {
				pc.die(cause)
				return
			}
			pc.wmu.Lock()
			w := pc.waiters[c.DeliveryTag]
			delete(pc.waiters, c.DeliveryTag)
			if w != nil && pc.byMsg[w.msgID] == w {
				delete(pc.byMsg, w.msgID)
			}
			pc.wmu.Unlock()
			if w == nil {
				continue
			}
			if !c.Ack {
				b.stats.nacked.Add(1)
			}
			pc.settle(w, pubResult{acked: c.Ack, returned: w.returned})
		case d, ok := <-replies:
			if !ok {
				replies = nil
				continue
			}
			b.deliverReply(d)
		case e, ok := <-closes:
			if ok && e != nil {
				cause = e
				b.log.Warn("publishing channel closed", zap.Error(e))
			}
			closes = nil
		}
	}
}

// die fails every unconfirmed publish and every request waiting for a
// reply on this channel.
func (pc *pubChan) die(cause error) {
	pc.wmu.Lock()
	pc.dead = true
	ws := pc.waiters
	pc.waiters, pc.byMsg = map[uint64]*pubWaiter{}, map[string]*pubWaiter{}
	pc.wmu.Unlock()
	for _, w := range ws {
		pc.settle(w, pubResult{err: cause})
	}
	pc.s.b.pending.failWhere(func(c *call) bool { return c.pc == pc }, cause)
}

// settle records r as the verdict of w (and of its group's items) and
// tells those that listen: a loud waiter always, a quiet one only of a
// failure. Called once per waiter, from the loop (or die).
func (pc *pubChan) settle(w *pubWaiter, r pubResult) {
	ws := w.group
	if ws == nil {
		ws = []*pubWaiter{w}
	}
	for _, x := range ws {
		x.resolve(r)
	}
	if w.onVerdict != nil {
		w.onVerdict()
	}
}

// resolve records r as w's verdict and sends it on w.done unless w is
// quiet and r a success. Once per waiter.
func (w *pubWaiter) resolve(r pubResult) {
	fail := !r.acked || r.returned != nil || r.err != nil
	w.mu.Lock()
	w.verdict, w.verdicted = r, true
	notify := !w.quiet || fail
	w.mu.Unlock()
	if notify {
		w.done <- r // buffered 1, one verdict per waiter: never blocks
	}
}

// check returns the outcome of w's confirm if the broker gave it
// (true); otherwise it makes w loud, so that the outcome, good or bad,
// arrives on w.done. A quiet publish (a request) learns of a successful
// confirm without being woken: it asks only once it has its reply.
func (w *pubWaiter) check() (pubResult, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.verdicted {
		return w.verdict, true
	}
	w.quiet = false
	return pubResult{}, false
}

// sendWaiter publishes msg with w as its waiter (w.msgID = msg.MessageId).
func (pc *pubChan) sendWaiter(exchange, key string, mandatory bool, msg amqp.Publishing, w *pubWaiter) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	seq := pc.ch.GetNextPublishSeqNo()
	pc.wmu.Lock()
	if pc.dead {
		pc.wmu.Unlock()
		return errChannelClosed
	}
	pc.waiters[seq] = w
	if _, dup := pc.byMsg[w.msgID]; !dup {
		pc.byMsg[w.msgID] = w
	}
	pc.wmu.Unlock()
	if err := pc.ch.Publish(exchange, key, mandatory, false, msg); err != nil {
		pc.wmu.Lock()
		delete(pc.waiters, seq)
		if pc.byMsg[w.msgID] == w {
			delete(pc.byMsg, w.msgID)
		}
		pc.wmu.Unlock()
		return err
	}
	return nil
}

// publish sends msg on a pooled channel of the current connection,
// waiting (until ctx ends) for a connection and for the broker to unblock
// it. c, when not nil, is the request waiting for the reply: it is bound
// to the channel so that it fails if the channel dies.
func (b *Bus) publish(ctx context.Context, op, exchange, key string, mandatory bool, msg amqp.Publishing, c *call) (<-chan pubResult, error) {
	_, w, err := b.publishOn(ctx, op, exchange, key, mandatory, msg, c)
	if err != nil {
		return nil, err
	}
	return w.done, nil
}

// publishOn is publish, returning the channel used and the publish's
// waiter. A request's publish (c not nil, single reply) is quiet: see
// pubWaiter.check.
func (b *Bus) publishOn(ctx context.Context, op, exchange, key string, mandatory bool, msg amqp.Publishing, c *call) (*pubChan, *pubWaiter, error) {
	return b.publishVia(ctx, op, (*session).channel, exchange, key, mandatory, msg, c)
}

// publishVia is publishOn on the pooled channel that pick chooses: the
// next in turn (session.channel) or a fixed slot (session.channelAt).
func (b *Bus) publishVia(ctx context.Context, op string, pick func(*session) (*pubChan, error), exchange, key string, mandatory bool, msg amqp.Publishing, c *call) (*pubChan, *pubWaiter, error) {
	// A request asks for the confirm once it has its reply: only failures
	// wake it before (one goroutine hand-off less).
	w := &pubWaiter{msgID: msg.MessageId, done: make(chan pubResult, 1), quiet: c != nil && !c.multi}
	var bind func(*pubChan)
	if c != nil {
		bind = func(pc *pubChan) {
			b.pending.bind(c, pc)
			// A channel that died before this bind may have said so:
			// from now on only pc's death concerns c.
			select {
			case <-c.lost:
			default:
			}
		}
	}
	pc, err := b.publishWaiter(ctx, op, pick, exchange, key, mandatory, msg, w, bind)
	if err != nil {
		return nil, nil, err
	}
	return pc, w, nil
}

// publishWaiter writes msg with w as its waiter on the channel pick
// chooses, waiting (until ctx ends) for a connection and for the broker to
// unblock it, and trying again on another channel when the one picked is
// gone. bind, when not nil, is called with the channel just before the
// write (to tie the requests waiting for a reply to it).
func (b *Bus) publishWaiter(ctx context.Context, op string, pick func(*session) (*pubChan, error), exchange, key string, mandatory bool, msg amqp.Publishing, w *pubWaiter, bind func(*pubChan)) (*pubChan, error) {
	for attempt := 0; ; attempt++ {
		s, err := b.waitSession(ctx, op)
		if err != nil {
			return nil, err
		}
		pc, err := pick(s)
		if err == nil {
			if bind != nil {
				bind(pc)
			}
			if err = pc.sendWaiter(exchange, key, mandatory, msg, w); err == nil {
				return pc, nil
			}
		}
		// Nothing was sent: the channel or the connection is gone. Wait
		// for the reconnection, or try another channel.
		if s.ctx.Err() != nil || s.conn.IsClosed() {
			attempt--
			if !retry.Sleep(ctx, 5*time.Millisecond) {
				return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, ctx.Err(), "broker connection lost")
			}
			continue
		}
		if attempt >= 3 || ctx.Err() != nil {
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "cannot publish")
		}
		if !retry.Sleep(ctx, b.cfg.ReconnectMin/4) {
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, ctx.Err(), "cannot publish")
		}
	}
}

// publishConfirmed publishes msg and waits for the broker's confirm.
func (b *Bus) publishConfirmed(ctx context.Context, op, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	res, err := b.publish(ctx, op, exchange, key, mandatory, msg, nil)
	if err != nil {
		return err
	}
	select {
	case r := <-res:
		return r.error(op)
	case <-ctx.Done():
		return callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "publish not confirmed before the deadline")
	}
}
