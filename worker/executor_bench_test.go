package worker

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
)

// BenchmarkExecutorHandle measures the trust boundary: look the action up,
// check the id and the port, decode and validate, run on a fake PBX.
func BenchmarkExecutorHandle(b *testing.B) {
	for _, tc := range []struct {
		name string
		cmd  callapi.Command
	}{
		{"originate", callapi.Command{ID: "c", Action: callapi.ActCallOriginate, Tenant: "acme", CallID: "call1", Args: json.RawMessage(`{"to":"PJSIP/a","from":"100","variables":{"FOO":"1"},"tags":["t"]}`)}},
		{"get", callapi.Command{ID: "c", Action: callapi.ActCallGet, Tenant: "acme", CallID: "call1"}},
		{"hangup", callapi.Command{ID: "c", Action: callapi.ActCallHangup, Tenant: "acme", CallID: "nocall", Args: json.RawMessage(`{"reason":"busy"}`)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			x := &Executor{Node: "pbx1", PBX: fakepbx.NewBasic(&callapi.Call{ID: "call1", Tenant: "acme"})}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				cmd := tc.cmd
				x.Handle(ctx, &cmd)
			}
		})
	}
	b.Run("creates", func(b *testing.B) {
		n := 0
		for b.Loop() {
			if callapi.ActCallHangup.Creates() {
				n++
			}
		}
		_ = n
	})
}
