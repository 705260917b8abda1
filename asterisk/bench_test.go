package asterisk

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// BenchmarkOriginateHangup originates and hangs up calls against the
// simulator with about 64 in flight, with the ARI connection pool the
// native client would have (2 idle per host) and with ours.
func BenchmarkOriginateHangup(b *testing.B) {
	for _, pool := range []int{2, 64} {
		b.Run(fmt.Sprintf("pool=%d", pool), func(b *testing.B) {
			_, ts := newSim(b)
			p, _, stop := startPBX(b, ts, func(c *Config) { c.MaxConns = pool; c.Log = nil })
			defer stop()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					id := newID()
					if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test"}); err != nil {
						b.Error(err)
						return
					}
					if err := p.Hangup(ctx, "acme", id, ""); err != nil && callapi.ErrorCode(err) != callapi.CodeNotFound {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
