package amqpbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// HistoryQueuePrefix starts the name of every tenant's event history
// stream: callapi.history.<tenant> (preceded by the deployment's prefix).
const HistoryQueuePrefix = "callapi.history."

// HistoryConfig configures the event history streams: one RabbitMQ stream
// (x-queue-type=stream) per tenant, declared on first use and bound to
// callapi.events.routed with the tenant's event keys
// (<tenant>.*.*.*.*, not the tag copies) and the node events
// (_.*.node.*.*), so that the broker writes each event once, whatever the
// number of gateways. The retention settings apply when a stream is
// declared: a stream that exists keeps its own (change them with a
// policy, docs/operations.md).
type HistoryConfig struct {
	// MaxAge is x-max-age: segments whose every event is older go (24h).
	MaxAge time.Duration
	// MaxBytes is x-max-length-bytes, the stream's size bound: past it
	// the oldest segment goes (256 MiB).
	MaxBytes int64
	// SegmentBytes is x-stream-max-segment-size-bytes, the unit retention
	// removes (8 MiB).
	SegmentBytes int64
	// Prefetch is the prefetch (basic.qos) of a history reader (256).
	Prefetch int
}

func (h HistoryConfig) withDefaults() HistoryConfig {
	if h.MaxAge <= 0 {
		h.MaxAge = 24 * time.Hour
	}
	if h.MaxBytes <= 0 {
		h.MaxBytes = 256 << 20
	}
	if h.SegmentBytes <= 0 {
		h.SegmentBytes = 8 << 20
	}
	if h.SegmentBytes > h.MaxBytes {
		h.SegmentBytes = h.MaxBytes
	}
	if h.Prefetch <= 0 {
		h.Prefetch = 256
	}
	return h
}

// maxAgeArg renders d as x-max-age wants it: a number and a unit (Y, M,
// D, h, m, s), rounded up to whole seconds.
func maxAgeArg(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	switch {
	case s%86400 == 0:
		return strconv.FormatInt(s/86400, 10) + "D"
	case s%3600 == 0:
		return strconv.FormatInt(s/3600, 10) + "h"
	case s%60 == 0:
		return strconv.FormatInt(s/60, 10) + "m"
	}
	return strconv.FormatInt(s, 10) + "s"
}

// HistoryArgs are the arguments a tenant's history stream is declared
// with.
func HistoryArgs(h HistoryConfig) amqp.Table {
	h = h.withDefaults()
	return amqp.Table{
		"x-queue-type":                    "stream",
		"x-max-age":                       maxAgeArg(h.MaxAge),
		"x-max-length-bytes":              h.MaxBytes,
		"x-stream-max-segment-size-bytes": h.SegmentBytes,
	}
}

// History returns the name of a tenant's history stream.
func (n Names) History(tenant string) string {
	return n.HistoryPrefix + callapi.KeyWord(tenant)
}

// HistoryBindings are the routing patterns a tenant's history stream is
// bound with on callapi.events.routed: the tenant's events (five words;
// the tag copies, <tenant>.tag.<tag>, have three and stay out) and the
// node events, which every tenant's streams carry.
func HistoryBindings(tenant string) []string {
	return []string{callapi.KeyWord(tenant) + ".*.*.*.*", "_.*.node.*.*"}
}

// EnsureHistory declares tenant's history stream and its bindings unless
// this bus did so already. A stream declared earlier with other retention
// arguments is used as it is (a warning is logged once).
func (b *Bus) EnsureHistory(ctx context.Context, tenant string) error {
	const op = "amqpbus.EnsureHistory"
	if !callapi.ValidTenant(tenant) {
		return callapi.Invalid("tenant", "%q is not a tenant", tenant)
	}
	if _, ok := b.histories.Load(tenant); ok {
		return nil
	}
	conn, err := b.currentConn(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "broker channel")
	}
	defer func() { _ = ch.Close() }()
	name := b.names.History(tenant)
	if _, err := ch.QueueDeclare(name, true, false, false, false, HistoryArgs(b.cfg.History)); err != nil {
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "cannot declare the history stream "+name)
		}
		// Declared before with other arguments: keep it as it is.
		if ch, err = conn.Channel(); err != nil {
			return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "broker channel")
		}
		defer func() { _ = ch.Close() }()
		if _, err := ch.QueueDeclarePassive(name, true, false, false, false, amqp.Table{"x-queue-type": "stream"}); err != nil {
			return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "cannot use the history stream "+name)
		}
		b.log.Warn("history stream exists with other retention arguments than configured; it keeps its own (use a policy to change them)",
			zap.String("stream", name))
	}
	for _, k := range HistoryBindings(tenant) {
		if err := ch.QueueBind(name, k, b.names.EventsRouted, false, nil); err != nil {
			return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "cannot bind the history stream "+name)
		}
	}
	b.histories.Store(tenant, struct{}{})
	if b.cfg.Prefix != "" {
		prefixed.Store(b.cfg.Prefix+"\x00"+tenant, struct{}{})
	}
	return nil
}

// prefixed holds "<prefix>\x00<tenant>" of every history stream a bus
// of this process declared under a non-empty (test) prefix, so that
// DeleteTopology deletes them too.
var prefixed sync.Map

