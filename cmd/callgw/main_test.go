package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine of the stacks the tests
// started outlives them: every component must stop when its context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http's keep-alive connections of http.DefaultClient.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// TestHardStop: nothing happens before the signal; after it the signal
// handling is reset at once, and the process is ended with status 1 when
// the graceful stop outlives its bound.
func TestHardStop(t *testing.T) {
	ctx, signal := context.WithCancel(context.Background())
	var resets atomic.Int32
	exited := make(chan int, 1)
	var stderr lockedBuf
	go hardStop(ctx, func() { resets.Add(1) }, 50*time.Millisecond, &stderr, func(code int) { exited <- code })
	select {
	case <-exited:
		t.Fatal("exited before any signal")
	case <-time.After(100 * time.Millisecond):
	}
	if resets.Load() != 0 {
		t.Fatal("signal handling reset before any signal")
	}
	start := time.Now()
	signal()
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("exited %v after the signal, before the bound", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not exited after the bound")
	}
	if resets.Load() != 1 {
		t.Errorf("signal handling reset %d times, want once", resets.Load())
	}
	if !strings.Contains(stderr.String(), "not stopped 50ms after the signal") {
		t.Errorf("stderr %q", stderr.String())
	}
}
