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
// its turn (maxWait). Waiting originates get their places in arrival
// order; one that waited maxWait without a place is refused, retryable,
// with nothing placed, and while the last one refused or given a place
// had waited longer than maxWait (the queue stands: more calls come than
// Asterisk places), new ones are refused at once, until a place is given
// again after a shorter wait. So a burst — every client retrying after an
// outage — is served first come first served at the rate Asterisk places
// calls, each caller hearing within about maxWait whether its call is
// being placed, instead of every call waiting for all the others until
// its deadline. A call that rings holds no place.
type placer struct {
	places  chan struct{}
	maxWait time.Duration
	now     func() time.Time

	mu       sync.Mutex
	lastWait time.Duration // how long the last originate given a place, or refused one, had waited
}

func newPlacer(n int, maxWait time.Duration) *placer {
	return &placer{places: make(chan struct{}, n), maxWait: maxWait, now: time.Now}
}

// acquire waits for a place for call id. It fails with node_unavailable
// at once while the queue stands, after maxWait without a place, and when
// ctx ends first: nothing was placed and a retry may place it. A nil
// error must be followed by release.
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
	t := time.NewTimer(pl.maxWait)
	defer t.Stop()
	select {
	case pl.places <- struct{}{}:
		pl.gave(pl.now().Sub(start))
		return nil
	case <-t.C:
		waited := pl.now().Sub(start)
		pl.gave(max(waited, pl.maxWait+time.Nanosecond)) // the queue stands
		return callapi.Errorf(callapi.CodeNodeUnavailable,
			"the PBX is busy placing other calls (waited %v for a turn): call %s was not placed, retry later",
			waited.Round(time.Millisecond), id)
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