// declaredHistories returns the tenants whose streams this process
// declared under prefix.
func declaredHistories(prefix string) []string {
	var out []string
	prefixed.Range(func(k, _ any) bool {
		if t, ok := strings.CutPrefix(k.(string), prefix+"\x00"); ok {
			out = append(out, t)
		}
		return true
	})
	return out
}

// currentConn waits for the bus's connection (until ctx ends).
func (b *Bus) currentConn(ctx context.Context) (*amqp.Connection, error) {
	for {
		b.mu.Lock()
		s, up := b.sess, b.up
		b.mu.Unlock()
		if s != nil {
			return s.conn, nil
		}
		select {
		case <-up:
		case <-b.closing:
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.history", ErrClosed, "bus closed")
		case <-ctx.Done():
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.history", ctx.Err(), "broker not connected")
		}
	}
}

// HistoryFrom says where a history reader starts: at Offset (when
// Position is PosOffset), at the first event the broker wrote at or after
// Time (PosTime; the broker starts at the chunk holding it, so earlier
// events may come first), or at PosFirst, PosLast or PosNext.
type HistoryFrom struct {
	Position string
	Offset   int64
	Time     time.Time
}

// Positions of HistoryFrom.
const (
	PosOffset = "offset"
	PosTime   = "time"
	PosFirst  = "first"
	PosLast   = "last"
	PosNext   = "next"
)

func (f HistoryFrom) arg() (any, error) {
	switch f.Position {
	case PosOffset:
		if f.Offset < 0 {
			return nil, fmt.Errorf("amqpbus: history offset %d", f.Offset)
		}
		return f.Offset, nil
	case PosTime:
		return f.Time, nil // an AMQP timestamp, whole seconds
	case PosFirst, PosLast, PosNext, "":
		if f.Position == "" {
			return PosNext, nil
		}
		return f.Position, nil
	}
	return nil, fmt.Errorf("amqpbus: history position %q", f.Position)
}

// ErrStopHistory, returned by a ReadHistory callback, ends the read
// without an error.
var ErrStopHistory = errors.New("amqpbus: stop reading history")

// ReadHistory reads tenant's history stream from from on a channel of its
// own (prefetch HistoryConfig.Prefetch, acknowledged as read, as streams
// want over AMQP 0-9-1), calling fn with each event and its offset in
// order, until ctx ends (nil), fn returns ErrStopHistory (nil) or another
// error (that error), or the channel or connection is lost (an error:
// read again from the last offset + 1). ready, when not nil, is called
// once the broker has attached the reader. The stream must exist
// (EnsureHistory). An undecodable message is skipped and counted.
func (b *Bus) ReadHistory(ctx context.Context, tenant string, from HistoryFrom, ready func(), fn func(offset int64, e *callapi.Event) error) error {
	const op = "amqpbus.ReadHistory"
	arg, err := from.arg()
	if err != nil {
		return err
	}
	conn, err := b.currentConn(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "broker channel")
	}
	defer func() { _ = ch.Close() }()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Qos(b.cfg.History.Prefetch, 0, false); err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "history reader qos")
	}
	ds, err := ch.Consume(b.names.History(tenant), "", false, false, false, false, amqp.Table{"x-stream-offset": arg})
	if err != nil {
		b.histories.Delete(tenant) // deleted meanwhile? EnsureHistory declares it again
		return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "cannot read the history stream of "+tenant)
	}
	if ready != nil {
		ready()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-closed:
			b.histories.Delete(tenant)
			if err == nil {
				return callapi.Errorf(callapi.CodeNodeUnavailable, "history reader's channel closed")
			}
			return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "history reader's channel closed")
		case d, ok := <-ds:
			if !ok {
				b.histories.Delete(tenant)
				return callapi.Errorf(callapi.CodeNodeUnavailable, "history reader cancelled by the broker")
			}
			if err := d.Ack(false); err != nil {
				return callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "history ack")
			}
			off, ok := d.Headers["x-stream-offset"].(int64)
			if !ok {
				b.stats.badEvents.Add(1)
				continue
			}
			e, err := decodeEvent(d.Body)
			if err != nil {
				b.stats.badEvents.Add(1)
				b.log.Warn("undecodable history event skipped", zap.String("tenant", tenant), zap.Int64("offset", off), zap.Error(err))
				continue
			}
			if err := fn(off, e); err != nil {
				if errors.Is(err, ErrStopHistory) {
					return nil
				}
				return err
			}
		}
	}
}

// DeleteHistory deletes the history streams of tenants declared with
// prefix on the broker at url. It is for tests on a shared broker and
// refuses the empty (production) prefix.
func DeleteHistory(ctx context.Context, url, prefix string, tenants ...string) error {
	if prefix == "" {
		return errors.New("amqpbus: DeleteHistory refuses the empty (production) prefix")
	}
	conn, err := dialOnce(ctx, url)
	if err != nil {
		return fmt.Errorf("amqpbus: delete history: %w", err)
	}
	defer func() { _ = conn.Close() }()
	n := newNames(prefix)
	var errs []error
	for _, t := range tenants {
		ch, err := conn.Channel()
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if _, err := ch.QueueDelete(n.History(t), false, false, false); err != nil {
			errs = append(errs, err)
		}
		_ = ch.Close()
	}
	return errors.Join(errs...)
}

func dialOnce(ctx context.Context, url string) (*amqp.Connection, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	return amqp.DialConfig(url, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) { return d.DialContext(ctx, network, addr) },
	})
}
