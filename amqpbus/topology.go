package amqpbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Topology, declared from this one place on every connection (all
// declarations are idempotent; docs/protocol.md lists them):
//
//	exchange callapi.commands       topic  durable
//	exchange callapi.events         fanout durable
//	exchange callapi.events.routed  topic  durable, bound to callapi.events (all keys)
//	exchange callapi.nodes          fanout durable
//	exchange callapi.dead           fanout durable
//	queue    callapi.dead           quorum durable, x-message-ttl, x-max-length, x-overflow drop-head
//	                                (a classic one left by protocol 1.x is kept: see declareDeadQueue)
//	queue    callapi.any            quorum durable, x-delivery-limit, x-dead-letter-exchange callapi.dead,
//	                                x-max-length, x-overflow reject-publish; bound cmd.any.#
//	queue    callapi.node.<id>      (worker only) classic exclusive, x-dead-letter-exchange callapi.dead,
//	                                x-max-length, x-overflow reject-publish; bound cmd.<id>.#, cmd.all.#
//	                                and nodes.ping (callapi.KeyNodesPing: answered with a heartbeat)
func declareTopology(conn *amqp.Connection, n Names, cfg Config) error {
	ch, err := conn.Channel()
	if err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.declare", err, "cannot open channel")
	}
	defer func() {
		if ch != nil {
			_ = ch.Close()
		}
	}()
	for _, x := range []struct{ name, kind string }{
		{n.Commands, amqp.ExchangeTopic},
		{n.Events, amqp.ExchangeFanout},
		{n.EventsRouted, amqp.ExchangeTopic},
		{n.Nodes, amqp.ExchangeFanout},
		{n.Dead, amqp.ExchangeFanout},
	} {
		if err := ch.ExchangeDeclare(x.name, x.kind, true, false, false, false, nil); err != nil {
			return declareErr("exchange "+x.name, err)
		}
	}
	if err := ch.ExchangeBind(n.EventsRouted, "", n.Events, false, nil); err != nil {
		return declareErr("binding "+n.Events+" -> "+n.EventsRouted, err)
	}
	if ch, err = declareDeadQueue(conn, ch, n, cfg); err != nil {
		return err
	}
	if err := ch.QueueBind(n.DeadQueue, "#", n.Dead, false, nil); err != nil {
		return declareErr("binding "+n.DeadQueue, err)
	}
	if _, err := ch.QueueDeclare(n.Any, true, false, false, false, anyQueueArgs(n, cfg)); err != nil {
		return declareErr("queue "+n.Any, err)
	}
	if err := ch.QueueBind(n.Any, callapi.CommandKey(callapi.TargetAny, "#"), n.Commands, false, nil); err != nil {
		return declareErr("binding "+n.Any, err)
	}
	return nil
}

func deadQueueArgs(cfg Config) amqp.Table {
	return amqp.Table{
		"x-queue-type":  amqp.QueueTypeQuorum,
		"x-message-ttl": cfg.DeadTTL.Milliseconds(),
		"x-max-length":  int64(cfg.DeadMaxLength),
		"x-overflow":    "drop-head",
	}
}

// declareDeadQueue declares the dead-letter queue as a quorum queue, so
// that dead letters survive a broker node like the any queue's work does.
// Brokers that ran an earlier protocol version hold a classic callapi.dead,
// and a queue's type cannot change in place (PRECONDITION_FAILED): then the
// classic queue is kept as it is (a passive declare checks it exists), with
// a warning that says how to migrate. It returns the channel to go on with
// (a new one when the first was closed by the refusal).
func declareDeadQueue(conn *amqp.Connection, ch *amqp.Channel, n Names, cfg Config) (*amqp.Channel, error) {
	_, err := ch.QueueDeclare(n.DeadQueue, true, false, false, false, deadQueueArgs(cfg))
	if err == nil {
		return ch, nil
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return ch, declareErr("queue "+n.DeadQueue, err)
	}
	if ch, err = conn.Channel(); err != nil {
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.declare", err, "cannot open channel")
	}
	if _, err := ch.QueueDeclarePassive(n.DeadQueue, true, false, false, false, nil); err != nil {
		_ = ch.Close()
		return nil, declareErr("queue "+n.DeadQueue, err)
	}
	cfg.Log.Warn("the dead-letter queue is not a quorum queue (declared by protocol 1.x): kept as it is; delete it (rabbitmqctl delete_queue "+n.DeadQueue+") once empty to have it re-declared as a quorum queue",
		zap.String("queue", n.DeadQueue), zap.String("refused", ae.Reason))
	return ch, nil
}

