package restapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/gateway"
)

// fakeCalls is a Calls whose methods are func fields; an unset field fails
// the test if called.
type fakeCalls struct {
	t           testing.TB
	OriginateFn func(ctx context.Context, o gateway.Options, req gateway.OriginateRequest) (*gateway.Call, *gateway.Accepted, error)
	CallFn      func(ctx context.Context, o gateway.Options, id gateway.CallID) (*gateway.Call, error)
	CallsFn     func(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*gateway.Call, []gateway.NodeID, error)
	HangupFn    func(ctx context.Context, o gateway.Options, id gateway.CallID, reason string) (*gateway.Accepted, error)
}

func (f *fakeCalls) Originate(ctx context.Context, o gateway.Options, req gateway.OriginateRequest) (*gateway.Call, *gateway.Accepted, error) {
	if f.OriginateFn == nil {
		f.t.Error("unexpected Originate")
		return nil, nil, gateway.Errorf(gateway.EInternal, "unexpected")
	}
	return f.OriginateFn(ctx, o, req)
}

func (f *fakeCalls) Call(ctx context.Context, o gateway.Options, id gateway.CallID) (*gateway.Call, error) {
	if f.CallFn == nil {
		f.t.Error("unexpected Call")
		return nil, gateway.Errorf(gateway.EInternal, "unexpected")
	}
	return f.CallFn(ctx, o, id)
}

func (f *fakeCalls) Calls(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*gateway.Call, []gateway.NodeID, error) {
	if f.CallsFn == nil {
		f.t.Error("unexpected Calls")
		return nil, nil, gateway.Errorf(gateway.EInternal, "unexpected")
	}
	return f.CallsFn(ctx, o, req)
}

func (f *fakeCalls) Hangup(ctx context.Context, o gateway.Options, id gateway.CallID, reason string) (*gateway.Accepted, error) {
	if f.HangupFn == nil {
		f.t.Error("unexpected Hangup")
		return nil, gateway.Errorf(gateway.EInternal, "unexpected")
	}
	return f.HangupFn(ctx, o, id, reason)
}

// fakeNodes is a Nodes backed by a slice.
type fakeNodes struct{ nodes []gateway.Node }

func (f *fakeNodes) List(time.Time) []gateway.Node { return f.nodes }

func (f *fakeNodes) Get(id gateway.NodeID, _ time.Time) (gateway.Node, bool) {
	for _, n := range f.nodes {
		if n.Node == id {
			return n, true
		}
	}
	return gateway.Node{}, false
}

// deps are the dependencies of a test server.
type deps struct {
	calls  Calls
	nodes  Nodes
	events Events
	health Health
}

// MustNewServer builds a server for tests with a test logger.
func MustNewServer(t testing.TB, cfg Config, d deps) *Server {
	t.Helper()
	cfg.Log = zaptest.NewLogger(t)
	return NewServer(cfg, d.calls, d.nodes, d.events, d.health)
}

// do serves one request through h and returns the recorded answer.
func do(t testing.TB, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
