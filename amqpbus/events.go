package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/dedupe"
	"github.com/callgw/callgw/internal/retry"
)

var (
	_ callapi.EventSink     = (*Bus)(nil)
	_ callapi.HeartbeatSink = (*Bus)(nil)
)

// PublishEvent publishes e to callapi.events (fanout) with the routing key
// callapi.EventKey(e), and one copy per tag to callapi.events.routed with
// callapi.TagKey (header x-tag), and returns once the broker confirmed
// them all: PublishEventAsync, then Wait. Events of one call keep their
// order.
func (b *Bus) PublishEvent(ctx context.Context, e *callapi.Event) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.DefaultTimeout)
		defer cancel()
	}
	c, err := b.PublishEventAsync(ctx, e)
	if err != nil {
		return err
	}
	return c.Wait(ctx)
}

// servesCommands reports whether ServeCommands made this bus a worker.
func (b *Bus) servesCommands() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.worker != nil
}

// PublishHeartbeat publishes hb to callapi.nodes (routing key: the node
// id), expiring after three intervals so that a stale beat is never read.
func (b *Bus) PublishHeartbeat(ctx context.Context, hb *callapi.Heartbeat) error {
	const op = "amqpbus.PublishHeartbeat"
	if hb == nil || !callapi.ValidNodeID(string(hb.Node)) {
		return callapi.Invalid("node", "a heartbeat needs a valid node id")
	}
	if hb.Protocol == 0 && b.servesCommands() {
		h := *hb
		h.Protocol = ProtocolVersion // what this bus's worker speaks
		hb = &h
	}
	body, err := json.Marshal(hb)
	if err != nil {
		return callapi.Wrap(callapi.CodeInternal, op, err, "unencodable heartbeat")
	}
	iv := hb.IntervalMS
	if iv <= 0 {
		iv = 2000
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(iv)*time.Millisecond)
		defer cancel()
	}
	return b.publishConfirmed(ctx, op, b.names.Nodes, string(hb.Node), false, amqp.Publishing{
		ContentType: contentJSON, DeliveryMode: amqp.Transient, MessageId: uuid.NewString(),
		Timestamp: time.Now(), Type: "node.heartbeat", Expiration: strconv.FormatInt(callapi.MissedBeats*iv, 10),
		Body: body,
	})
}

// Subscription is a consumer of events or heartbeats on a server-named,
// exclusive, auto-delete queue, declared again after every reconnection
// (what happened while disconnected is lost: bind a durable queue of your
// own for that). The callback runs on one goroutine, in delivery order,
// and must return promptly.
type Subscription struct {
	b        *Bus
	exchange string
	keys     []string
	queueArg amqp.Table
	handle   func(d amqp.Delivery)
	// onConsume, when set, runs (on its own goroutine, owned by the
	// session) each time the subscription starts consuming on a
	// connection, the first one included.
	onConsume func(ctx context.Context)

	started chan struct{} // closed once consuming
	once    sync.Once

	mu     sync.Mutex
	closed bool
	sess   *session
	ch     *amqp.Channel
	queue  string
	done   chan struct{} // closed when the current consume loop ends
}

// SubscribeEvents consumes the events whose routing keys match one of
// patterns (topic patterns on callapi.events.routed, e.g. "acme.#",
// "*.pbx1.call.#", "acme.tag.t1"); with no pattern, or "#", every event
// from the fanout. An event is handed to fn once even when several
// patterns (or its tag copies) match it. It returns once consuming, or
// fails when ctx ends before the broker is reached.
func (b *Bus) SubscribeEvents(ctx context.Context, patterns []string, fn func(*callapi.Event)) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("amqpbus: SubscribeEvents needs a callback")
	}
	exchange, keys := b.names.EventsRouted, patterns
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "#") {
		exchange, keys = b.names.Events, []string{""}
	}
	seen := dedupe.NewRing[string](4096)
	sub := &Subscription{
		b: b, exchange: exchange, keys: keys,
		queueArg: amqp.Table{"x-max-length": int64(100000), "x-overflow": "drop-head", "x-dead-letter-exchange": b.names.Dead},
	}
	if b.cfg.SubscribeOnly || b.cfg.Tenant != "" {
		delete(sub.queueArg, "x-dead-letter-exchange")
	}
	sub.handle = func(d amqp.Delivery) {
		e, err := decodeEvent(d.Body)
		if err != nil {
			b.stats.badEvents.Add(1)
			b.log.Warn("undecodable event dropped", zap.String("message_id", d.MessageId), zap.Error(err))
			return
		}
		if !seen.Add(e.ID) {
			return
		}
		fn(e)
	}
	return sub, b.subscribe(ctx, sub)
}

