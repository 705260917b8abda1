package restapi

import (
	"sync"

	"github.com/callgw/callgw/callapi"
)

// StreamLimits bounds the event streams (SSE and WebSocket together) open
// on one gateway: each holds a goroutine, a buffer and a share of the
// event fan-out, so one token must not be able to open them without end.
// Past a limit the stream request answers 429 (rate_limited).
type StreamLimits struct {
	PerToken  int // streams one token may hold: 8 (no per-token limit when auth is off)
	PerTenant int // streams all tokens of one tenant may hold: 64
}

// streamCounts counts the open streams.
type streamCounts struct {
	mu       sync.Mutex
	byToken  map[string]int
	byTenant map[string]int
}

// acquire counts one more stream of p, or says which limit it would pass.
// The returned func releases it (call it once).
func (c *streamCounts) acquire(p Principal, lim StreamLimits) (func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byToken == nil {
		c.byToken, c.byTenant = map[string]int{}, map[string]int{}
	}
	if p.TokenID != "" && c.byToken[p.TokenID] >= lim.PerToken {
		return nil, callapi.Errorf(callapi.CodeRateLimited, "this token holds %d event streams already (the limit); close one first", lim.PerToken)
	}
	if c.byTenant[p.Tenant] >= lim.PerTenant {
		return nil, callapi.Errorf(callapi.CodeRateLimited, "tenant %s holds %d event streams on this gateway already (the limit); close one first", p.Tenant, lim.PerTenant)
	}
	if p.TokenID != "" {
		c.byToken[p.TokenID]++
	}
	c.byTenant[p.Tenant]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if p.TokenID != "" {
				if c.byToken[p.TokenID]--; c.byToken[p.TokenID] <= 0 {
					delete(c.byToken, p.TokenID)
				}
			}
			if c.byTenant[p.Tenant]--; c.byTenant[p.Tenant] <= 0 {
				delete(c.byTenant, p.Tenant)
			}
		})
	}, nil
}
