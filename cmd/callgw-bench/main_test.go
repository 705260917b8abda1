package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
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
// with the same packages.
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
	case "simulator":
		err = arisim.Main(ctx, args[1:], os.Stdout)
	case "worker":
		var cfg *config.Worker
		if cfg, err = config.LoadWorker(args[1:], os.Getenv, os.Stderr); err == nil {
			var w *stack.Worker
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

// TestSmoke runs the whole harness in a tiny mode against the real broker
// with this test binary as callgw: every scenario runs, the results file
// and the summary line are written, and nothing is left running.
func TestSmoke(t *testing.T) {
	const url = "amqp://guest:guest@127.0.0.1:5672/"
	requireBroker(t, url)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv(childEnvVar, "1")
	dir := t.TempDir()
	out := filepath.Join(dir, "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() { // the harness's progress lines say what happened
			t.Logf("harness stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
		}
	})
	start := time.Now()
	err := run(ctx, []string{"--quick", "--amqp-url", url, "--out", out, "--log-dir", filepath.Join(dir, "logs"),
		"--reps", "1", "--warmup", "50ms", "--duration", "250ms", "--inflight", "1,64",
		"--calls", "16", "--churn-inflight", "4", "--event-inflight", "8", "--scale-calls", "50", "--soak-calls", "100",
		"--log-level", "warn"}, &stdout, &stderr, []string{os.Args[0]})
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
	for _, ps := range [][]Point{r.CommandPath, r.BareRPC, r.DirectARI} {
		if len(ps) != 2 {
			t.Fatalf("points: %+v", ps)
		}
		for _, p := range ps {
			if p.Requests == 0 || p.Errors != 0 || p.Rate.Median <= 0 || p.P50.Median <= 0 {
				t.Errorf("point %+v", p)
			}
		}
	}
	if c := r.CPU["command_path@64"]; c.Cores["gateway"] <= 0 || c.Cores["worker"] <= 0 || c.Cores["loadgen"] <= 0 {
		t.Errorf("cpu split %+v", c)
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
	if len(r.Targets) != 6 || r.Summary != lines[len(lines)-1] {
		t.Errorf("targets %+v, summary %q", r.Targets, r.Summary)
	}
}
