package stack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
)

// TestNodeMetricsFollowARI: what the alerts of deploy/prometheus watch.
// The worker exports its ARI connectivity labelled with its node, the
// gateway each node's state and ARI connectivity from its registry;
// stopping the simulator (Asterisk away) turns both ARI metrics to 0, and
// the worker's stop turns the node's state to down.
func TestNodeMetricsFollowARI(t *testing.T) {
	url := testenv.BrokerURL()
	testenv.NeedBroker(t, url)
	prefix := "nm" + uuid.NewString()[:8] + "."
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := amqpbus.DeleteTopology(ctx, url, prefix); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	log := zaptest.NewLogger(t)
	common := config.Common{AMQPURLs: []string{url}, LogLevel: "info", Prefix: prefix}
	gwCommon, wCommon := common, common
	gwCommon.MetricsAddr, wCommon.MetricsAddr = testenv.FreeAddr(t), testenv.FreeAddr(t)
	g, err := NewGateway(&config.Gateway{Common: gwCommon, HTTPAddr: "127.0.0.1:0",
		DefaultTimeout: 5 * time.Second, MaxTimeout: 60 * time.Second}, log.Named("gateway"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- g.Run(ctx) }()
	defer func() { cancel(); <-gwDone }()

	sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: "pbx1", SystemName: "pbx1"})
	ts := httptest.NewServer(sim.Handler())
	defer sim.Close()
	defer ts.Close()
	w, err := NewWorker(&config.Worker{Common: wCommon, NodeID: "pbx1", ARIURL: ts.URL + "/ari", ARIUser: "u", ARIPassword: "p",
		ARIApp: "callgw", Tenant: callapi.DefaultTenant, HeartbeatInterval: 100 * time.Millisecond, Concurrency: 8}, log.Named("worker"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	wDone := make(chan error, 1)
	go func() { wDone <- w.Run(wctx) }()
	defer func() { stopWorker(); <-wDone }()

	gwMetrics, wMetrics := "http://"+gwCommon.MetricsAddr+"/metrics", "http://"+wCommon.MetricsAddr+"/metrics"
	waitMetric(t, wMetrics, `callgw_ari_connected{node="pbx1"} 1`)
	waitMetric(t, wMetrics, `callgw_ari_calls{node="pbx1"} 0`)
	waitMetric(t, gwMetrics, `callgw_node_state{node="pbx1",state="up"} 1`)
	waitMetric(t, gwMetrics, `callgw_node_ari_connected{node="pbx1"} 1`)

	// Asterisk goes away: the simulator stops answering and drops its WebSockets.
	ts.CloseClientConnections()
	ts.Close()
	sim.Close()
	waitMetric(t, wMetrics, `callgw_ari_connected{node="pbx1"} 0`)
	waitMetric(t, gwMetrics, `callgw_node_ari_connected{node="pbx1"} 0`)
	waitMetric(t, gwMetrics, `callgw_node_state{node="pbx1",state="up"} 1`) // the worker still serves: up, unhealthy

	stopWorker()
	<-wDone
	wDone <- nil // for the deferred stop
	waitMetric(t, gwMetrics, `callgw_node_state{node="pbx1",state="down"} 1`)
}

// waitMetric waits until a scrape of url has the line want.
func waitMetric(t *testing.T, url, want string) {
	t.Helper()
	var last string
	ok := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
		if strings.Contains("\n"+last, "\n"+want+"\n") {
			ok = true
			break
		}
	}
	if !ok {
		name, _, _ := strings.Cut(want, "{")
		var lines []string
		for _, l := range strings.Split(last, "\n") {
			if strings.HasPrefix(l, name) {
				lines = append(lines, l)
			}
		}
		t.Fatalf("%s: no %q after 10s; has:\n%s", url, want, strings.Join(lines, "\n"))
	}
}
