package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// reporter is a Health with a Readiness.
type reporter struct {
	err error
	r   Readiness
}

func (h *reporter) Ready() error         { return h.err }
func (h *reporter) Readiness() Readiness { return h.r }

// A not-ready /readyz says why with Retry-After: 1; a ready one from a
// ReadyReporter answers its Readiness (ready_at, started_at,
// ready_after_ms, reason).
func TestReadyzReadiness(t *testing.T) {
	start := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	h := &reporter{err: callapi.Errorf(callapi.CodeNodeUnavailable, "still learning the nodes")}
	s := MustNewServer(t, Config{}, deps{health: h})
	rec := do(t, s.Handler(), "GET", "/readyz", "")
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" || decodeProblem(t, rec.Body.Bytes()).Detail != "not ready: still learning the nodes" {
		t.Fatalf("not ready: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	h.err = nil
	h.r = Readiness{Status: "ready", StartedAt: start, ReadyAt: start.Add(312 * time.Millisecond), ReadyAfterMS: 312, Reason: "1 node(s) answered the nodes.ping within 250ms"}
	rec = do(t, s.Handler(), "GET", "/readyz", "")
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != 200 || err != nil {
		t.Fatalf("ready: %d %s %v", rec.Code, rec.Body, err)
	}
	want := map[string]any{"status": "ready", "started_at": "2026-12-07T21:00:00Z", "ready_at": "2026-12-07T21:00:00.312Z",
		"ready_after_ms": float64(312), "reason": "1 node(s) answered the nodes.ping within 250ms"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}

// While the start gate is shut an API request waits for it: answered as
// soon as it opens, or 503 node_unavailable with Retry-After after
// StartGateWait; /healthz and /readyz never wait.
func TestStartGate(t *testing.T) {
	gate := make(chan struct{})
	calls := &fakeCalls{t: t, CallFn: func(context.Context, gateway.Options, callapi.CallID) (*callapi.Call, error) {
		return &callapi.Call{ID: "c1"}, nil
	}}
	s := MustNewServer(t, Config{StartGate: gate, StartGateWait: 150 * time.Millisecond}, deps{calls: calls, health: HealthFunc(func() error { return errors.New("starting") })})
	h := s.Handler()
	start := time.Now()
	rec := do(t, h, "GET", "/v1/calls/c1", "")
	if waited := time.Since(start); rec.Code != 503 || rec.Header().Get("Retry-After") != "1" || waited < 150*time.Millisecond {
		t.Fatalf("gate shut: %d Retry-After %q after %v: %s", rec.Code, rec.Header().Get("Retry-After"), waited, rec.Body)
	}
	if p := decodeProblem(t, rec.Body.Bytes()); p.Code != callapi.CodeNodeUnavailable {
		t.Fatalf("problem %+v", p)
	}
	start = time.Now()
	for _, path := range []string{"/healthz", "/readyz"} {
		do(t, h, "GET", path, "")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("/healthz and /readyz waited %v for the gate", d)
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(t, h, "GET", "/v1/calls/c1", "") }()
	time.Sleep(20 * time.Millisecond)
	close(gate)
	select {
	case rec := <-done:
		if rec.Code != http.StatusOK {
			t.Fatalf("after the gate opened: %d %s", rec.Code, rec.Body)
		}
	case <-time.After(100 * time.Millisecond):
		t.Fatal("request still held after the gate opened")
	}
}
