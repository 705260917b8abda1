package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// TestErrorMapping checks the one code→status table, that only
// internal errors are logged with their cause and never shown, and that
// node_unavailable (nothing ran: retry) says when with Retry-After.
func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err      error
		wantCode callapi.Code
		want     int
		logged   bool
	}{
		{callapi.Errorf(callapi.CodeNotFound, "call x not found"), callapi.CodeNotFound, 404, false},
		{callapi.Invalid("to", "required"), callapi.CodeInvalidArgument, 400, false},
		{callapi.Errorf(callapi.CodeConflict, "not in stasis"), callapi.CodeConflict, 409, false},
		{callapi.Errorf(callapi.CodeNodeUnavailable, "node down"), callapi.CodeNodeUnavailable, 503, false},
		{callapi.Errorf(callapi.CodeTimeout, "no reply"), callapi.CodeTimeout, 504, false},
		{fmt.Errorf("bus: %w", context.DeadlineExceeded), callapi.CodeTimeout, 504, false},
		{callapi.Errorf(callapi.CodePBXError, "ari 500"), callapi.CodePBXError, 502, false},
		{callapi.Errorf(callapi.CodeForbidden, "no"), callapi.CodeForbidden, 403, false},
		{callapi.Errorf(callapi.CodeUnauthorized, "who"), callapi.CodeUnauthorized, 401, false},
		{callapi.Wrap(callapi.CodeInternal, "x", errors.New("secret cause"), "boom"), callapi.CodeInternal, 500, true},
		{errors.New("secret cause"), callapi.CodeInternal, 500, true},
		{fmt.Errorf("wrapped: %w", callapi.Errorf(callapi.CodeNotFound, "gone")), callapi.CodeNotFound, 404, false},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.wantCode, tc.want), func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			calls := &fakeCalls{t: t, CallFn: func(context.Context, gateway.Options, callapi.CallID) (*callapi.Call, error) {
				return nil, tc.err
			}}
			s := NewServer(Config{Log: zap.New(core)}, calls, nil, nil, nil)
			rec := do(t, s.Handler(), "GET", "/v1/calls/c1", "")
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			p := decodeProblem(t, rec.Body.Bytes())
			if p.Code != tc.wantCode || p.Status != tc.want {
				t.Errorf("problem %+v", p)
			}
			if strings.Contains(rec.Body.String(), "secret cause") {
				t.Errorf("cause leaked: %s", rec.Body)
			}
			if got := logs.FilterMessage("request failed").Len() == 1; got != tc.logged {
				t.Errorf("logged = %v, want %v", got, tc.logged)
			}
			if tc.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			wantRetry := ""
			if tc.wantCode == callapi.CodeNodeUnavailable {
				wantRetry = "1"
			}
			if got := rec.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After %q, want %q", got, wantRetry)
			}
		})
	}
}

