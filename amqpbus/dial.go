package amqpbus

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// Dialer returns a function that opens a plain connection, named name, to
// the first of urls that answers, starting after the one that answered
// last: for the components that hold connections of their own outside the
// Bus (webhook delivery). The dial and the AMQP handshake are bounded by
// 10 s each.
func Dialer(urls []string, name string) func(ctx context.Context) (*amqp.Connection, error) {
	var mu sync.Mutex
	next := 0
	return func(ctx context.Context) (*amqp.Connection, error) {
		if len(urls) == 0 {
			return nil, errors.New("amqpbus: no broker URL")
		}
		mu.Lock()
		start := next
		mu.Unlock()
		var errs []error
		for i := range urls {
			k := (start + i) % len(urls)
			conn, err := dialOne(ctx, urls[k], name)
			if err == nil {
				mu.Lock()
				next = k
				mu.Unlock()
				return conn, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
}

func dialOne(ctx context.Context, url, name string) (*amqp.Connection, error) {
	const timeout = 10 * time.Second
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	props["product"] = "callgw"
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.Dialer", err, "cannot connect to broker "+redact(url))
	}
	return conn, nil
}
