package amqpbus

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// A nodes.ping reaches every worker's OnPing (and never a command
// handler); WatchNodes pings each time it starts consuming and reports
// the ping's confirmation. Each worker is also poked once when its node
// queue is first consumed.
func TestWatchNodesPingsEveryWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var pings [2]atomic.Int32
	recs := [2]*recorder{newRecorder("pbx1"), newRecorder("pbx2")}
	var ws [2]*Bus
	for i, node := range []callapi.NodeID{"pbx1", "pbx2"} {
		ws[i] = e.worker(node, recs[i], ServeOptions{OnPing: func() { pings[i].Add(1) }}, nil)
	}
	for i := range pings {
		if n := pings[i].Load(); n != 1 {
			t.Fatalf("worker %d poked %d times once serving, want 1", i+1, n)
		}
	}
	gw := e.bus("gateway", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pinged := make(chan error, 4)
	sub, err := gw.WatchNodes(ctx, func(*callapi.Heartbeat) {}, func(_ time.Time, err error) { pinged <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	select {
	case err := <-pinged:
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("WatchNodes did not ping")
	}
	for i := range pings {
		for pings[i].Load() < 2 {
			if ctx.Err() != nil {
				t.Fatalf("worker %d did not get the ping", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := gw.PingNodes(ctx); err != nil {
		t.Fatalf("PingNodes: %v", err)
	}
	for i := range pings {
		for pings[i].Load() < 3 {
			if ctx.Err() != nil {
				t.Fatalf("worker %d did not get the second ping", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i, r := range recs {
		r.mu.Lock()
		n := len(r.runs)
		r.mu.Unlock()
		if n != 0 {
			t.Errorf("worker %d ran %d commands for pings, want 0", i+1, n)
		}
	}
	for i, w := range ws {
		if s := w.Stats(); s.Poison != 0 {
			t.Errorf("worker %d: %d pings taken for poison commands", i+1, s.Poison)
		}
	}
}
