package main

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// TestNodeEventsOnSSE: a worker stopping shows on the gateway's SSE stream
// as node.draining then node.down (they belong to no tenant, and a
// tenant's stream carries them), read with the SDK.
func TestNodeEventsOnSSE(t *testing.T) {
	s := startStack(t, "pbx1", "pbx2")
	c, err := callapi.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connected := make(chan struct{}, 1)
	st := c.Events(ctx, callapi.EventFilter{Types: []string{"node."}, Node: "pbx2"}, callapi.StreamOptions{OnConnect: func() { connected <- struct{}{} }})
	defer st.Close()
	got := make(chan *callapi.Event, 8)
	go func() {
		for e, err := range st.All() {
			if err != nil {
				close(got)
				return
			}
			got <- e
		}
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("stream not connected")
	}
	s.stopWorker["pbx2"]()
	var types []gateway.EventType
	for len(types) < 2 {
		select {
		case e, ok := <-got:
			if !ok {
				t.Fatalf("stream ended after %v", types)
			}
			if e.Node != "pbx2" {
				t.Fatalf("event of node %s on a node=pbx2 stream", e.Node)
			}
			types = append(types, e.Type)
		case <-ctx.Done():
			t.Fatalf("node events on SSE: %v, want node.draining and node.down", types)
		}
	}
	if types[0] != gateway.EvNodeDraining || types[1] != gateway.EvNodeDown {
		t.Fatalf("node events on SSE = %v, want [node.draining node.down]", types)
	}
}
