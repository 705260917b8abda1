package webhook

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// Names are the broker objects of webhooks, with a prefix (tests use a
// run-unique one), and the type of the per-subscription queues.
type Names struct {
	Prefix string
	// QueueType is the type of each subscription's delivery and dead
	// queues: "quorum" (the default: replicated, for clusters) or
	// "classic" (durable, one file set per queue instead of a Raft
	// member: cheaper when a broker holds thousands of subscriptions, or
	// has a single node anyway). Every process of a deployment must use
	// the same type: the broker refuses to redeclare a queue with
	// another one.
	QueueType string
}

// QueueTypeQuorum and QueueTypeClassic are the values of Names.QueueType.
const (
	QueueTypeQuorum  = "quorum"
	QueueTypeClassic = "classic"
)

func (n Names) queueType() string {
	if n.QueueType == "" {
		return QueueTypeQuorum
	}
	return n.QueueType
}

// Events is the fanout exchange of events the intake queue is bound to.
func (n Names) Events() string { return n.Prefix + callapi.ExchangeEvents }

// Subscriptions is the stream holding every change of every subscription.
func (n Names) Subscriptions() string { return n.Prefix + callapi.QueueWebhookSubscriptions }

// Log is the stream of delivery attempts.
func (n Names) Log() string { return n.Prefix + callapi.QueueWebhookLog }

// Intake is the quorum queue bound to the events exchange.
func (n Names) Intake() string { return n.Prefix + callapi.QueueWebhookIntake }

// Queue is a subscription's delivery queue.
func (n Names) Queue(id string) string { return n.Prefix + callapi.QueueWebhookPrefix + id }

// Wait is a subscription's retry queue: messages wait out their TTL there
// and are dead-lettered back into Queue.
func (n Names) Wait(id string) string { return n.Queue(id) + ".wait" }

// Dead is where deliveries go after their last retry.
func (n Names) Dead(id string) string { return n.Queue(id) + ".dead" }

// declareBase declares the events exchange and the two streams.
func declareBase(ch *amqp.Channel, n Names) error {
	if err := ch.ExchangeDeclare(n.Events(), amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Events(), err)
	}
	if _, err := ch.QueueDeclare(n.Subscriptions(), true, false, false, false, amqp.Table{"x-queue-type": "stream"}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Subscriptions(), err)
	}
	if _, err := ch.QueueDeclare(n.Log(), true, false, false, false, amqp.Table{"x-queue-type": "stream",
		"x-max-length-bytes": int64(256 << 20), "x-stream-max-segment-size-bytes": int64(8 << 20)}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Log(), err)
	}
	return nil
}

// declareIntake declares the intake queue, bound to the events exchange:
// from then on every event is kept for the delivery processes. Only a
// delivery process and the creation of a subscription declare it, so a
// deployment that never uses webhooks keeps no copy of its events.
func declareIntake(ch *amqp.Channel, n Names) error {
	if _, err := ch.QueueDeclare(n.Intake(), true, false, false, false, amqp.Table{"x-queue-type": "quorum",
		"x-single-active-consumer": true}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Intake(), err)
	}
	return ch.QueueBind(n.Intake(), "", n.Events(), false, nil)
}

// declareSub declares a subscription's three queues.
func declareSub(ch *amqp.Channel, n Names, id string) error {
	if _, err := ch.QueueDeclare(n.Queue(id), true, false, false, false, amqp.Table{"x-queue-type": n.queueType(),
		"x-single-active-consumer": true}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Queue(id), err)
	}
	if _, err := ch.QueueDeclare(n.Wait(id), true, false, false, false, amqp.Table{"x-queue-type": "classic",
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": n.Queue(id)}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Wait(id), err)
	}
	if _, err := ch.QueueDeclare(n.Dead(id), true, false, false, false, amqp.Table{"x-queue-type": n.queueType()}); err != nil {
		return fmt.Errorf("webhook: declare %s: %w", n.Dead(id), err)
	}
	return nil
}

// deleteSub deletes a subscription's queues.
func deleteSub(ch *amqp.Channel, n Names, id string) {
	for _, q := range []string{n.Queue(id), n.Wait(id), n.Dead(id)} {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
}

// DeleteAll deletes the base objects (tests clean up with it). Subscription
// queues are deleted with their subscription.
func DeleteAll(ctx context.Context, conn *amqp.Connection, n Names) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, q := range []string{n.Intake(), n.Subscriptions(), n.Log()} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// tailStream consumes a stream from its first record, calling fn for each
// body until the channel closes or ctx ends.
func tailStream(ctx context.Context, conn *amqp.Connection, queue string, fn func([]byte)) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(500, 0, false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	ds, err := ch.ConsumeWithContext(ctx, queue, "", false, false, false, false, amqp.Table{"x-stream-offset": "first"})
	if err != nil {
		_ = ch.Close()
		return nil, err
	}
	go func() {
		for d := range ds {
			fn(d.Body)
			_ = d.Ack(false)
		}
	}()
	return ch, nil
}
