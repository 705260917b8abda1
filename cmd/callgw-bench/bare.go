package main

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// bareRPC is the broker's ceiling for the command path: a server consuming
// a queue with manual acks and answering on direct reply-to, and a client
// publishing with correlation ids and matching the replies. Plain
// amqp091-go: no confirms, no mandatory, fixed bodies of the command
// path's sizes, no JSON work.
type bareRPC struct {
	sconn, cconn *amqp.Connection
	cch          *amqp.Channel
	queue        string
	req          []byte
	mu           sync.Mutex
	wait         map[string]chan struct{}
	wg           sync.WaitGroup
}

func newBareRPC(ctx context.Context, amqpURL, name string, req, reply []byte, prefetch int) (_ *bareRPC, err error) {
	b := &bareRPC{req: req, wait: map[string]chan struct{}{}}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if b.sconn, err = dialAMQP(amqpURL, name+" server"); err != nil {
		return nil, err
	}
	if b.cconn, err = dialAMQP(amqpURL, name+" client"); err != nil {
		return nil, err
	}
	var sch *amqp.Channel
	var reqs <-chan amqp.Delivery
	err = bounded(ctx, b.sconn, "bare rpc server", func() error {
		var err error
		if sch, err = b.sconn.Channel(); err != nil {
			return err
		}
		if err := sch.Qos(prefetch, 0, false); err != nil {
			return err
		}
		q, err := sch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return err
		}
		b.queue = q.Name
		reqs, err = sch.Consume(q.Name, "", false, true, false, false, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for d := range reqs {
			_ = sch.Publish("", d.ReplyTo, false, false, amqp.Publishing{ContentType: "application/json", CorrelationId: d.CorrelationId, Body: reply})
			_ = d.Ack(false)
		}
	}()
	var replies <-chan amqp.Delivery
	err = bounded(ctx, b.cconn, "bare rpc client", func() error {
		var err error
		if b.cch, err = b.cconn.Channel(); err != nil {
			return err
		}
		replies, err = b.cch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for d := range replies {
			b.mu.Lock()
			c := b.wait[d.CorrelationId]
			delete(b.wait, d.CorrelationId)
			b.mu.Unlock()
			if c != nil {
				close(c)
			}
		}
	}()
	return b, nil
}

func (b *bareRPC) call(ctx context.Context) error {
	id := uuid.NewString()
	c := make(chan struct{})
	b.mu.Lock()
	b.wait[id] = c
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.wait, id)
		b.mu.Unlock()
	}()
	err := b.cch.PublishWithContext(ctx, "", b.queue, false, false, amqp.Publishing{
		ContentType: "application/json", CorrelationId: id, MessageId: id, ReplyTo: "amq.rabbitmq.reply-to", Body: b.req,
	})
	if err != nil {
		return err
	}
	return await(ctx, c, "bare reply")
}

// close closes both connections, which ends both goroutines.
func (b *bareRPC) close() {
	closeAMQP(b.cconn)
	closeAMQP(b.sconn)
	b.wg.Wait()
}

// bareFanout is the broker's ceiling for events: one publisher → a fanout
// exchange → one queue → one consumer (auto-ack, as the subscriber), with
// at most credit messages between publisher and consumer so the queue
// does not grow without bound.
type bareFanout struct {
	conn     *amqp.Connection
	pch      *amqp.Channel
	exchange string
	key      string
	body     []byte
	credit   chan struct{}
	consumed atomic.Int64
	wg       sync.WaitGroup
}

func newBareFanout(ctx context.Context, amqpURL, name, exchange string, body []byte, key string, credit int) (_ *bareFanout, err error) {
	f := &bareFanout{exchange: exchange, body: body, key: key, credit: make(chan struct{}, credit)}
	if f.conn, err = dialAMQP(amqpURL, name); err != nil {
		return nil, err
	}
	var d <-chan amqp.Delivery
	err = bounded(ctx, f.conn, "bare fanout", func() error {
		var err error
		if f.pch, err = f.conn.Channel(); err != nil {
			return err
		}
		if err = f.pch.ExchangeDeclare(exchange, amqp.ExchangeFanout, false, true, false, false, nil); err != nil {
			return err
		}
		cch, err := f.conn.Channel()
		if err != nil {
			return err
		}
		q, err := cch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return err
		}
		if err = cch.QueueBind(q.Name, "", exchange, false, nil); err != nil {
			return err
		}
		d, err = cch.Consume(q.Name, "", true, true, false, false, nil)
		return err
	})
	if err != nil {
		closeAMQP(f.conn)
		return nil, err
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for range d {
			f.consumed.Add(1)
			select {
			case <-f.credit:
			default:
			}
		}
	}()
	return f, nil
}

// publish publishes until ctx ends, waiting for credit before each message.
func (f *bareFanout) publish(ctx context.Context) error {
	for {
		select {
		case f.credit <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		if err := f.pch.PublishWithContext(ctx, f.exchange, f.key, false, false, amqp.Publishing{ContentType: "application/json", Body: f.body}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// close closes the connection; the exchange is auto-delete and goes with
// its queue.
func (f *bareFanout) close() {
	closeAMQP(f.conn)
	f.wg.Wait()
}
