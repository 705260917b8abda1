package webhook

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// lane drains one subscription's queue. The queue has a single active
// consumer and the lane takes one message at a time, so a call's events
// are POSTed in order; a failed delivery is parked in the wait queue with
// its backoff as TTL, and the call's later events are parked behind it
// until it succeeds or is dead-lettered. Other calls go on meanwhile.
type lane struct {
	id   string
	d    *Deliverer
	ch   *amqp.Channel
	stop context.CancelFunc
	done chan struct{}

	count map[string]int       // messages of a key in the wait queue
	head  map[string]string    // the event a key waits on
	due   map[string]time.Time // when head comes back
}

func (l *lane) run(ctx context.Context) {
	defer close(l.done)
	defer l.ch.Close()
	ds, err := l.ch.ConsumeWithContext(ctx, l.d.cfg.Names.Queue(l.id), "", false, false, false, false, nil)
	if err != nil {
		l.d.log.Warn("cannot consume subscription queue", zap.String("subscription", l.id), zap.Error(err))
		return
	}
	for m := range ds {
		if err := l.handle(ctx, m); err != nil {
			l.d.log.Warn("delivery not settled", zap.String("subscription", l.id), zap.Error(err))
			_ = m.Nack(false, true)
			return
		}
	}
}

func intHeader(h amqp.Table, k string) int64 {
	switch v := h[k].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

func (l *lane) handle(ctx context.Context, m amqp.Delivery) error {
	key, _ := m.Headers[hdrKey].(string)
	attempt := int(intHeader(m.Headers, hdrAttempt))
	first := intHeader(m.Headers, hdrFirst)
	parked, _ := m.Headers[hdrParked].(bool)
	if parked && l.count[key] > 0 {
		l.count[key]--
	}
	if h := l.head[key]; h != "" && h != m.MessageId {
		return l.park(ctx, m, key, attempt, first, time.Until(l.due[key]))
	}
	if l.head[key] == "" && l.count[key] > 0 && !parked {
		return l.park(ctx, m, key, attempt, first, 0) // behind the key's parked events
	}
	sub, ok := l.d.store.Get(l.id)
	if !ok {
		return m.Ack(false)
	}
	now := time.Now()
	if first == 0 {
		first = now.UnixMilli()
	}
	res := l.d.sender.Post(ctx, sub.URL, sub.ID, m.MessageId, m.Body, sub.signing(now))
	attempt++
	a := callapi.WebhookAttempt{Time: now, EventID: m.MessageId, EventType: callapi.EventType(m.Type), Attempt: attempt,
		Status: res.Status, LatencyMS: float64(res.Latency.Microseconds()) / 1000, Outcome: "delivered"}
	if res.Err == nil {
		l.d.record(l.id, a)
		if l.head[key] == m.MessageId {
			delete(l.head, key)
			delete(l.due, key)
		}
		return m.Ack(false)
	}
	a.Error = res.Err.Error()
	if now.Sub(time.UnixMilli(first)) >= l.d.cfg.MaxAge {
		a.Outcome = "dead"
		l.d.record(l.id, a)
		delete(l.head, key)
		delete(l.due, key)
		return l.move(ctx, m, l.d.cfg.Names.Dead(l.id), key, attempt, first, "")
	}
	a.Outcome = "retry"
	l.d.record(l.id, a)
	delay := l.d.cfg.backoff(attempt)
	l.head[key], l.due[key] = m.MessageId, now.Add(delay)
	return l.park(ctx, m, key, attempt, first, delay)
}

// park moves m into the wait queue for delay.
func (l *lane) park(ctx context.Context, m amqp.Delivery, key string, attempt int, first int64, delay time.Duration) error {
	ms := max(delay.Milliseconds(), 1)
	if err := l.move(ctx, m, l.d.cfg.Names.Wait(l.id), key, attempt, first, strconv.FormatInt(ms, 10)); err != nil {
		return err
	}
	l.count[key]++
	return nil
}

// move republishes m to queue (confirmed) and acknowledges it.
func (l *lane) move(ctx context.Context, m amqp.Delivery, queue, key string, attempt int, first int64, expiration string) error {
	c, err := l.ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, ContentType: m.ContentType, MessageId: m.MessageId, Type: m.Type, Expiration: expiration,
		Headers: amqp.Table{hdrKey: key, hdrAttempt: int64(attempt), hdrFirst: first, hdrParked: expiration != ""}, Body: m.Body,
	})
	if err != nil {
		return err
	}
	if ok, err := c.WaitContext(ctx); err != nil || !ok {
		return context.Canceled
	}
	return m.Ack(false)
}

// backoff is the delay after the n-th failed attempt: RetryBase doubling
// up to RetryMax, with ±20 % jitter.
func (c Config) backoff(n int) time.Duration {
	d := c.RetryBase
	for i := 1; i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	d = min(d, c.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// record publishes an attempt to the log stream (unconfirmed: the log is
// for people, not for delivery).
func (d *Deliverer) record(sub string, a callapi.WebhookAttempt) {
	body, _ := json.Marshal(logRecord{Subscription: sub, WebhookAttempt: a})
	d.logMu.Lock()
	defer d.logMu.Unlock()
	_ = d.logCh.Publish("", d.cfg.Names.Log(), false, false, amqp.Publishing{ContentType: "application/json", Body: body})
	if d.cfg.OnAttempt != nil {
		d.cfg.OnAttempt(sub, a)
	}
}

type logRecord struct {
	Subscription string `json:"subscription"`
	callapi.WebhookAttempt
}
