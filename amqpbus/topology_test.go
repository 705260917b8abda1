package amqpbus

import (
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rawChannel opens a connection and channel of the test's own, closed at
// cleanup.
func (e *env) rawChannel() (*amqp.Connection, *amqp.Channel) {
	e.t.Helper()
	conn, err := amqp.DialConfig(brokerURL(), amqp.Config{Properties: amqp.Table{"connection_name": e.connName("raw")}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	return conn, ch
}

// TestTopologyQueuesAreQuorum: the any queue and the dead-letter queue are
// quorum queues (protocol 2: the dead queue was classic in 1.x), so both
// are replicated on a cluster. Re-declaring them with the quorum arguments
// succeeds only if they are quorum queues with those arguments.
func TestTopologyQueuesAreQuorum(t *testing.T) {
	e := newEnv(t)
	b := e.bus("gw", nil)
	cfg := b.cfg
	conn, ch := e.rawChannel()
	for name, args := range map[string]amqp.Table{
		e.names.DeadQueue: deadQueueArgs(cfg),
		e.names.Any:       anyQueueArgs(e.names, cfg),
	} {
		if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
			t.Fatalf("%s is not the quorum queue the protocol describes: %v", name, err)
		}
		// A classic declaration of the same name is refused: it is not classic.
		_, err := ch.QueueDeclare(name, true, false, false, false, nil)
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			t.Fatalf("%s: classic re-declaration: %v, want PRECONDITION_FAILED", name, err)
		}
		if ch, err = conn.Channel(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTopologyKeepsClassicDeadQueue: a broker that ran protocol 1.x holds a
// classic dead-letter queue; a bus connects anyway (keeping it, with a
// warning) instead of failing every connection on PRECONDITION_FAILED.
func TestTopologyKeepsClassicDeadQueue(t *testing.T) {
	e := newEnv(t)
	_, ch := e.rawChannel()
	if _, err := ch.QueueDeclare(e.names.DeadQueue, true, false, false, false, amqp.Table{"x-max-length": int64(10)}); err != nil {
		t.Fatal(err)
	}
	e.bus("gw", nil) // fails the test if not ready
}
