package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/worker"
)

// childEnvVar makes the test binary act as callgw (simulator, worker or
// gateway) so that the smoke test needs no separately built binary. It is
// not a CALLGW_ variable, which the harness strips from its children.
const childEnvVar = "BENCH_TEST_AS_CALLGW"

func TestMain(m *testing.M) {
	if os.Getenv(childEnvVar) == "1" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// childMain is what `callgw simulator|worker|gateway` does (cmd/callgw),
// with the same packages, and what `callgw-bench null-front|null-worker`
// does.
func childMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "no command")
		return 2
	}
	logger := func(level string) *zap.Logger {
		zc := zap.NewProductionConfig()
		if lvl, err := zap.ParseAtomicLevel(level); err == nil {
			zc.Level = lvl
		}
		l, _ := zc.Build()
		return l
	}
	var err error
	switch args[0] {
	case "null-front", "null-worker": // the harness's own commands
		err = runNull(ctx, args)
	case "simulator":
		err = arisim.Main(ctx, args[1:], os.Stdout)
	case "worker":
		var cfg *config.Worker
		if cfg, err = config.LoadWorker(args[1:], os.Getenv, os.Stderr); err == nil {
			var w *worker.Worker
			if w, err = stack.NewWorker(cfg, logger(cfg.LogLevel)); err == nil {
				err = w.Run(ctx)
			}
		}
	case "gateway":
		var cfg *config.Gateway
		if cfg, err = config.LoadGateway(args[1:], os.Getenv, os.Stderr); err == nil {
			var g *stack.Gateway
			if g, err = stack.NewGateway(cfg, logger(cfg.LogLevel)); err == nil {
				err = g.Run(ctx)
			}
		}
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// requireBroker fails under CI and skips elsewhere when no RabbitMQ
// answers.
func requireBroker(t *testing.T, url string) {
	t.Helper()
	if err := checkBroker(context.Background(), url); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is required under CI: %v", err)
		}
		t.Skipf("no RabbitMQ: %v", err)
	}
}

// children lists the processes whose parent is this one.
func children(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	me := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(me) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// natsURL is where the ari-proxy contender's NATS runs on this machine.
const natsURL = "nats://127.0.0.1:4222"

// ariProxyBinary builds cmd/callgw-bench/ariproxy (its own module) into dir when
// NATS answers and returns its path; without NATS it returns "" (and
// fails under CI, where NATS is required).
func ariProxyBinary(t *testing.T, dir string) string {
	t.Helper()
	if err := checkNATS(context.Background(), natsURL); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS is required under CI: %v", err)
		}
		t.Logf("the ari-proxy contender is tested skipped: %v", err)
		return ""
	}
	bin := filepath.Join(dir, "ariproxy-bench")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = "ariproxy"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/callgw-bench/ariproxy: %v\n%s", err, out)
	}
	return bin
}

