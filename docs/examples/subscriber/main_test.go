package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPrintsMatchingEvents runs the example against the real broker: it
// prints the events its pattern names and no others.
func TestPrintsMatchingEvents(t *testing.T) {
	url := testenv.BrokerURL()
	testenv.NeedBroker(t, url)
	prefix := "ex" + uuid.NewString()[:8] + "."
	pub, err := amqpbus.New(amqpbus.Config{URLs: []string{url}, Prefix: prefix, ConnectionName: "callgw example test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.Run(ctx) }()
	if err := pub.Ready(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is required under CI: %v", err)
		}
		t.Skipf("no RabbitMQ: %v", err)
	}

	var out, errOut syncBuf
	ready := make(chan struct{})
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() {
		subDone <- run(subCtx, []string{"-url", url, "-prefix", prefix, "*.pbx1.call.#"}, &out, &errOut, ready)
	}()
	select {
	case <-ready:
	case err := <-subDone:
		t.Fatalf("subscriber: %v %s", err, errOut.String())
	}
	for _, e := range []*callapi.Event{
		{ID: uuid.NewString(), Type: callapi.EvCallCreated, Tenant: "acme", Node: "pbx1", CallID: "c1", Time: time.Now()},
		{ID: uuid.NewString(), Type: callapi.EvCallCreated, Tenant: "acme", Node: "pbx2", CallID: "c2", Time: time.Now()},
		{ID: uuid.NewString(), Type: callapi.EvCallHangup, Tenant: "acme", Node: "pbx1", CallID: "c1", Time: time.Now()},
	} {
		if err := pub.PublishEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	stopSub()
	if err := <-subDone; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e callapi.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, string(e.CallID)+" "+string(e.Type))
	}
	if strings.Join(got, ",") != "c1 call.created,c1 call.hangup" {
		t.Fatalf("printed %v, want c1's two events only", got)
	}
	cancel()
	<-pubDone
	// Leave nothing behind on the shared broker.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if err := amqpbus.DeleteTopology(dctx, url, prefix); err != nil {
		t.Logf("cleanup: %v", err)
	}
}
