package client

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

func testBroker(t *testing.T) string {
	t.Helper()
	u := testenv.BrokerURL()
	testenv.NeedBroker(t, u)
	return u
}

// startBus runs a bus on a test-unique prefix (it declares the topology)
// and returns it with the prefix.
func startBus(t *testing.T) (*amqpbus.Bus, string) {
	t.Helper()
	prefix := "sdk" + uuid.NewString()[:8] + "."
	bus, err := amqpbus.New(amqpbus.Config{URLs: []string{testBroker(t)}, Prefix: prefix, ConnectionName: "callapi test publisher"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := bus.Ready(rctx); err != nil {
		cancel()
		<-done
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is required under CI: %v", err)
		}
		t.Skipf("no RabbitMQ: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		if err := amqpbus.DeleteTopology(dctx, testBroker(t), prefix); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return bus, prefix
}

type consumer struct {
	cancel context.CancelFunc
	done   chan error
}

func (c *consumer) stop(t *testing.T) {
	c.cancel()
	if err := <-c.done; err != nil {
		t.Errorf("ConsumeEvents: %v", err)
	}
}

func startConsumer(t *testing.T, cfg QueueConfig, h EventHandler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{}, 1)
	cfg.OnConsuming = func() { ready <- struct{}{} }
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- ConsumeEvents(ctx, cfg, h) }()
	select {
	case <-ready:
	case err := <-c.done:
		t.Fatalf("ConsumeEvents: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("consumer not consuming within 10s")
	}
	return c
}

// TestConsumeEventsDurableCompeting: two consumers of one durable queue
// share its events (each event handled once, both get some); events of
// other tenants and types are not bound; events published while nobody
// consumes wait in the queue; a failed handler gets the event again once.
func TestConsumeEventsDurableCompeting(t *testing.T) {
	bus, prefix := startBus(t)
	queue := prefix + "acme.billing"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := DeleteQueue(ctx, testBroker(t), queue); err != nil {
			t.Errorf("DeleteQueue: %v", err)
		}
	})
	cfg := QueueConfig{URLs: []string{testBroker(t)}, Prefix: prefix, Queue: queue, Prefetch: 1,
		Patterns: []string{callapi.Pattern("acme", "", "call", "created", "")}}

	var mu sync.Mutex
	count := map[string]int{}          // event id -> handled
	by := map[string]map[string]bool{} // consumer -> ids
	failOnce := map[string]bool{}
	handler := func(name string) EventHandler {
		return func(_ context.Context, e *callapi.Event) error {
			mu.Lock()
			defer mu.Unlock()
			count[e.ID]++
			if by[name] == nil {
				by[name] = map[string]bool{}
			}
			by[name][e.ID] = true
			if e.CallID == "fail-once" && !failOnce[e.ID] {
				failOnce[e.ID] = true
				return errors.New("not now")
			}
			time.Sleep(5 * time.Millisecond) // lets the other consumer take some
			return nil
		}
	}
	a := startConsumer(t, cfg, handler("a"))
	b := startConsumer(t, cfg, handler("b"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publish := func(tenant string, typ callapi.EventType, call string) string {
		e := &callapi.Event{ID: uuid.NewString(), Type: typ, Time: time.Now().UTC(), Node: "pbx1", Tenant: tenant, CallID: callapi.CallID(call), Data: []byte(`{}`)}
		if err := bus.PublishEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	var want []string
	for i := range 20 {
		want = append(want, publish("acme", callapi.EvCallCreated, "c"+string(rune('a'+i))))
		publish("beta", callapi.EvCallCreated, "x")
		publish("acme", callapi.EvCallHangup, "y")
	}
	want = append(want, publish("acme", callapi.EvCallCreated, "fail-once"))
	testenv.WaitFor(t, "every event consumed, fail-once twice", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(count) >= len(want) && count[want[len(want)-1]] == 2
	})
	a.stop(t)
	b.stop(t)

	// Published while nobody consumes: kept by the durable queue.
	later := []string{publish("acme", callapi.EvCallCreated, "l1"), publish("acme", callapi.EvCallCreated, "l2")}
	want = append(want, later...)
	c := startConsumer(t, cfg, handler("c"))
	testenv.WaitFor(t, "the events published while nobody consumed", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return by["c"][later[0]] && by["c"][later[1]]
	})
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	c.stop(t)

	mu.Lock()
	defer mu.Unlock()
	if len(count) != len(want) {
		t.Errorf("%d distinct events handled, want %d (other tenants or types leaked in?)", len(count), len(want))
	}
	for i, id := range want {
		n := count[id]
		if (i == 20 && n != 2) || (i != 20 && n != 1) {
			t.Errorf("event %d handled %d times", i, n)
		}
	}
	if len(by["a"]) == 0 || len(by["b"]) == 0 {
		t.Errorf("competing consumers: a got %d, b got %d", len(by["a"]), len(by["b"]))
	}
}