// TestSmoke runs the whole harness in a tiny mode against the real broker
// with this test binary as callgw: every scenario runs, the results file
// and the summary line are written, and nothing is left running. The
// ari-proxy contender runs when NATS answers, and is skipped with its
// reason in the table and the summary when it does not.
func TestSmoke(t *testing.T) {
	const url = "amqp://guest:guest@127.0.0.1:5672/"
	requireBroker(t, url)
	dir := t.TempDir()
	apx := ariProxyBinary(t, dir)
	nats := natsURL
	if apx == "" {
		// A port where nothing listens: the skip path, said plainly.
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		apx, nats = filepath.Join(dir, "ariproxy-bench-never-run"), fmt.Sprintf("nats://127.0.0.1:%d", port)
		if err := os.WriteFile(apx, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv(childEnvVar, "1")
	out := filepath.Join(dir, "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() { // the harness's progress lines and the children's logs say what happened
			t.Logf("harness stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
			logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s (last 4 KiB):\n%s", filepath.Base(l), b[max(0, len(b)-4096):])
			}
		}
	})
	start := time.Now()
	err := run(ctx, []string{"--quick", "--amqp-url", url, "--out", out, "--log-dir", filepath.Join(dir, "logs"),
		"--reps", "1", "--warmup", "50ms", "--duration", "250ms", "--inflight", "1,64",
		"--calls", "16", "--churn-inflight", "4", "--event-inflight", "8", "--scale-calls", "50", "--soak-calls", "100",
		"--log-level", "warn", "--ariproxy", apx, "--nats-url", nats}, &stdout, &stderr, []string{os.Args[0]})
	t.Logf("harness took %v", time.Since(start))
	if testing.Verbose() {
		t.Log(stderr.String())
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if pids := children(t); len(pids) > 0 {
		t.Errorf("child processes left running: %v", pids)
	}

	var lines []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "SUMMARY [quick]") {
		t.Fatalf("stdout does not end with the summary line:\n%s", strings.Join(lines, "\n"))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	skipped := nats != natsURL
	for _, c := range r.contenders() {
		ps := *c.points
		if c.tag == "ariproxy_nats" && skipped {
			if len(ps) != 0 || !strings.Contains(r.AriProxySkipped, "no NATS at") || !strings.Contains(stdout.String(), "ari-proxy over NATS: SKIPPED: no NATS at") ||
				!strings.Contains(r.Summary, "put@64/ari-proxy not run (ari-proxy skipped") {
				t.Errorf("ari-proxy not skipped plainly: points %+v, reason %q, summary %q", ps, r.AriProxySkipped, r.Summary)
			}
			continue
		}
		if len(ps) != 2 {
			t.Fatalf("%s: points: %+v", c.label, ps)
		}
		for _, p := range ps {
			if p.Requests == 0 || p.Errors != 0 || p.Rate.Median <= 0 || p.P50.Median <= 0 {
				t.Errorf("%s: point %+v", c.label, p)
			}
		}
		driver := "loadgen" // the harness drives every contender but the peer, whose client does
		if c.tag == "ariproxy_nats" {
			driver = "ari-proxy client"
		}
		if cpu, ok := r.CPU[c.tag+"@64"]; !ok || cpu.Requests == 0 || cpu.Cores[driver] <= 0 {
			t.Errorf("%s: cpu split %+v", c.label, cpu)
		}
	}
	if c := r.CPU["callgw_put@64"]; c.Cores["gateway"] <= 0 || c.Cores["worker"] <= 0 || c.Cores["simulator"] <= 0 {
		t.Errorf("cpu split %+v", c)
	}
	if c := r.CPU["null_rest@64"]; c.Cores["null front"] <= 0 || c.Cores["null worker"] <= 0 || c.Cores["simulator"] <= 0 {
		t.Errorf("null REST cpu split %+v", c)
	}
	if c := r.CPU["null_bus@64"]; c.Cores["null worker"] <= 0 || c.Cores["null front"] > c.Cores["null worker"] {
		t.Errorf("null bus cpu split %+v", c)
	}
	if len(r.Floor) != 15 {
		t.Errorf("floor %+v", r.Floor)
	}
	for _, f := range r.Floor {
		if !f.Run || f.Value <= 0 {
			t.Errorf("floor figure %+v", f)
		}
	}
	if !strings.Contains(r.Summary, "(× the null pipeline, the floor: put/null REST: rate@1 ") || !strings.Contains(strings.Join(lines, "\n"), "bus client / null bus") {
		t.Errorf("the summary or the table lacks the null pipeline: %q", r.Summary)
	}
	if c := r.CPU["ariproxy_nats@64"]; !skipped && (c.Cores["ari-proxy"] <= 0 || c.Cores["ari-proxy client"] <= 0 || c.Cores["simulator"] <= 0) {
		t.Errorf("ari-proxy cpu split %+v", c)
	}
	if r.Churn == nil || r.Churn.Calls == 0 || r.Churn.EventsPerCall < 2 {
		t.Errorf("churn %+v", r.Churn)
	}
	if r.Events == nil || r.Events.Playbacks.EventsPerS.Median <= 0 || r.Events.ShortCalls.EventsPerS.Median <= 0 || r.Events.BareFanoutPerS.Median <= 0 {
		t.Errorf("events %+v", r.Events)
	}
	if r.Scale == nil || r.Scale.LiveAtPeak != 50 || r.Scale.Worker.After.Goroutines == 0 {
		t.Errorf("scale %+v", r.Scale)
	}
	if r.Soak == nil || r.Soak.Calls != 100 || r.Soak.Gateway[1].Goroutines == 0 {
		t.Errorf("soak %+v", r.Soak)
	}
	if len(r.Targets) != 11 || r.Summary != lines[len(lines)-1] {
		t.Errorf("targets %+v, summary %q", r.Targets, r.Summary)
	}
}

// TestAriProxySkipped: without the binary or without NATS the ari-proxy
// contender is skipped, and the reason says which and what to do.
func TestAriProxySkipped(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ariproxy-bench")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("nats://127.0.0.1:%d", port)
	for _, tc := range []struct {
		name, bin, nats, want string
	}{
		{"flag empty", "", natsURL, "--ariproxy is empty"},
		{"no binary", filepath.Join(dir, "missing"), natsURL, "no binary " + filepath.Join(dir, "missing") + " (make bench builds it"},
		{"no NATS", bin, dead, fmt.Sprintf("no NATS at 127.0.0.1:%d", port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{o: options{AriProxy: tc.bin, NATSURL: tc.nats}, log: zap.NewNop()}
			if err := e.startAriProxy(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.apxSkipped, tc.want) || e.apxServer != nil {
				t.Fatalf("skipped %q, want it to start with %q", e.apxSkipped, tc.want)
			}
			if tc.name == "no NATS" && !strings.Contains(e.apxSkipped, "Debian package nats-server") {
				t.Errorf("%q does not say how to get NATS", e.apxSkipped)
			}
		})
	}
}