// SubscribeHeartbeats consumes every worker's heartbeats.
func (b *Bus) SubscribeHeartbeats(ctx context.Context, fn func(*callapi.Heartbeat)) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("amqpbus: SubscribeHeartbeats needs a callback")
	}
	sub := b.heartbeatSub(fn)
	return sub, b.subscribe(ctx, sub)
}

// heartbeatSub is a subscription to every worker's heartbeats.
func (b *Bus) heartbeatSub(fn func(*callapi.Heartbeat)) *Subscription {
	sub := &Subscription{
		b: b, exchange: b.names.Nodes, keys: []string{""},
		queueArg: amqp.Table{"x-max-length": int64(10000), "x-overflow": "drop-head"},
	}
	sub.handle = func(d amqp.Delivery) {
		hb, err := decodeHeartbeat(d.Body)
		if err != nil {
			b.stats.badEvents.Add(1)
			b.log.Warn("undecodable heartbeat dropped", zap.String("message_id", d.MessageId), zap.Error(err))
			return
		}
		b.notePeer(hb)
		fn(hb)
	}
	return sub
}

// PingTimeout bounds the publication of one nodes.ping.
const PingTimeout = 2 * time.Second

// PingNodes publishes a nodes.ping (callapi.KeyNodesPing on the commands
// exchange): every worker's node queue receives it and the worker beats at
// once (rate-limited by its announcer). It returns once the broker
// confirmed the publication. The ping expires after a second: a worker
// that could not take it by then beats on its own schedule anyway.
func (b *Bus) PingNodes(ctx context.Context) error {
	const op = "amqpbus.PingNodes"
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PingTimeout)
		defer cancel()
	}
	return b.publishConfirmed(ctx, op, b.names.Commands, callapi.KeyNodesPing, false, amqp.Publishing{
		ContentType: contentJSON, DeliveryMode: amqp.Transient, MessageId: uuid.NewString(),
		Timestamp: time.Now(), Type: "node.ping", Expiration: "1000", Body: []byte("{}"),
	})
}

// WatchNodes is SubscribeHeartbeats that also pings the nodes (PingNodes)
// each time its queue starts consuming — at once and after every
// reconnection — so that every live worker is heard within moments instead
// of at its next beat. pinged (may be nil) is told when each ping was
// confirmed, or why it failed.
func (b *Bus) WatchNodes(ctx context.Context, fn func(*callapi.Heartbeat), pinged func(at time.Time, err error)) (*Subscription, error) {
	if fn == nil {
		return nil, errors.New("amqpbus: WatchNodes needs a callback")
	}
	sub := b.heartbeatSub(fn)
	sub.onConsume = func(ctx context.Context) {
		err := b.PingNodes(ctx)
		if pinged != nil {
			pinged(time.Now(), err)
		}
	}
	return sub, b.subscribe(ctx, sub)
}

func (b *Bus) subscribe(ctx context.Context, sub *Subscription) error {
	sub.started = make(chan struct{})
	b.mu.Lock()
	b.starters = append(b.starters, sub)
	s := b.sess
	b.mu.Unlock()
	if s != nil {
		_ = sub.start(s)
	}
	select {
	case <-sub.started:
		return nil
	case <-ctx.Done():
		_ = sub.Close()
		return callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.Subscribe", ctx.Err(), "broker not connected")
	case <-b.done:
		_ = sub.Close()
		return ErrClosed
	}
}

