package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/dedupe"
	"github.com/callgw/callgw/internal/retry"
)

// QueueConfig describes a durable event queue of a customer application.
type QueueConfig struct {
	// URLs are the broker URLs; the consumer fails over between them.
	URLs []string
	// Prefix is the deployment's exchange prefix (CALLGW_AMQP_PREFIX), "" in production.
	Prefix string
	// Queue is the queue's name. Every process consuming the same name
	// shares its events (competing consumers: each event goes to one of
	// them). With RabbitMQ topic permissions a tenant's user may only
	// declare and read queues it is allowed: start the name with the
	// tenant ("acme.billing").
	Queue string
	// Patterns are the topic patterns bound (Pattern, TenantPattern,
	// TagPattern); at least one.
	Patterns []string
	// Prefetch is how many unacknowledged events a consumer holds
	// (default 32).
	Prefetch int
	// ConnectionName is shown by rabbitmqctl (default "callapi consumer").
	ConnectionName string
	// Classic declares a classic durable queue instead of a quorum queue
	// (the default: replicated, with a delivery limit).
	Classic bool
	// DeliveryLimit is the quorum queue's x-delivery-limit: an event whose
	// handler failed this many times is dropped (or dead-lettered by a
	// policy). Default 5.
	DeliveryLimit int
	// OnConsuming, when set, is called each time the consumer (re)starts
	// consuming: the queue exists and is bound.
	OnConsuming func()
	// OnError, when set, is told of connection losses and handler
	// failures (the consumer carries on).
	OnError func(error)
}

// EventHandler handles one event from a queue. Returning nil acknowledges
// it; an error returns it to the queue once, then (delivered again) it is
// rejected.
type EventHandler func(ctx context.Context, e *callapi.Event) error

// ConsumeEvents declares cfg.Queue (durable), binds it to the events
// exchange with cfg.Patterns, and hands its events to h, one at a time in
// queue order, until ctx ends (then it returns nil). It reconnects with
// backoff after a connection loss; the queue keeps the events published
// meanwhile. It returns an error at once for a bad config or a refused
// declaration (e.g. no permission), since retrying cannot cure those.
func ConsumeEvents(ctx context.Context, cfg QueueConfig, h EventHandler) error {
	if cfg.Queue == "" || len(cfg.Patterns) == 0 || len(cfg.URLs) == 0 || h == nil {
		return errors.New("callapi: ConsumeEvents needs URLs, a queue name, patterns and a handler")
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 32
	}
	if cfg.DeliveryLimit <= 0 {
		cfg.DeliveryLimit = 5
	}
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = "callapi consumer"
	}
	report := func(err error) {
		if cfg.OnError != nil && err != nil {
			cfg.OnError(err)
		}
	}
	seen := dedupe.NewRing[string](4096)
	fails := 0
	for i := 0; ; i++ {
		url := cfg.URLs[i%len(cfg.URLs)]
		err := consumeOnce(ctx, cfg, url, h, seen, func() { fails = 0 })
		if ctx.Err() != nil {
			return nil
		}
		var ae *amqp.Error
		if errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.PreconditionFailed || ae.Code == amqp.NotFound) {
			return fmt.Errorf("callapi: queue %s: %w", cfg.Queue, err)
		}
		report(fmt.Errorf("callapi: queue %s: %w", cfg.Queue, err))
		fails++
		if !retry.Sleep(ctx, retry.Backoff(fails-1, 200*time.Millisecond, 10*time.Second)) {
			return nil
		}
	}
}

// consumeOnce runs one connection: declare, bind, consume until the
// connection or ctx ends.
func consumeOnce(ctx context.Context, cfg QueueConfig, url string, h EventHandler, seen *dedupe.Ring[string], connected func()) error {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(cfg.ConnectionName)
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: props, Heartbeat: 10 * time.Second, Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
		return err
	}
	args := amqp.Table{}
	if !cfg.Classic {
		args["x-queue-type"] = "quorum"
		args["x-delivery-limit"] = int64(cfg.DeliveryLimit)
	}
	if _, err := ch.QueueDeclare(cfg.Queue, true, false, false, false, args); err != nil {
		return err
	}
	for _, p := range cfg.Patterns {
		if err := ch.QueueBind(cfg.Queue, p, cfg.Prefix+callapi.EventsExchange, false, nil); err != nil {
			return err
		}
	}
	ds, err := ch.ConsumeWithContext(ctx, cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	connected()
	if cfg.OnConsuming != nil {
		cfg.OnConsuming()
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-closed:
			if err == nil {
				return errors.New("connection closed")
			}
			return err
		case d, ok := <-ds:
			if !ok {
				return errors.New("consumer cancelled")
			}
			if err := handle(ctx, d, h, seen); err != nil {
				if cfg.OnError != nil {
					cfg.OnError(err)
				}
			}
		}
	}
}

// handle runs h on one delivery and acknowledges it: ack on success (and
// for a repeated id), reject without requeue for an undecodable body,
// requeue once for a handler error.
func handle(ctx context.Context, d amqp.Delivery, h EventHandler, seen *dedupe.Ring[string]) error {
	var e callapi.Event
	if err := json.Unmarshal(d.Body, &e); err != nil || e.ID == "" {
		_ = d.Reject(false)
		return fmt.Errorf("callapi: undecodable event %s rejected: %v", d.MessageId, err)
	}
	if seen.Seen(e.ID) { // the same event through a pattern and a tag copy
		return d.Ack(false)
	}
	if err := h(ctx, &e); err != nil {
		if nerr := d.Nack(false, !d.Redelivered); nerr != nil {
			return nerr
		}
		return fmt.Errorf("callapi: handler failed on event %s (%s): %w", e.ID, e.Type, err)
	}
	seen.Add(e.ID)
	return d.Ack(false)
}

// DeleteQueue deletes a queue made by ConsumeEvents (when an application
// is retired; its events are lost).
func DeleteQueue(ctx context.Context, url, queue string) error {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	_, err = ch.QueueDelete(queue, false, false, false)
	return err
}
