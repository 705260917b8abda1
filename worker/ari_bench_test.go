package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// BenchmarkARICommand runs the worker's command path below the bus (the
// executor's checks, the ARI adapter, its HTTP request and, for a set, the
// ChannelVarset event it brings back over the events WebSocket) against the
// in-process ARI simulator, for call.get (answered from the worker's state)
// and call.variable.set (one ARI round trip), at 1 and 64 in flight. Besides
// ns/op and allocs/op it reports cpu-µs/op, the CPU time of the whole
// process (simulator included) per command, which does not depend on how
// busy the machine is, and sleeps/op, the voluntary context switches of
// its threads per command (each one a wake-up to come). With BENCH_ARI_URL (a simulator of its own, user u,
// password p: `callgw simulator --listen 127.0.0.1:18088 --ari-user u
// --ari-password p --dialplan-step 1ms`) the simulator runs in another
// process and cpu-µs/op is the worker side's alone. Profile with
// -cpuprofile.
func BenchmarkARICommand(b *testing.B) {
	base := os.Getenv("BENCH_ARI_URL")
	if base == "" {
		srv := arisim.New(arisim.Config{User: "u", Password: "p", DialplanStep: time.Millisecond})
		ts := httptest.NewServer(srv.Handler())
		defer func() { srv.Close(); ts.Close() }()
		base = ts.URL
	}
	pbx, err := asterisk.NewPBX(asterisk.Config{Node: "pbx1", URL: base + "/ari", User: "u", Password: "p", App: "callgw",
		Tenant: "acme", Log: zap.NewNop(), RequestTimeout: 5 * time.Second}, discardSink{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = pbx.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	if err := pbx.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	x := &Executor{Node: "pbx1", PBX: pbx}
	id := callapi.CallID(uuid.NewString())
	if _, err := pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test"}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  callapi.Command
	}{
		{"get", callapi.Command{ID: "c", Action: callapi.ActCallGet, Tenant: "acme", CallID: id}},
		{"setvar", callapi.Command{ID: "c", Action: callapi.ActCallVarSet, Tenant: "acme", CallID: id, Args: json.RawMessage(`{"name":"FOO","value":"bar"}`)}},
	} {
		for _, inflight := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/inflight=%d", tc.name, inflight), func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(max(1, inflight/runtime.GOMAXPROCS(0))) // RunParallel runs this × GOMAXPROCS goroutines
				cpu0, sw0 := cpuTime()
				b.ResetTimer()
				run := func() {
					cmd := tc.cmd
					if rep := x.Handle(ctx, &cmd); !rep.OK {
						b.Errorf("%s: %+v", cmd.Action, rep.Error)
					}
				}
				if inflight == 1 {
					for range b.N {
						run()
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							run()
						}
					})
				}
				b.StopTimer()
				cpu1, sw1 := cpuTime()
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(sw1-sw0)/float64(b.N), "sleeps/op")
			})
		}
	}
}

// cpuTime is the process's user and system CPU time, and how often one
// of its threads went to sleep (voluntary context switches: a thread that
// parks for lack of work, to be woken again by the next event).
func cpuTime() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw
}

type discardSink struct{}

func (discardSink) PublishEvent(context.Context, *callapi.Event) error { return nil }
