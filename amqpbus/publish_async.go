package amqpbus

import (
	"context"
	"hash/fnv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// PublishEventAsync is PublishEvent without the wait: it writes e to
// callapi.events (and one copy per tag to callapi.events.routed, as
// PublishEvent does) and returns as soon as the broker has been handed the
// messages, with a confirm that reports the broker's verdict on them all.
// ctx bounds only the publishing (waiting for a connection, or for a
// blocked connection to be unblocked); without a deadline it gets
// Config.DefaultTimeout. An error means nothing needs waiting for: the event
// (or, for an event with tags, a copy after the first) was not written.
//
// Order: every message of the events of one call (callapi.Event.CallID;
// else its BridgeID; else its node) is published on the same pooled
// channel, so events of one call published one after the other — without
// waiting for their confirms — reach every queue in that order. A channel
// that dies is replaced in the same slot of the pool; the events written on
// it before it died fail their Wait.
//
// The confirm's Wait returns nil once the broker confirmed (acked) every
// message of the publish; an error when it refused one (nack), when one
// was returned unroutable (mandatory publishes only), when the channel or
// the connection was lost before the verdict (callapi.CodeNodeUnavailable), or when
// ctx ends first (callapi.CodeTimeout; Wait may be called again). Calls to Wait are
// serialized; after a verdict Wait keeps returning it.
//
// The result type is spelled as a literal, not named here: its consumer
// declares it (asterisk.Confirm, an alias of this literal, in
// asterisk.AsyncSink), so that *Bus is an asterisk.AsyncSink without
// either package importing the other.
func (b *Bus) PublishEventAsync(ctx context.Context, e *callapi.Event) (interface{ Wait(context.Context) error }, error) {
	const op = "amqpbus.PublishEventAsync"
	if e == nil || e.ID == "" || e.Type == "" {
		return nil, callapi.Invalid("event", "an event needs an id and a type")
	}
	body, err := encodeEvent(e)
	if err != nil {
		return nil, callapi.Wrap(callapi.CodeInternal, op, err, "unencodable event")
	}
	// Same message as PublishEvent (docs/protocol.md §6).
	ts := e.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	msg := func(h amqp.Table) amqp.Publishing {
		return amqp.Publishing{
			Headers: h, ContentType: contentJSON, DeliveryMode: amqp.Transient,
			MessageId: e.ID, Timestamp: ts, Type: string(e.Type), Body: body,
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.DefaultTimeout)
		defer cancel()
	}
	slot := affinity(e)
	c := &eventConfirm{op: op, sem: make(chan struct{}, 1), res: make([]<-chan pubResult, 0, 1+len(e.Tags))}
	r, err := b.publishAt(ctx, op, slot, b.names.Events, callapi.EventKey(e), msg(amqp.Table{HeaderTenant: e.Tenant}))
	if err != nil {
		return nil, err
	}
	c.res = append(c.res, r)
	for _, tag := range e.Tags {
		r, err := b.publishAt(ctx, op, slot, b.names.EventsRouted, callapi.TagKey(e.Tenant, tag),
			msg(amqp.Table{HeaderTenant: e.Tenant, HeaderTag: tag}))
		if err != nil {
			return nil, err
		}
		c.res = append(c.res, r)
	}
	return c, nil
}

// affinity is the pool slot key of e: its call, else its bridge, else its
// node.
func affinity(e *callapi.Event) uint32 {
	k := string(e.CallID)
	switch {
	case k != "":
	case e.BridgeID != "":
		k = "bridge:" + string(e.BridgeID)
	default:
		k = "node:" + string(e.Node)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(k))
	return h.Sum32()
}

// eventConfirm is PublishEventAsync's confirm: the verdicts of the event
// and of its tag copies, read in publish order.
type eventConfirm struct {
	op  string
	sem chan struct{} // one Wait at a time (a verdict is received once)
	res []<-chan pubResult
	n   int   // verdicts received
	err error // the first failure; final
}

func (c *eventConfirm) Wait(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return callapi.Wrap(callapi.CodeTimeout, c.op, ctx.Err(), "event not confirmed before the deadline")
	}
	defer func() { <-c.sem }()
	for c.err == nil && c.n < len(c.res) {
		select {
		case v := <-c.res[c.n]:
			c.n++
			c.err = v.error(c.op)
		case <-ctx.Done():
			return callapi.Wrap(callapi.CodeTimeout, c.op, ctx.Err(), "event not confirmed before the deadline")
		}
	}
	return c.err
}

// publishAt is Bus.publish on the pooled channel of slot instead of the
// next one in turn, never mandatory, bound to no request: publishes with
// the same slot go out on one channel in call order.
func (b *Bus) publishAt(ctx context.Context, op string, slot uint32, exchange, key string, msg amqp.Publishing) (<-chan pubResult, error) {
	pick := func(s *session) (*pubChan, error) { return s.channelAt(slot) }
	_, w, err := b.publishVia(ctx, op, pick, exchange, key, false, msg, nil)
	if err != nil {
		return nil, err
	}
	return w.done, nil
}

// channelAt returns the channel in a fixed slot of the pool, replaced (in
// the same slot) when it died.
func (s *session) channelAt(slot uint32) (*pubChan, error) {
	i := int(slot % uint32(len(s.pool)))
	s.mu.Lock()
	defer s.mu.Unlock()
	pc := s.pool[i]
	if pc != nil && !pc.isDead() {
		return pc, nil
	}
	if s.ctx.Err() != nil {
		return nil, callapi.Errorf(callapi.CodeNodeUnavailable, "broker connection lost")
	}
	pc, err := s.openPubChan()
	if err != nil {
		return nil, err
	}
	s.pool[i] = pc
	return pc, nil
}
