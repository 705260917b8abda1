package restapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// The gateway's own CPU per command, without the network and the bus:
// the middleware, routing, auth, validation, the service, the reply's
// decoding and the response's encoding, with an access log written (to
// io.Discard) as in production. docs/performance.md quotes these.
//
//	go test -run '^$' -bench Handler -benchmem ./restapi/
func benchServer(b *testing.B) http.Handler {
	call := &callapi.Call{ID: "c1", Node: "pbx1", Tenant: callapi.DefaultTenant, State: callapi.StateUp,
		Direction: "outbound", From: "\"Sales\" <100>", To: "Local/answer@callgw-test"}
	bus := &fakeBus{
		RequestFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			if cmd.Action == callapi.ActCallGet {
				return callapi.OKReply(cmd.ID, "pbx1", call), nil
			}
			return callapi.OKReply(cmd.ID, "pbx1", nil), nil
		},
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			return []*callapi.Reply{callapi.OKReply(cmd.ID, "pbx1", callapi.LocateResult{Node: "pbx1"})}, nil
		},
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	reg := gateway.NewRegistry()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	svc := gateway.NewService(bus, reg, gateway.NewLocations(0))
	s := NewServer(Config{Log: log}, svc, reg, nil, nil)
	return s.Handler()
}

func benchRequest(b *testing.B, h http.Handler, method, target, body string) {
	b.ReportAllocs()
	for b.Loop() {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
		}
	}
}

func BenchmarkHandlerGetCall(b *testing.B) {
	benchRequest(b, benchServer(b), "GET", "/v1/calls/c1", "")
}

func BenchmarkHandlerSetVariable(b *testing.B) {
	benchRequest(b, benchServer(b), "PUT", "/v1/calls/c1/variables/BENCH", `{"value":"x"}`)
}
