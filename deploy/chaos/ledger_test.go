package chaos

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// ledger is every event of the system's calls, from a quorum queue bound
// to the routed events (it survives broker restarts and node losses), read
// by a consumer that reconnects on its own.
type ledger struct {
	t      *testing.T
	urls   []string
	queue  string
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	events map[callapi.CallID][]callapi.Event
	seen   map[string]bool
}

func newLedger(t *testing.T, urls []string, prefix string) *ledger {
	ctx, cancel := context.WithCancel(context.Background())
	l := &ledger{t: t, urls: urls, queue: prefix + "chaos.ledger", cancel: cancel, done: make(chan struct{}),
		events: map[callapi.CallID][]callapi.Event{}, seen: map[string]bool{}}
	// The exchanges exist once a callgw process connected: declare them
	// (idempotent, same arguments) so the ledger binds before any worker.
	ready := make(chan error, 1)
	go l.run(ctx, prefix, ready)
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("ledger: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ledger not consuming after 20s")
	}
	return l
}

func (l *ledger) close() {
	l.cancel()
	<-l.done
	for _, u := range l.urls {
		if c, err := amqp.Dial(u); err == nil {
			if ch, err := c.Channel(); err == nil {
				_, _ = ch.QueueDelete(l.queue, false, false, false)
			}
			_ = c.Close()
			return
		}
	}
}

func (l *ledger) run(ctx context.Context, prefix string, ready chan<- error) {
	defer close(l.done)
	first := true
	for i := 0; ctx.Err() == nil; i++ {
		url := l.urls[i%len(l.urls)]
		err := l.consume(ctx, url, prefix, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil && !first {
			_ = err // reconnect
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (l *ledger) consume(ctx context.Context, url, prefix string, onReady func()) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": "chaos ledger " + strings.TrimSuffix(prefix, ".")}, Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	for _, x := range []struct{ name, kind string }{{prefix + "callapi.events", "fanout"}, {prefix + "callapi.events.routed", "topic"}} {
		if err := ch.ExchangeDeclare(x.name, x.kind, true, false, false, false, nil); err != nil {
			return err
		}
	}
	if err := ch.ExchangeBind(prefix+"callapi.events.routed", "", prefix+"callapi.events", false, nil); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(l.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return err
	}
	for _, k := range []string{"*.*.call.created.*", "*.*.call.hangup.*"} {
		if err := ch.QueueBind(l.queue, k, prefix+"callapi.events.routed", false, nil); err != nil {
			return err
		}
	}
	if err := ch.Qos(512, 0, false); err != nil {
		return err
	}
	ds, err := ch.Consume(l.queue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	onReady()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-closed:
			return e
		case d, ok := <-ds:
			if !ok {
				return nil
			}
			var e callapi.Event
			if json.Unmarshal(d.Body, &e) == nil {
				l.mu.Lock()
				if !l.seen[e.ID] {
					l.seen[e.ID] = true
					l.events[e.CallID] = append(l.events[e.CallID], e)
				}
				l.mu.Unlock()
			}
			_ = d.Ack(false)
		}
	}
}

// of returns the events of call id.
func (l *ledger) of(id callapi.CallID) []callapi.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]callapi.Event(nil), l.events[id]...)
}

// calls returns every call id with events.
func (l *ledger) calls() []callapi.CallID {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]callapi.CallID, 0, len(l.events))
	for id := range l.events {
		out = append(out, id)
	}
	return out
}

// countEnds fills r's count of call.hangup per call from the ledger (a
// quorum queue: it survives a broker node's loss) and logs every call
// that ended twice.
func (s *system) countEnds(r *result) {
	for _, id := range s.ledger.calls() {
		var reasons []string
		for _, e := range s.ledger.of(id) {
			if e.Type != callapi.EvCallHangup {
				continue
			}
			var d callapi.HangupData
			_ = json.Unmarshal(e.Data, &d)
			reasons = append(reasons, d.Reason+"@"+e.Time.Format("15:04:05.000"))
		}
		if len(reasons) == 0 {
			continue
		}
		r.ended++
		r.hangups += len(reasons)
		if len(reasons) > 1 {
			r.twoEnds++
			s.t.Logf("call %s has %d call.hangup, reasons %v", id, len(reasons), reasons)
		}
	}
}
