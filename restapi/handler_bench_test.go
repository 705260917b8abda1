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

	"github.com/callgw/callgw/gateway"
)

// The gateway's own CPU per command, without the network and the bus:
// the middleware, routing, auth, validation, the service, the reply's
// decoding and the response's encoding, with an access log written (to
// io.Discard) as in production. docs/performance.md quotes these.
//
//	go test -run '^$' -bench Handler -benchmem ./restapi/
func benchServer(b *testing.B) http.Handler {
	call := &gateway.Call{ID: "c1", Node: "pbx1", Tenant: gateway.DefaultTenant, State: gateway.StateUp,
		Direction: "outbound", From: "\"Sales\" <100>", To: "Local/answer@callgw-test"}
	bus := &fakeBus{
		RequestFn: func(_ context.Context, _ gateway.Target, cmd *gateway.Command) (*gateway.Reply, error) {
			if cmd.Action == gateway.ActCallGet {
				return gateway.OKReply(cmd.ID, "pbx1", call), nil
			}
			return gateway.OKReply(cmd.ID, "pbx1", nil), nil
		},
		GatherFn: func(_ context.Context, cmd *gateway.Command, expect []gateway.NodeID) ([]*gateway.Reply, error) {
			return []*gateway.Reply{gateway.OKReply(cmd.ID, "pbx1", gateway.LocateResult{Node: "pbx1"})}, nil
		},
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	reg := gateway.NewRegistry()
	reg.Observe(gateway.Heartbeat{Node: "pbx1", State: gateway.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
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
