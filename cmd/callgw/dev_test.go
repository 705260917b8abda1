package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// devEnv is the environment of a `callgw dev` on the test broker, under a
// test-unique prefix.
func devEnv(t *testing.T, httpAddr string) func(string) string {
	url := brokerURL(t)
	prefix := "t" + uuid.NewString()[:8] + "."
	t.Cleanup(func() { deleteTopology(t, url, prefix) })
	env := map[string]string{
		"CALLGW_AMQP_URL": url, "CALLGW_AMQP_PREFIX": prefix, "CALLGW_HTTP_ADDR": httpAddr,
		"CALLGW_SIM_ADDR": "127.0.0.1:0", "CALLGW_LOG_LEVEL": "error", "CALLGW_STATE_DIR": t.TempDir(),
	}
	return func(k string) string { return env[k] }
}

// `callgw dev` whose HTTP port is taken says so and ends, rather than
// keeping the worker and simulator running without an API.
func TestDevReportsTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := devEnv(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- runDev(ctx, nil, env, &out, &errOut) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("runDev = %v, want the bind error", err)
		}
		t.Logf("ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		cancel() // as SIGINT does
		select {
		case <-done:
			t.Fatal("runDev with its port taken did not end on its own within 10s")
		case <-time.After(10 * time.Second):
			t.Fatal("runDev with its port taken did not end on its own, nor when its context ended")
		}
	}
}

// `callgw dev` ends promptly when its context ends (SIGINT, SIGTERM).
func TestDevStopsOnSignal(t *testing.T) {
	env := devEnv(t, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, nil, env, &out, &errOut) }()
	time.Sleep(time.Second) // up or getting there
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runDev: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("runDev did not end within 15s of its context")
	}
}

// TestDevBannerCallctlURL: the banner's callctl lines work as copied: on a
// gateway URL other than callctl's default they carry --url; on the
// default they stay short.
func TestDevBannerCallctlURL(t *testing.T) {
	b := devBanner("http://127.0.0.1:18414", "pbx1", "http://127.0.0.1:18415")
	for _, cmd := range []string{"originate Local/answer@callgw-test --wait answered", "list", "events"} {
		if !strings.Contains(b, "callctl "+cmd+" --url http://127.0.0.1:18414 ") {
			t.Errorf("banner lacks callctl %s --url …:\n%s", cmd, b)
		}
	}
	if b := devBanner("http://127.0.0.1:8080", "pbx1", "http://127.0.0.1:8088"); strings.Contains(b, "--url") {
		t.Errorf("banner on the default URL has --url:\n%s", b)
	}
}
