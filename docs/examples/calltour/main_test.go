package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/internal/testenv"
)

// startDev builds callgw and runs `callgw dev` on free ports and a
// run-unique AMQP prefix, as a user runs `make dev`; it returns the
// gateway's URL and the prefix.
func startDev(t *testing.T) (string, string) {
	t.Helper()
	amqpURL := testenv.BrokerURL()
	testenv.NeedBroker(t, amqpURL)
	bin := filepath.Join(t.TempDir(), "callgw")
	build := exec.Command("go", "build", "-o", bin, "github.com/callgw/callgw/cmd/callgw")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix := "tour" + uuid.NewString()[:8] + "."
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(), "CALLGW_AMQP_URL="+amqpURL, "CALLGW_AMQP_PREFIX="+prefix,
		"CALLGW_HTTP_ADDR=127.0.0.1:0", "CALLGW_SIM_ADDR=127.0.0.1:0", "CALLGW_METRICS_ADDR=", "CALLGW_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`callgw dev is up: gateway (http://\S+),`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("callgw dev exited: %v\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("callgw dev did not stop within 20s of SIGTERM")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := amqpbus.DeleteTopology(ctx, amqpURL, prefix); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	select {
	case u := <-base:
		return u, prefix
	case err := <-exited:
		if os.Getenv("CI") != "true" && strings.Contains(stderr.String(), "broker") {
			t.Skipf("callgw dev cannot reach RabbitMQ: %v\n%s", err, stderr.String())
		}
		t.Fatalf("callgw dev exited before it was up: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("callgw dev not up within 60s\n%s", stderr.String())
	}
	return "", ""
}

// TestTourAgainstDev runs the tour against `callgw dev`: both calls are
// answered, played to, bridged and hung up, and the SSE stream and the
// durable AMQP queue each saw every call from call.created to call.hangup.
func TestTourAgainstDev(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs callgw dev")
	}
	base, prefix := startDev(t)
	cfg := configFromEnv(func(k string) string {
		switch k {
		case "CALLGW_URL":
			return base
		case "CALLGW_AMQP_PREFIX":
			return prefix
		case "CALLGW_AMQP_URL":
			return testenv.BrokerURL()
		}
		return ""
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("tour: %v\n%s", err, out.String())
	}
	t.Logf("tour output:\n%s", out.String())
	for _, want := range []string{"call A ", "call B ", ": up\n", "played sound:hello-world on A", "bridge ", "hung up A and B", "events over SSE:", "events over AMQP:", "tour complete"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
