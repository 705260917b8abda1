package asterisk

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
)

// placer bounds the originates being placed on Asterisk at once (their
// POST /channels in flight: Config.MaxPlacing) and how long one waits for
// its turn. Waiting originates get their place in arrival order. When the
// last originate that got a place had waited longer than maxWait, the
// queue is standing (more calls come than Asterisk places): new ones are
// refused at once, retryable, with nothing placed, until a place is given
// again after a short wait (or at once). So a burst — every client
// retrying after an outage — is served first come first served at the
// rate Asterisk places calls, each caller hearing within about maxWait
// whether its call is being placed, instead of every call waiting for all
// the others. A call that rings holds no place.
type placer struct {
	places  chan struct{}
	maxWait time.Duration
	now     func() time.Time

	mu       sync.Mutex
	lastWait time.Duration // how long the last originate given a place had waited
}

func newPlacer(n int, maxWait time.Duration) *placer {
	return &placer{places: make(chan struct{}, n), maxWait: maxWait, now: time.Now}
}

// acquire waits for a place for call id. It fails at once with
// node_unavailable while the queue stands, and with node_unavailable when
// ctx ends first: in both cases nothing was placed and a retry may place
// it. A nil error must be followed by release.
func (pl *placer) acquire(ctx context.Context, id callapi.CallID) error {
	select {
	case pl.places <- struct{}{}:
		pl.gave(0)
		return nil
	default:
	}
	pl.mu.Lock()
	standing := pl.lastWait > pl.maxWait
	lastWait := pl.lastWait
	pl.mu.Unlock()
	if standing {
		return callapi.Errorf(callapi.CodeNodeUnavailable,
			"the PBX is busy placing other calls (the last one waited %v for its turn): call %s was not placed, retry later",
			lastWait.Round(time.Millisecond), id)
	}
	start := pl.now()
	select {
	case pl.places <- struct{}{}:
		pl.gave(pl.now().Sub(start))
		return nil
	case <-ctx.Done():
		return callapi.Wrap(callapi.CodeNodeUnavailable, "asterisk.Originate", ctx.Err(),
			fmt.Sprintf("the PBX was placing other calls until the deadline: call %s was not placed, retry later", id))
	}
}

func (pl *placer) gave(waited time.Duration) {
	pl.mu.Lock()
	pl.lastWait = waited
	pl.mu.Unlock()
}

func (pl *placer) release() { <-pl.places }
