package main

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// brokerTimeout bounds every setup exchange with the broker (declare,
// bind, consume, delete). amqp091-go's channel methods take no context.
const brokerTimeout = 15 * time.Second

// dialAMQP opens a named connection; the dial and handshake are bounded.
func dialAMQP(url, name string) (*amqp.Connection, error) {
	return amqp.DialConfig(url, amqp.Config{
		Properties: amqp.Table{"connection_name": name},
		Dial:       amqp.DefaultDial(5 * time.Second),
	})
}

// closeAMQP closes conn, waiting for the broker's answer at most a few
// seconds.
func closeAMQP(conn *amqp.Connection) {
	if conn != nil {
		_ = conn.CloseDeadline(time.Now().Add(3 * time.Second))
	}
}

// bounded runs f, which talks to the broker over conn only, and gives up
// after d or when ctx ends: conn is then torn down, which makes f return,
// so no goroutine is left behind.
func bounded(ctx context.Context, conn *amqp.Connection, what string, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(brokerTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	closeAMQP(conn)
	<-done
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	return fmt.Errorf("%s: no answer from the broker within %v", what, brokerTimeout)
}
