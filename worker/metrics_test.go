package worker

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callgw/callgw/callapi"
)

// Actions named by AMQP clients are outside input: unknown ones share one
// series instead of growing the metrics without bound.
func TestMeteredBoundsActionLabel(t *testing.T) {
	m := NewMetrics()
	h := m.Metered(&Executor{Node: "pbx1"})
	for i := range 50 {
		rep := h.Handle(context.Background(), &callapi.Command{ID: fmt.Sprint(i), Action: callapi.Action(fmt.Sprintf("call.bogus%d", i)), Tenant: "acme"})
		if rep.OK {
			t.Fatal("unknown action succeeded")
		}
	}
	if n := testutil.CollectAndCount(m.commands); n != 1 {
		t.Fatalf("%d series for 50 unknown actions, want 1", n)
	}
	if v := testutil.ToFloat64(m.commands.WithLabelValues("other", string(callapi.CodeInvalidArgument))); v != 50 {
		t.Fatalf("other/invalid_argument = %v", v)
	}
}
