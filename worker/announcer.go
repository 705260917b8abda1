package worker

import (
	"context"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Announcer sends a worker's heartbeats: up while ctx lives, then draining
// when Drain is called, and a last "down" beat when Run returns.
type Announcer struct {
	Node     callapi.NodeID
	PBX      callapi.PBX
	Sink     callapi.HeartbeatSink
	Interval time.Duration
	Capacity int
	Events   callapi.EventSink // nil: no node.up/draining/down events
	OnError  func(error)       // nil: ignore (the next beat retries)
	// MinGap is the least time between a beat and one BeatNow asks for
	// (DefaultMinGap): pings of many gateways at once coalesce into at
	// most one extra beat per MinGap.
	MinGap time.Duration

	started  time.Time
	draining chan struct{}
	now      chan struct{} // BeatNow's request, coalesced (buffer 1)
}

// DefaultMinGap is Announcer.MinGap's default: short enough for a starting
// gateway, which waits a quarter of a second for the nodes' answers to its
// ping, long enough that a storm of pings costs a node at most ten beats a
// second.
const DefaultMinGap = 100 * time.Millisecond

// NewAnnouncer returns an Announcer.
func NewAnnouncer(node callapi.NodeID, pbx callapi.PBX, sink callapi.HeartbeatSink, interval time.Duration, capacity int) *Announcer {
	if interval <= 0 {
		interval = callapi.DefaultHeartbeatInterval
	}
	return &Announcer{Node: node, PBX: pbx, Sink: sink, Interval: interval, Capacity: capacity, MinGap: DefaultMinGap,
		draining: make(chan struct{}), now: make(chan struct{}, 1)}
}

// BeatNow asks for a beat now, out of the schedule: a gateway's nodes.ping,
// the broker connection back, ARI connected or lost. It never blocks;
// requests made while one is pending are one, and a beat follows the
// previous one by MinGap at least. Before Run it is kept for Run's first
// beat.
func (a *Announcer) BeatNow() {
	select {
	case a.now <- struct{}{}:
	default:
	}
}

// Drain makes the following beats say draining. It is safe to call once.
func (a *Announcer) Drain() {
	select {
	case <-a.draining:
	default:
		close(a.draining)
	}
}

func (a *Announcer) beat(ctx context.Context, state callapi.NodeState) *callapi.Heartbeat {
	hb := &callapi.Heartbeat{Node: a.Node, State: state, Capacity: a.Capacity, IntervalMS: a.Interval.Milliseconds(), StartedAt: a.started, Time: time.Now().UTC()}
	ictx, cancel := context.WithTimeout(ctx, a.Interval)
	info, err := a.PBX.Info(ictx)
	cancel()
	if err != nil {
		hb.Healthy, hb.Reason = false, "asterisk: "+callapi.ErrorMessage(err)
	} else {
		hb.AsteriskID, hb.AsteriskVersion, hb.App, hb.Calls = info.AsteriskID, info.AsteriskVersion, info.App, info.Calls
		hb.Healthy, hb.Reason = info.Healthy, info.Reason
	}
	pctx, cancel := context.WithTimeout(ctx, a.Interval)
	defer cancel()
	if err := a.Sink.PublishHeartbeat(pctx, hb); err != nil && a.OnError != nil {
		a.OnError(err)
	}
	return hb
}

// announce publishes the node event of a state change.
func (a *Announcer) announce(ctx context.Context, hb *callapi.Heartbeat) {
	if a.Events == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, a.Interval)
	defer cancel()
	if err := a.Events.PublishEvent(pctx, callapi.NodeEvent(hb, "")); err != nil && a.OnError != nil {
		a.OnError(err)
	}
}

// Run beats every Interval until ctx ends, then sends a final "down" beat
// (bounded by one interval). Drain makes it beat "draining" at once.
func (a *Announcer) Run(ctx context.Context) error {
	a.started = time.Now().UTC()
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	state, announced := callapi.NodeUp, callapi.NodeState("")
	drain := (<-chan struct{})(a.draining)
	gap := a.MinGap
	if gap <= 0 {
		gap = DefaultMinGap
	}
	for {
		select { // this beat answers the BeatNow requests made so far
		case <-a.now:
		default:
		}
		last := time.Now()
		hb := a.beat(ctx, state)
		if state != announced {
			a.announce(ctx, hb)
			announced = state
		}
		select {
		case <-ctx.Done():
			a.final(ctx, announced)
			return nil
		case <-t.C:
		case <-drain:
			state, drain = callapi.NodeDraining, nil
		case <-a.now:
			if wait := gap - time.Since(last); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					a.final(ctx, announced)
					return nil
				}
			}
		}
	}
}

// final sends the last beats once ctx ended: draining first when drained
// but not yet announced, then down (bounded by three intervals).
func (a *Announcer) final(ctx context.Context, announced callapi.NodeState) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*a.Interval)
	defer cancel()
	select {
	case <-a.draining:
		if announced != callapi.NodeDraining { // drained and stopped at once: say both
			a.announce(fctx, a.beat(fctx, callapi.NodeDraining))
		}
	default:
	}
	a.announce(fctx, a.beat(fctx, callapi.NodeDown))
}
