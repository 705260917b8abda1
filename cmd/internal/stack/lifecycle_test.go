package stack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/worker"
)

// TestLifecycle runs a gateway and a worker (on the simulator) on the real
// broker and follows what each says about its readiness through a node's
// life: the gateway is not ready (node_unavailable, /readyz 503) and
// answers its API 503 with Retry-After while no node is up; the worker opens its journal where
// JournalPath says, becomes ready and lets the gateway serve; the worker's
// stop makes the gateway not ready again; both stop cleanly.
func TestLifecycle(t *testing.T) {
	url := testenv.BrokerURL()
	testenv.NeedBroker(t, url)
	prefix := "stk" + uuid.NewString()[:8] + "."
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := amqpbus.DeleteTopology(ctx, url, prefix); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	log := zaptest.NewLogger(t)
	common := config.Common{AMQPURLs: []string{url}, LogLevel: "info", Prefix: prefix}

	gwOps, wOps := testenv.FreeAddr(t), testenv.FreeAddr(t)
	gwCommon, wCommon := common, common
	gwCommon.MetricsAddr, wCommon.MetricsAddr = gwOps, wOps
	g, err := NewGateway(&config.Gateway{Common: gwCommon, HTTPAddr: "127.0.0.1:0",
		DefaultTimeout: 5 * time.Second, MaxTimeout: 60 * time.Second}, log.Named("gateway"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gwDone := make(chan error, 1)
	go func() { gwDone <- g.Run(ctx) }()

	// Connected, and no node: node_unavailable, no HTTP yet, /readyz 503.
	testenv.WaitFor(t, "the gateway's bus", 15*time.Second, func() bool {
		err := g.Ready()
		return err != nil && !strings.Contains(err.Error(), "broker")
	})
	if code := callapi.ErrorCode(g.Ready()); code != callapi.CodeNodeUnavailable {
		t.Fatalf("gateway without nodes: %v (code %s), want node_unavailable", g.Ready(), code)
	}
	// It listens at once (no refused connection) but holds the API, then
	// answers 503 with Retry-After while it knows no node.
	testenv.WaitFor(t, "the gateway's HTTP port", 5*time.Second, func() bool { return g.Addr() != nil })
	resp, err := http.Get("http://" + g.Addr().String() + "/v1/calls")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("GET /v1/calls before a node is up: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := status(t, "http://"+gwOps+"/readyz"); st != http.StatusServiceUnavailable {
		t.Fatalf("gateway /readyz without nodes: %d", st)
	}

	sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: "pbx1", SystemName: "pbx1"})
	ts := httptest.NewServer(sim.Handler())
	defer sim.Close()
	defer ts.Close()
	dir := t.TempDir()
	w, err := NewWorker(&config.Worker{Common: wCommon, NodeID: "pbx1", ARIURL: ts.URL + "/ari", ARIUser: "u", ARIPassword: "p",
		ARIApp: "callgw", Tenant: callapi.DefaultTenant, HeartbeatInterval: 200 * time.Millisecond, Concurrency: 8,
		StateDir: dir}, log.Named("worker"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	wDone := make(chan error, 1)
	go func() { wDone <- w.Run(wctx) }()

	testenv.WaitFor(t, "the worker's readiness", 15*time.Second, func() bool { return w.Ready() == nil })
	if st := status(t, "http://"+wOps+"/readyz"); st != http.StatusOK {
		t.Fatalf("worker /readyz when ready: %d", st)
	}
	if _, err := os.Stat(worker.JournalPath(dir, prefix, "pbx1")); err != nil {
		t.Fatalf("the worker's journal is not where JournalPath says: %v", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	base, err := g.WaitReady(rctx)
	rcancel()
	if err != nil {
		t.Fatalf("gateway with a live node: %v", err)
	}
	if st := status(t, base+"/v1/nodes"); st != http.StatusOK {
		t.Fatalf("GET /v1/nodes: %d", st)
	}
	if st := status(t, "http://"+gwOps+"/readyz"); st != http.StatusOK {
		t.Fatalf("gateway /readyz with a live node: %d", st)
	}

	// The worker's stop (node.down) makes the gateway not ready again.
	stopWorker()
	select {
	case err := <-wDone:
		if err != nil {
			t.Fatalf("worker stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop")
	}
	testenv.WaitFor(t, "the gateway to see the node down", 15*time.Second, func() bool {
		return callapi.ErrorCode(g.Ready()) == callapi.CodeNodeUnavailable
	})
	if st := status(t, "http://"+gwOps+"/readyz"); st != http.StatusServiceUnavailable {
		t.Fatalf("gateway /readyz after the node went down: %d", st)
	}

	cancel()
	select {
	case err := <-gwDone:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("gateway stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop")
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
