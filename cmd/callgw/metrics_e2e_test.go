package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/internal/testenv"

	"github.com/google/uuid"

	"github.com/callgw/callgw/callapi"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// devProcess is `callgw dev` run in-process on free ports and a
// run-unique prefix.
type devProcess struct {
	base, sim, ops string
	ctx            context.Context
}

func startDevProcess(t *testing.T) *devProcess {
	t.Helper()
	url := brokerURL(t)
	prefix := "m" + uuid.NewString()[:8] + "."
	d := &devProcess{ops: testenv.FreeAddr(t)}
	simAddr := testenv.FreeAddr(t)
	d.sim = "http://" + simAddr
	ctx, cancel := context.WithCancel(context.Background())
	d.ctx = ctx
	var out, errOut lockedBuf
	done := make(chan error, 1)
	env := func(k string) string {
		return map[string]string{"CALLGW_AMQP_URL": url, "CALLGW_AMQP_PREFIX": prefix, "CALLGW_LOG_LEVEL": "warn"}[k]
	}
	go func() {
		done <- runDev(ctx, []string{"--http-addr", "127.0.0.1:0", "--sim-addr", simAddr, "--metrics-addr", d.ops}, env, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("dev did not stop")
		}
		deleteTopology(t, url, prefix)
	})
	re := regexp.MustCompile(`gateway (http://\S+),`)
	for deadline := time.Now().Add(30 * time.Second); d.base == ""; time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			d.base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("dev not up:\n%s", errOut.String())
		}
	}
	if !strings.Contains(out.String(), "callctl inbound alice 100 --sim "+d.sim) {
		t.Errorf("banner does not show callctl inbound with the simulator's address:\n%s", out.String())
	}
	return d
}

// TestDevOpsMetrics: `callgw dev` serves, on its one ops endpoint, the
// worker's metrics next to the gateway's: commands per action and
// outcome with their latency, ARI request latency by route, and call
// outcomes by cause and reason, each labelled with the node; its ARI
// connectivity; and the gateway's view of the node's state.
func TestDevOpsMetrics(t *testing.T) {
	d := startDevProcess(t)
	base, ops, ctx := d.base, d.ops, d.ctx
	c, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	call, err := c.Originate(cctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(cctx, call.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCall(cctx, "no-such-call"); client.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("get unknown: %v", err)
	}
	want := []string{
		`callgw_worker_commands_total{action="call.originate",code="ok",node="pbx1"} 1`,
		`callgw_worker_commands_total{action="call.hangup",code="ok",node="pbx1"} 1`,
		`callgw_worker_command_duration_seconds_count{action="call.originate",node="pbx1"} 1`,
		`callgw_ari_request_duration_seconds_count{method="POST",node="pbx1",route="/channels",status="200"} 1`,
		`callgw_ari_request_duration_seconds_count{method="DELETE",node="pbx1",route="/channels/{id}"`,
		`callgw_calls_ended_total{cause="16",node="pbx1",reason="api"} 1`,
		`callgw_ari_calls{node="pbx1"} `,
		`callgw_ari_connected{node="pbx1"} 1`,
		`callgw_node_state{node="pbx1",state="up"} 1`,
		`callgw_amqp_connected 1`,
	}
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			checkDeployMetrics(t, body)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ops /metrics lacks %s\n%s", missing, grepLines(body, "callgw_worker|callgw_ari_request|callgw_calls"))
		}
	}
}

func grepLines(s, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// checkDeployMetrics: every metric the Grafana dashboard and the alert
// rules in deploy/ query is one the processes export (present in the
// scrape of a dev process that served a call).
func checkDeployMetrics(t *testing.T, scrape string) {
	t.Helper()
	exported := map[string]bool{"up": true} // Prometheus's own, per target
	for _, l := range strings.Split(scrape, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, _, _ := strings.Cut(l, "{")
		name, _, _ = strings.Cut(name, " ")
		exported[name] = true
	}
	metric := regexp.MustCompile(`\b((?:callgw|go|process)_[a-z0-9_]+|up)\b`)
	for _, f := range []string{"../../deploy/grafana/callgw-dashboard.json", "../../deploy/prometheus/callgw-alerts.yml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range metric.FindAllString(string(b), -1) {
			n++
			if !exported[m] {
				t.Errorf("%s queries %s, which no callgw process exports", f, m)
			}
		}
		if n < 10 {
			t.Errorf("%s: only %d metric names found", f, n)
		}
	}
}
