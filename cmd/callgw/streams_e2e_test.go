package main

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// TestNodeEventsOnStreams: a worker stopping shows on the gateway's SSE
// and WebSocket streams as node.draining then node.down (they belong to no
// tenant, and a tenant's stream carries them), read with the SDK.
func TestNodeEventsOnStreams(t *testing.T) {
	s := startStack(t, "pbx1", "pbx2")
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := client.EventFilter{Types: []callapi.EventType{"node."}, Node: "pbx2"}
	type result struct {
		name  string
		types []callapi.EventType
		err   error
	}
	results := make(chan result, 2)
	for name, open := range map[string]func(context.Context, client.EventFilter, client.StreamOptions) (*client.EventStream, error){"sse": c.Events, "websocket": c.EventsWS} {
		connected := make(chan struct{}, 1)
		st, err := open(ctx, f, client.StreamOptions{OnConnect: func() { connected <- struct{}{} }})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		go func() {
			r := result{name: name}
			for len(r.types) < 2 {
				e, err := st.Next()
				if err != nil {
					r.err = err
					break
				}
				if e.Node != "pbx2" {
					r.err = errNode(e.Node)
					break
				}
				r.types = append(r.types, e.Type)
			}
			results <- r
		}()
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatalf("%s stream not connected", name)
		}
	}
	s.stopWorker["pbx2"]()
	for range 2 {
		r := <-results
		if r.err != nil || len(r.types) != 2 || r.types[0] != callapi.EvNodeDraining || r.types[1] != callapi.EvNodeDown {
			t.Errorf("%s: node events %v (%v), want [node.draining node.down]", r.name, r.types, r.err)
		}
	}
}

type errNode callapi.NodeID

func (e errNode) Error() string { return "event of node " + string(e) + " on a node=pbx2 stream" }