// Queue returns the name of the subscription's current queue.
func (sub *Subscription) Queue() string {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.queue
}

// start supervises the subscription on s: it declares and consumes the
// queue and, if consuming ends while the connection lives (a channel
// error, the queue deleted), does it again (idempotent per session).
func (sub *Subscription) start(s *session) error {
	sub.mu.Lock()
	if sub.closed || sub.sess == s {
		sub.mu.Unlock()
		return nil
	}
	sub.sess = s
	sub.mu.Unlock()
	s.wg.Add(1)
	go func() { // owner: the session
		defer s.wg.Done()
		for fails := 0; ; {
			ds, done, err := sub.open(s)
			if err == nil {
				if sub.onConsume != nil {
					s.wg.Add(1)
					go func() { defer s.wg.Done(); sub.onConsume(s.ctx) }() // owner: the session
				}
				for d := range ds {
					sub.handle(d)
					if err := d.Ack(false); err != nil {
						sub.b.log.Debug("event ack failed", zap.Error(err))
					}
				}
				close(done)
				fails = 0
			} else if s.ctx.Err() == nil {
				sub.b.log.Error("subscription failed", zap.String("exchange", sub.exchange), zap.Error(err))
			}
			sub.mu.Lock()
			closed := sub.closed
			sub.mu.Unlock()
			if closed || s.ctx.Err() != nil || !retry.Sleep(s.ctx, retry.Backoff(fails, reopenMin, reopenMax)) {
				return
			}
			fails++
		}
	}()
	return nil
}

// reopenMin and reopenMax bound the backoff between attempts to consume
// again on a live connection (a channel error, the queue deleted): short,
// so that a consumer is back within a second of the cause going away.
const (
	reopenMin = 100 * time.Millisecond
	reopenMax = 500 * time.Millisecond
)

func (sub *Subscription) open(s *session) (<-chan amqp.Delivery, chan struct{}, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (<-chan amqp.Delivery, chan struct{}, error) {
		_ = ch.Close()
		return nil, nil, err
	}
	if err := ch.Qos(sub.b.cfg.SubscriptionBuffer, 0, false); err != nil {
		return fail(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, sub.queueArg)
	if err != nil {
		return fail(err)
	}
	for _, k := range sub.keys {
		if err := ch.QueueBind(q.Name, k, sub.exchange, false, nil); err != nil {
			return fail(err)
		}
	}
	ds, err := ch.Consume(q.Name, "", false, true, false, false, nil)
	if err != nil {
		return fail(err)
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return fail(errors.New("amqpbus: subscription closed"))
	}
	done := make(chan struct{})
	sub.ch, sub.queue, sub.done = ch, q.Name, done
	sub.once.Do(func() { close(sub.started) })
	return ds, done, nil
}

// stop is called at shutdown: the session's end closes the channel.
func (sub *Subscription) stop(_ context.Context, s *session) {
	sub.mu.Lock()
	ch := sub.ch
	sub.mu.Unlock()
	if ch != nil {
		s.closeChannel(ch)
	}
}

// Close stops the subscription (its queue is deleted by the broker). Do
// not call it from the callback.
func (sub *Subscription) Close() error {
	b := sub.b
	b.mu.Lock()
	for i, st := range b.starters {
		if st == starter(sub) {
			b.starters = append(b.starters[:i:i], b.starters[i+1:]...)
			break
		}
	}
	b.mu.Unlock()
	sub.mu.Lock()
	sub.closed = true
	ch, done := sub.ch, sub.done
	sub.ch = nil
	sub.mu.Unlock()
	if ch == nil {
		return nil
	}
	err := ch.Close()
	if done != nil {
		<-done
	}
	if err != nil && !errors.Is(err, amqp.ErrClosed) {
		return err
	}
	return nil
}
