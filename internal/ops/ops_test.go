package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// serve runs Serve on a free address until the test ends.
func serve(t *testing.T, reg *prometheus.Registry, ready func() error) string {
	t.Helper()
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, reg, ready, zaptest.NewLogger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	testenv.WaitFor(t, "ops endpoint", 5*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return "http://" + addr
}

func get(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s: %d %q is not JSON: %v", url, resp.StatusCode, b, err)
	}
	return resp, body
}

// The ops /healthz and /readyz answer as the API's do: a JSON status when
// well, problem+json with a stable code when not ready.
func TestHealthAndReadyAnswerJSON(t *testing.T) {
	var notReady atomic.Pointer[error]
	base := serve(t, NewRegistry(), func() error {
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	})
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != 200 || body["status"] != "ok" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("healthz: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get(t, base+"/readyz")
	if resp.StatusCode != 200 || body["status"] != "ready" {
		t.Fatalf("readyz ready: %d %v", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		err    error
		detail string
	}{
		{errors.New("not connected to the broker"), "not ready: not connected to the broker"},
		{callapi.Errorf(callapi.CodeNodeUnavailable, "ARI events websocket not connected"), "not ready: ARI events websocket not connected"},
	} {
		notReady.Store(&tc.err)
		resp, body = get(t, base+"/readyz")
		if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("readyz not ready: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		want := map[string]any{"type": "urn:callgw:problem:node_unavailable", "title": "Node unavailable", "status": 503.0,
			"code": "node_unavailable", "detail": tc.detail, "instance": "/readyz"}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("readyz %s = %v, want %v (body %v)", k, body[k], v, body)
			}
		}
	}
}

// A gateway exports each node of its registry: its state (one series per
// state, 1 for the current one) and whether its ARI is connected.
func TestRegisterNodes(t *testing.T) {
	nodes := []callapi.Node{
		{Heartbeat: callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true}},
		{Heartbeat: callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: false, Reason: "ARI events websocket not connected"}},
		{Heartbeat: callapi.Heartbeat{Node: "pbx3", State: callapi.NodeDown, Healthy: true}}, // silent: its last beat was healthy
	}
	reg := prometheus.NewRegistry()
	if err := RegisterNodes(reg, func() []callapi.Node { return nodes }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP callgw_node_ari_connected 1 while the node's last heartbeat says its Asterisk answers ARI and its events WebSocket is connected; 0 otherwise, and for a node that is down.
# TYPE callgw_node_ari_connected gauge
callgw_node_ari_connected{node="pbx1"} 1
callgw_node_ari_connected{node="pbx2"} 0
callgw_node_ari_connected{node="pbx3"} 0
# HELP callgw_node_state 1 for the state the gateway's registry gives the node (up, draining, down: announced, or silent for three heartbeat intervals), 0 for the others.
# TYPE callgw_node_state gauge
callgw_node_state{node="pbx1",state="down"} 0
callgw_node_state{node="pbx1",state="draining"} 0
callgw_node_state{node="pbx1",state="up"} 1
callgw_node_state{node="pbx2",state="down"} 0
callgw_node_state{node="pbx2",state="draining"} 0
callgw_node_state{node="pbx2",state="up"} 1
callgw_node_state{node="pbx3",state="down"} 1
callgw_node_state{node="pbx3",state="draining"} 0
callgw_node_state{node="pbx3",state="up"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