func TestRoutingProblems(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{calls: &fakeCalls{t: t}})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/nope", 404},
		{"PUT", "/v1/calls", 405},
		{"PATCH", "/v1/calls/c1", 405},
	} {
		rec := do(t, s.Handler(), tc.method, tc.path, "")
		if rec.Code != tc.want || rec.Header().Get("Content-Type") != ProblemContentType {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if tc.want == 405 && rec.Header().Get("Allow") != map[string]string{"/v1/calls": "GET, POST", "/v1/calls/c1": "GET, DELETE"}[tc.path] {
			t.Errorf("%s %s: no Allow header", tc.method, tc.path)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	calls := &fakeCalls{t: t, CallFn: func(context.Context, gateway.Options, callapi.CallID) (*callapi.Call, error) {
		panic("kaboom")
	}}
	s := NewServer(Config{Log: zap.New(core)}, calls, nil, nil, nil)
	rec := do(t, s.Handler(), "GET", "/v1/calls/c1", "")
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	if p := decodeProblem(t, rec.Body.Bytes()); p.Code != callapi.CodeInternal || strings.Contains(p.Detail, "kaboom") {
		t.Errorf("problem %+v", p)
	}
	if logs.FilterMessage("handler panic").Len() != 1 {
		t.Error("panic not logged")
	}
	// The access log saw the 500 with the route pattern.
	ent := logs.FilterMessage("request").All()
	if len(ent) != 1 || ent[0].ContextMap()["status"] != int64(500) || ent[0].ContextMap()["route"] != "/v1/calls/{id}" ||
		ent[0].ContextMap()["call_id"] != "c1" {
		t.Errorf("access log %+v", ent)
	}
	// The server still answers.
	if rec := do(t, s.Handler(), "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
}

func TestHealth(t *testing.T) {
	var ready error = errors.New("broker not connected")
	s := MustNewServer(t, Config{}, deps{health: HealthFunc(func() error { return ready })})
	if rec := do(t, s.Handler(), "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	rec := do(t, s.Handler(), "GET", "/readyz", "")
	if rec.Code != 503 || !strings.Contains(decodeProblem(t, rec.Body.Bytes()).Detail, "broker not connected") {
		t.Errorf("readyz %d %s", rec.Code, rec.Body)
	}
	ready = nil
	if rec := do(t, s.Handler(), "GET", "/readyz", ""); rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	if rec := do(t, MustNewServer(t, Config{}, deps{}).Handler(), "GET", "/readyz", ""); rec.Code != 503 {
		t.Errorf("readyz without health %d", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	calls := &fakeCalls{t: t, CallFn: func(context.Context, gateway.Options, callapi.CallID) (*callapi.Call, error) {
		return nil, callapi.Errorf(callapi.CodeNotFound, "no")
	}}
	s := MustNewServer(t, Config{}, deps{calls: calls})
	do(t, s.Handler(), "GET", "/v1/calls/abc", "")
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`callgw_http_requests_total{method="GET",route="/v1/calls/{id}",status="404"} 1`,
		`callgw_http_request_duration_seconds_count{method="GET",route="/v1/calls/{id}",status="404"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestRun(t *testing.T) {
	s := MustNewServer(t, Config{Addr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second}, deps{})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()

	// A second server on the same port fails at once.
	s2 := MustNewServer(t, Config{Addr: s.Addr().String()}, deps{})
	if err := s2.Run(context.Background()); err == nil {
		t.Error("Run on a used port succeeded")
	} else if !errors.As(err, new(*net.OpError)) {
		t.Errorf("Run error %v", err)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestNodes(t *testing.T) {
	nodes := &fakeNodes{nodes: []callapi.Node{
		{Heartbeat: callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, AsteriskVersion: "20.5.0", Calls: 3}},
		{Heartbeat: callapi.Heartbeat{Node: "pbx2", State: callapi.NodeDown}},
	}}
	s := MustNewServer(t, Config{}, deps{nodes: nodes})
	rec := do(t, s.Handler(), "GET", "/v1/nodes", "")
	var list nodeList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); rec.Code != 200 || err != nil || len(list.Nodes) != 2 {
		t.Fatalf("list %d %s", rec.Code, rec.Body)
	}
	rec = do(t, s.Handler(), "GET", "/v1/nodes/pbx1", "")
	var n callapi.Node
	if err := json.Unmarshal(rec.Body.Bytes(), &n); rec.Code != 200 || err != nil || n.Node != "pbx1" || n.Calls != 3 {
		t.Fatalf("get %d %s", rec.Code, rec.Body)
	}
	for path, want := range map[string]int{"/v1/nodes/pbx9": 404, "/v1/nodes/any": 400, "/v1/nodes?x=1": 400} {
		if rec := do(t, s.Handler(), "GET", path, ""); rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	empty := MustNewServer(t, Config{}, deps{nodes: &fakeNodes{}})
	if rec := do(t, empty.Handler(), "GET", "/v1/nodes", ""); strings.TrimSpace(rec.Body.String()) != `{"nodes":[]}` {
		t.Errorf("empty list %s", rec.Body)
	}
}

func TestRequestID(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{})
	rec := do(t, s.Handler(), "GET", "/nope", "", "X-Request-Id", "abc-123")
	if rec.Header().Get("X-Request-Id") != "abc-123" || decodeProblem(t, rec.Body.Bytes()).RequestID != "abc-123" {
		t.Errorf("client id not used: %q", rec.Header().Get("X-Request-Id"))
	}
	rec = do(t, s.Handler(), "GET", "/nope", "", "X-Request-Id", "bad id\x01")
	if id := rec.Header().Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Errorf("bad client id kept: %q", id)
	}
}

// TestShutdownDrainsInFlight: a request in flight when Run's ctx ends is
// answered before Serve returns.
func TestShutdownDrainsInFlight(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	calls := &fakeCalls{t: t, OriginateFn: func(context.Context, gateway.Options, callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
		close(started)
		<-release
		return testCall, nil, nil
	}}
	s := MustNewServer(t, Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, deps{calls: calls})
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	type result struct {
		code int
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+s.Addr().String()+"/v1/calls", "application/json", strings.NewReader(`{"to":"PJSIP/alice"}`))
		if err != nil {
			resc <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resc <- result{code: resp.StatusCode}
	}()
	<-started
	cancel()
	time.Sleep(50 * time.Millisecond) // Shutdown has begun
	close(release)
	if r := <-resc; r.err != nil || r.code != 201 {
		t.Errorf("in-flight request: %+v", r)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestClientGone: a request whose client went away is not logged as an
// internal error.
func TestClientGone(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	calls := &fakeCalls{t: t, CallFn: func(ctx context.Context, _ gateway.Options, _ callapi.CallID) (*callapi.Call, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("bus: %w", ctx.Err())
	}}
	s := NewServer(Config{Log: zap.New(core)}, calls, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/v1/calls/c1", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != statusClientClosed || logs.FilterMessage("request failed").Len() != 0 {
		t.Errorf("status %d, logged %d", rec.Code, logs.FilterMessage("request failed").Len())
	}
}

func TestRunBadConfig(t *testing.T) {
	s := MustNewServer(t, Config{Addr: "127.0.0.1:0", DefaultTimeout: time.Minute, MaxTimeout: time.Second}, deps{})
	if err := s.Run(context.Background()); err == nil {
		t.Error("Run with default > max timeout succeeded")
	}
}

func TestAccessLogModes(t *testing.T) {
	calls := &fakeCalls{t: t, CallFn: func(_ context.Context, _ gateway.Options, id callapi.CallID) (*callapi.Call, error) {
		if id == "missing" {
			return nil, callapi.Errorf(callapi.CodeNotFound, "call missing not found")
		}
		return &callapi.Call{ID: id}, nil
	}}
	for _, tc := range []struct {
		mode string
		want int // request lines for one 200 and one 404
	}{
		{"", 2},
		{AccessLogAll, 2},
		{AccessLogErrors, 1},
		{AccessLogOff, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			s := NewServer(Config{Log: zap.New(core), AccessLog: tc.mode}, calls, nil, nil, nil)
			if rec := do(t, s.Handler(), "GET", "/v1/calls/c1", ""); rec.Code != 200 {
				t.Fatalf("get: %d", rec.Code)
			}
			if rec := do(t, s.Handler(), "GET", "/v1/calls/missing", ""); rec.Code != 404 {
				t.Fatalf("get missing: %d", rec.Code)
			}
			if n := logs.FilterMessage("request").Len(); n != tc.want {
				t.Fatalf("%d request lines, want %d", n, tc.want)
			}
		})
	}
	if err := (Config{AccessLog: "loud"}).Validate(); err == nil {
		t.Fatal("bad access log mode accepted")
	}
}
