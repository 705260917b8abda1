package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
)

// A worker stopped gracefully under work announces node.draining, serves
// its calls and finishes its commands in flight, and only then announces
// node.down: no 503 "node is down" during the drain.
func TestGracefulStopDrainsBeforeDown(t *testing.T) {
	s := startStack(t, "pbx1")
	s.pbx("pbx1").AddExtension("slow", arisim.Endpoint{RingFor: 1500 * time.Millisecond}) // in deploy/asterisk too
	sp := s.spy(callapi.ExchangeEventsRouted, "_.pbx1.node.#")
	st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"})
	if st != http.StatusCreated {
		t.Fatalf("first call: %d %s", st, b)
	}
	var live callapi.Call
	mustJSON(t, b, &live)

	var wg sync.WaitGroup
	var slowStatus int
	var slowBody []byte
	var slowDone time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		slowStatus, _, slowBody = s.do("POST", "/v1/calls?timeout=10s", map[string]any{"to": "Local/slow@callgw-test", "wait": "answered", "node": "pbx1"})
		slowDone = time.Now()
	}()
	time.Sleep(300 * time.Millisecond) // the slow originate is ringing
	stopped := make(chan struct{})
	go func() { s.stopWorker["pbx1"](); close(stopped) }()
	time.Sleep(300 * time.Millisecond) // draining
	if st, _, b := s.do("GET", "/v1/calls/"+string(live.ID), nil); st != http.StatusOK {
		t.Errorf("GET of a live call during the drain: %d %s", st, b)
	}
	wg.Wait()
	<-stopped
	if slowStatus != http.StatusCreated {
		t.Fatalf("originate in flight at the stop: %d %s", slowStatus, slowBody)
	}
	evs := sp.collect(500 * time.Millisecond)
	if len(evs) != 2 || evs[0].Type != callapi.EvNodeDraining || evs[1].Type != callapi.EvNodeDown {
		t.Fatalf("node events %v, want [node.draining node.down]", evs)
	}
	if evs[1].Time.Before(slowDone.Add(-50 * time.Millisecond)) {
		t.Errorf("node.down at %v, before the command in flight finished at %v", evs[1].Time, slowDone)
	}
}

// A gateway (re)started while nodes are up serves HTTP only once it has
// heard them: its very first request succeeds instead of a 503 "no node
// is up".
func TestRestartedGatewayServesAfterHeartbeats(t *testing.T) {
	s := startStack(t, "pbx1")
	g, err := stack.NewGateway(&config.Gateway{Common: config.Common{AMQPURLs: []string{s.url}, LogLevel: "info", Prefix: s.prefix},
		HTTPAddr: "127.0.0.1:0", DefaultTimeout: 5 * time.Second, MaxTimeout: 60 * time.Second}, testLogger(t).Named("gateway2"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway2: %v", err)
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for g.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("gateway2 never listened")
		}
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Post("http://"+g.Addr().String()+"/v1/calls", "application/json",
		strings.NewReader(`{"to":"Local/answer@callgw-test","wait":"answered"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first request to a fresh gateway: %d %s", resp.StatusCode, b)
	}
}
