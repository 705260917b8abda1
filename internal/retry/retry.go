// Package retry holds the one backoff of callgw: every retry loop (the
// broker and ARI reconnects, the ARI re-reads, the hang-up republish, the
// SDK's request and stream retries) waits with Backoff and Sleep.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the delay before retry number attempt (0 first): lo doubled
// attempt times, capped at hi, with jitter in [d/2, d] so that processes
// that lost the same peer do not come back in step. Every retry loop of
// callgw uses it: the broker and ARI reconnects, the ARI re-reads, the
// hang-up republish, the SDK's (callapi) request and stream retries.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
}

// Sleep waits d, or until ctx ends (false).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
