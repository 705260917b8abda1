package amqpbus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// spyQueue declares an exclusive queue on ch bound to exchange with key
// and consumes it.
func spyQueue(t *testing.T, ch *amqp.Channel, exchange, key string) <-chan amqp.Delivery {
	t.Helper()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// Many goroutines publish the events of their calls without waiting for
// the confirms: every call's events (and their tag copies) reach the
// queues in publish order, and every confirm succeeds.
func TestPublishEventAsyncOrderPerCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bus("events", func(c *Config) { c.PublishChannels = 4 })
	ch := rawChannel(t)
	if err := ch.Qos(1000, 0, false); err != nil {
		t.Fatal(err)
	}
	fan := spyQueue(t, ch, e.names.Events, "")
	tagged := spyQueue(t, ch, e.names.EventsRouted, "acme.tag.t1")

	const goroutines, callsEach, perCall = 16, 8, 25
	total := goroutines * callsEach * perCall
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var confirms []interface{ Wait(context.Context) error }
			// Interleave the goroutine's calls: c0#1, c1#1, …, c0#2, …
			for seq := 1; seq <= perCall; seq++ {
				for c := range callsEach {
					ev := &callapi.Event{
						ID: newID(), Type: callapi.EvCallDTMF, Time: time.Now(), Node: "pbx1", Tenant: "acme",
						CallID: callapi.CallID(fmt.Sprintf("g%d-c%d", g, c)), Seq: uint64(seq),
					}
					if c%2 == 0 {
						ev.Tags = []string{"t1"}
					}
					cf, err := b.PublishEventAsync(ctxFor(t, 10*time.Second), ev)
					if err != nil {
						errs <- err
						return
					}
					confirms = append(confirms, cf)
				}
			}
			for _, cf := range confirms {
				if err := cf.Wait(ctxFor(t, 10*time.Second)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(name string, ds <-chan amqp.Delivery, want int, tagged bool) {
		last := map[callapi.CallID]uint64{}
		for n := 0; n < want; n++ {
			select {
			case d := <-ds:
				var ev callapi.Event
				if err := json.Unmarshal(d.Body, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Seq != last[ev.CallID]+1 {
					t.Fatalf("%s: call %s: seq %d after %d", name, ev.CallID, ev.Seq, last[ev.CallID])
				}
				last[ev.CallID] = ev.Seq
				if tagged && d.Headers[HeaderTag] != "t1" {
					t.Fatalf("%s: tag header %v", name, d.Headers)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: %d of %d events", name, n, want)
			}
		}
		for id, s := range last {
			if s != perCall {
				t.Fatalf("%s: call %s ends at seq %d", name, id, s)
			}
		}
	}
	check("fanout", fan, total, false)
	check("tag copies", tagged, total/2, true)
	if s := b.Stats(); s.Nacked != 0 || s.Returned != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A nack and a lost channel surface from Wait; the bus stays usable.
func TestPublishEventAsyncFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bus("events", func(c *Config) { c.PublishChannels = 1 })
	ev := func() *callapi.Event {
		return &callapi.Event{ID: newID(), Type: callapi.EvCallAnswered, Time: time.Now(), Node: "pbx1", Tenant: "acme", CallID: "c1", Seq: 1}
	}
	publishWait := func(t *testing.T) error {
		t.Helper()
		cf, err := b.PublishEventAsync(ctxFor(t, 5*time.Second), ev())
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		return cf.Wait(ctxFor(t, 5*time.Second))
	}
	if err := publishWait(t); err != nil {
		t.Fatal(err)
	}

	t.Run("nack", func(t *testing.T) {
		// A queue that refuses every message: the broker nacks the event.
		ch := rawChannel(t)
		q, err := ch.QueueDeclare("", false, true, true, false, amqp.Table{"x-max-length": int64(0), "x-overflow": "reject-publish"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(q.Name, "", e.names.Events, false, nil); err != nil {
			t.Fatal(err)
		}
		before := b.Stats().Nacked
		err = publishWait(t)
		if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
			t.Fatalf("Wait = %v, want a nack (node_unavailable)", err)
		}
		if b.Stats().Nacked != before+1 {
			t.Fatalf("nack not counted: %+v", b.Stats())
		}
		if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
			t.Fatal(err)
		}
		if err := publishWait(t); err != nil {
			t.Fatalf("after the refusing queue is gone: %v", err)
		}
	})

	t.Run("channel lost", func(t *testing.T) {
		// Publishing to a missing exchange closes the channel (404): the
		// events written on it fail, none is reported confirmed.
		ch := rawChannel(t)
		if err := ch.ExchangeDelete(e.names.Events, false, false); err != nil {
			t.Fatal(err)
		}
		var confirms []interface{ Wait(context.Context) error }
		for range 5 {
			cf, err := b.PublishEventAsync(ctxFor(t, 5*time.Second), ev())
			if err != nil {
				break // the channel died under the burst: nothing was written
			}
			confirms = append(confirms, cf)
		}
		if len(confirms) == 0 {
			t.Fatal("nothing published")
		}
		for i, cf := range confirms {
			if err := cf.Wait(ctxFor(t, 5*time.Second)); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
				t.Fatalf("Wait %d = %v, want the channel's loss (node_unavailable)", i, err)
			}
			// A verdict is final.
			if err := cf.Wait(ctxFor(t, time.Second)); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
				t.Fatalf("second Wait %d = %v", i, err)
			}
		}
		// The exchange back (as a reconnection would declare it): the
		// slot's replacement channel publishes again.
		if err := ch.ExchangeDeclare(e.names.Events, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := publishWait(t); err != nil {
			t.Fatalf("after the channel was replaced: %v", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		cf, err := b.PublishEventAsync(ctxFor(t, 5*time.Second), ev())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		// An ended ctx may lose the race with an early confirm; otherwise
		// it is a timeout and the confirm can still be waited for.
		if err := cf.Wait(ctx); err != nil && callapi.ErrorCode(err) != callapi.CodeTimeout {
			t.Fatalf("Wait(ended ctx) = %v", err)
		}
		if err := cf.Wait(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	})

	if _, err := b.PublishEventAsync(ctxFor(t, time.Second), &callapi.Event{}); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Fatalf("empty event: %v", err)
	}
}
