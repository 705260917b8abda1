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
	return dialBroker(ctx, url, brokerConn{name: name, product: "callgw", heartbeat: 10 * time.Second,
		timeout: 10 * time.Second, op: "amqpbus.Dialer"})
}

// brokerConn is how a connection to the broker is opened: its client name
// and product (shown in the broker's management UI), heartbeat, the bound
// on the TCP connect and the AMQP handshake, and the operation its error
// names.
type brokerConn struct {
	name, product, op  string
	heartbeat, timeout time.Duration
}

// dialBroker opens one connection to url as c says: the Bus's and a
// Dialer's connections alike.
func dialBroker(ctx context.Context, url string, c brokerConn) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.name)
	props["product"] = c.product
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat:  c.heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: c.timeout}
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bounds the AMQP handshake; amqp091 clears it once open.
			if err := nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
				_ = nc.Close()
				return nil, err
			}
			return nc, nil
		},
	})
	if err != nil {
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, c.op, err, "cannot connect to broker "+redact(url))
	}
	return conn, nil
}
