package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// dispatch consumes the intake queue and copies each event into the queue
// of every subscription it matches, acknowledging the event once the broker
// confirmed every copy: an event is never lost between the two. The intake
// queue has a single active consumer, so copies keep the events' order.
func dispatch(ctx context.Context, conn *amqp.Connection, n Names, store *Store, log *zap.Logger) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := declareIntake(ch, n); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	if err := ch.Qos(256, 0, false); err != nil {
		return err
	}
	ds, err := ch.ConsumeWithContext(ctx, n.Intake(), "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	type pend struct {
		d  amqp.Delivery
		cs []*amqp.DeferredConfirmation
	}
	pending := make(chan pend, 256)
	defer close(pending)
	go func() {
		for p := range pending {
			ok := true
			for _, c := range p.cs {
				if got, err := c.WaitContext(ctx); err != nil || !got {
					ok = false
				}
			}
			if ok {
				_ = p.d.Ack(false)
			} else {
				_ = p.d.Nack(false, true)
			}
		}
	}()
	declared := map[string]bool{}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-closed:
			return fmt.Errorf("webhook: intake channel closed: %v", e)
		case d, ok := <-ds:
			if !ok {
				return fmt.Errorf("webhook: intake consumer ended")
			}
			cs, err := fanOut(ctx, ch, n, store, declared, d.Body)
			if err != nil {
				log.Warn("event not dispatched", zap.Error(err))
			}
			pending <- pend{d: d, cs: cs}
		}
	}
}

// fanOut publishes one event to the queues of the subscriptions it matches.
func fanOut(ctx context.Context, ch *amqp.Channel, n Names, store *Store, declared map[string]bool, body []byte) ([]*amqp.DeferredConfirmation, error) {
	var e callapi.Event
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		return nil, fmt.Errorf("undecodable event: %v", err)
	}
	key := string(e.CallID)
	if key == "" {
		key = e.SubjectID()
	}
	var cs []*amqp.DeferredConfirmation
	for _, sub := range store.List("") {
		if !sub.Match(&e) {
			continue
		}
		if !declared[sub.ID] {
			if err := declareSub(ch, n, sub.ID); err != nil {
				return cs, err
			}
			declared[sub.ID] = true
		}
		c, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", n.Queue(sub.ID), false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, ContentType: "application/json", MessageId: e.ID, Type: string(e.Type),
			Headers: amqp.Table{hdrKey: key}, Body: body,
		})
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Headers of delivery messages.
const (
	hdrKey     = "x-callgw-key"     // call id (or subject id): the unit of ordering
	hdrAttempt = "x-callgw-attempt" // failed attempts so far
	hdrFirst   = "x-callgw-first"   // unix ms of the first attempt
	hdrParked  = "x-callgw-parked"  // the message comes back from the wait queue
)
