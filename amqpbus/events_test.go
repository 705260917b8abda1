package amqpbus

import (
	"os/exec"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// collector gathers events by id.
type collector struct {
	mu  sync.Mutex
	got map[string]int
}

func (c *collector) add(e *callapi.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]int{}
	}
	c.got[e.ID]++
}

func (c *collector) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.got {
		m[k] = v
	}
	return m
}

func TestEventsRoutingKeysAndTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bus("events", nil)
	subs := map[string]*collector{}
	for name, patterns := range map[string][]string{
		"all":        nil,
		"acme calls": {"acme.*.call.#"},
		"tag t1":     {"acme.tag.t1"},
		"tags+acme":  {"acme.tag.t1", "acme.tag.t2", "acme.#"},
		"pbx2":       {"*.pbx2.#"},
	} {
		c := &collector{}
		subs[name] = c
		sub, err := b.SubscribeEvents(ctxFor(t, 5*time.Second), patterns, c.add)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
	}
	// Spies at the broker: the fanout copy's routing key, and how many
	// copies a queue bound to <tenant>.tag.<tag> receives.
	ch := rawChannel(t)
	spy := func(exchange, key string) <-chan amqp.Delivery {
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
	fan := spy(e.names.Events, "")
	tag := spy(e.names.EventsRouted, "acme.tag.t1")

	e1 := &callapi.Event{ID: newID(), Type: callapi.EvCallPlaybackStarted, Time: time.Now(), Node: "pbx1", Tenant: "acme",
		CallID: "pbx1-1732550000.42", Tags: []string{"t1", "t2"}}
	e2 := &callapi.Event{ID: newID(), Type: callapi.EvCallAnswered, Time: time.Now(), Node: "pbx2", Tenant: "other", CallID: "c2"}
	for _, ev := range []*callapi.Event{e1, e2} {
		if err := b.PublishEvent(ctxFor(t, 5*time.Second), ev); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]int{
		"all":        {e1.ID: 1, e2.ID: 1},
		"acme calls": {e1.ID: 1},
		"tag t1":     {e1.ID: 1},
		"tags+acme":  {e1.ID: 1},
		"pbx2":       {e2.ID: 1},
	}
	for name, w := range want {
		testenv.WaitFor(t, name, 5*time.Second, func() bool { return len(subs[name].snapshot()) >= len(w) })
	}
	time.Sleep(200 * time.Millisecond) // room for wrong extra copies
	for name, w := range want {
		got := subs[name].snapshot()
		if len(got) != len(w) {
			t.Fatalf("%s got %v, want %v", name, got, w)
		}
		for id, n := range w {
			if got[id] != n {
				t.Fatalf("%s got %v, want %v", name, got, w)
			}
		}
	}
	keys := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case d := <-fan:
			keys[d.RoutingKey] = true
		case <-time.After(2 * time.Second):
			t.Fatal("fanout spy got nothing")
		}
	}
	if !keys["acme.pbx1.call.playback_started.pbx1-1732550000_42"] || !keys["other.pbx2.call.answered.c2"] {
		t.Fatalf("fanout routing keys %v", keys)
	}
	select {
	case d := <-tag:
		if d.MessageId != e1.ID || d.Headers[HeaderTag] != "t1" {
			t.Fatalf("tag copy %+v", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no tag copy")
	}
	select {
	case d := <-tag:
		t.Fatalf("second tag copy %s", d.MessageId)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bus("nodes", nil)
	got := make(chan *callapi.Heartbeat, 4)
	sub, err := b.SubscribeHeartbeats(ctxFor(t, 5*time.Second), func(hb *callapi.Heartbeat) { got <- hb })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	hb := &callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, App: "callgw", Capacity: 10, Healthy: true, IntervalMS: 1000, Time: time.Now()}
	if err := b.PublishHeartbeat(ctxFor(t, 5*time.Second), hb); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-got:
		if h.Node != "pbx1" || h.State != callapi.NodeUp || h.Capacity != 10 {
			t.Fatalf("heartbeat %+v", h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat")
	}
}

func TestSubscriptionRedeclaredAfterReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sb := e.bus("subscriber", nil)
	pub := e.bus("publisher", nil)
	c := &collector{}
	sub, err := sb.SubscribeEvents(ctxFor(t, 5*time.Second), []string{"acme.#"}, c.add)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first := sub.Queue()
	if n := e.closeConnections("subscriber"); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	testenv.WaitFor(t, "reconnection", 5*time.Second, func() bool {
		s := sb.State()
		return s.Connected && s.Reconnects >= 1 && sub.Queue() != first
	})
	ev := &callapi.Event{ID: newID(), Type: callapi.EvCallHangup, Node: "pbx1", Tenant: "acme", CallID: "c1"}
	if err := pub.PublishEvent(ctxFor(t, 5*time.Second), ev); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "event after reconnect", 5*time.Second, func() bool { return c.snapshot()[ev.ID] == 1 })

	// Closed: nothing more arrives.
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	ev2 := &callapi.Event{ID: newID(), Type: callapi.EvCallHangup, Node: "pbx1", Tenant: "acme", CallID: "c1"}
	if err := pub.PublishEvent(ctxFor(t, 5*time.Second), ev2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if c.snapshot()[ev2.ID] != 0 {
		t.Fatal("event delivered after Close")
	}
}

func TestSubscriptionSurvivesItsQueueDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bus("events", nil)
	c := &collector{}
	sub, err := b.SubscribeEvents(ctxFor(t, 5*time.Second), []string{"acme.#"}, c.add)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first := sub.Queue()
	// Exclusive: only an administrator can delete it from outside.
	if out, err := exec.Command("rabbitmqctl", "-q", "delete_queue", first).CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl delete_queue: %v %s", err, out)
	}
	testenv.WaitFor(t, "a new queue", 5*time.Second, func() bool { return sub.Queue() != first })
	ev := &callapi.Event{ID: newID(), Type: callapi.EvCallHangup, Node: "pbx1", Tenant: "acme", CallID: "c1"}
	if err := b.PublishEvent(ctxFor(t, 5*time.Second), ev); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the event", 5*time.Second, func() bool { return c.snapshot()[ev.ID] == 1 })
	if s := b.State(); s.Reconnects != 0 {
		t.Fatalf("a deleted queue cost a reconnection: %+v", s)
	}
}