func anyQueueArgs(n Names, cfg Config) amqp.Table {
	return amqp.Table{
		"x-queue-type":           amqp.QueueTypeQuorum,
		"x-delivery-limit":       int64(cfg.DeliveryLimit),
		"x-dead-letter-exchange": n.Dead,
		"x-max-length":           int64(cfg.MaxQueueLength),
		"x-overflow":             "reject-publish",
	}
}

func nodeQueueArgs(n Names, cfg Config) amqp.Table {
	return amqp.Table{
		"x-dead-letter-exchange": n.Dead,
		"x-max-length":           int64(cfg.MaxQueueLength),
		"x-overflow":             "reject-publish",
	}
}

// declareNodeQueue declares node's exclusive command queue on ch and binds
// it to its own commands, to broadcasts and to the nodes' ping.
func declareNodeQueue(ch *amqp.Channel, n Names, cfg Config, node callapi.NodeID) (string, error) {
	q := n.Node(node)
	if _, err := ch.QueueDeclare(q, false, false, true, false, nodeQueueArgs(n, cfg)); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.ResourceLocked {
			return "", callapi.Wrap(callapi.CodeConflict, "amqpbus.declare", err,
				fmt.Sprintf("node queue %s is held by another connection: is a second worker running as node %s?", q, node))
		}
		return "", declareErr("queue "+q, err)
	}
	for _, t := range []callapi.Target{callapi.NodeTarget(node), callapi.TargetAll} {
		if err := ch.QueueBind(q, callapi.CommandKey(t, "#"), n.Commands, false, nil); err != nil {
			return "", declareErr("binding "+q, err)
		}
	}
	if err := ch.QueueBind(q, callapi.KeyNodesPing, n.Commands, false, nil); err != nil {
		return "", declareErr("binding "+q, err)
	}
	return q, nil
}

func declareErr(what string, err error) error {
	return callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.declare", err, "cannot declare "+what)
}

// DeleteTopology deletes the durable exchanges and queues declared with
// prefix (the callapi.any quorum queue, the dead-letter queue, the
// exchanges) from the broker at url. It is for tests that use a unique
// prefix on a shared broker: a leaked quorum queue keeps files open in
// the broker, and a few hundred of them exhaust its file descriptors. It
// refuses the empty (production) prefix. The default tenant's history
// stream and the history streams that buses of this process declared
// under prefix go too.
func DeleteTopology(ctx context.Context, url, prefix string) error {
	if prefix == "" {
		return errors.New("amqpbus: DeleteTopology refuses the empty (production) prefix")
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := amqp.DialConfig(url, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) { return d.DialContext(ctx, network, addr) },
	})
	if err != nil {
		return fmt.Errorf("amqpbus: delete topology: %w", err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("amqpbus: delete topology: %w", err)
	}
	n := newNames(prefix)
	var errs []error
	// The webhook base queues too (callgw dev serves and delivers
	// webhooks); subscriptions' queues go with their subscriptions.
	queues := []string{n.Any, n.DeadQueue, prefix + callapi.QueueWebhookIntake, prefix + callapi.QueueWebhookSubscriptions, prefix + callapi.QueueWebhookLog}
	// The default tenant's history stream: gateways started as other
	// processes (the chaos suite, the examples) declare it under prefix.
	queues = append(queues, n.History(callapi.DefaultTenant))
	for _, t := range declaredHistories(prefix) {
		if t != callapi.DefaultTenant {
			queues = append(queues, n.History(t))
		}
	}
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, err)
			if ch, err = conn.Channel(); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	for _, x := range []string{n.EventsRouted, n.Events, n.Commands, n.Nodes, n.Dead} {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			errs = append(errs, err)
			if ch, err = conn.Channel(); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	return errors.Join(errs...)
}
