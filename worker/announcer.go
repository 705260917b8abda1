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

	started  time.Time
	draining chan struct{}
}

// NewAnnouncer returns an Announcer.
func NewAnnouncer(node callapi.NodeID, pbx callapi.PBX, sink callapi.HeartbeatSink, interval time.Duration, capacity int) *Announcer {
	if interval <= 0 {
		interval = callapi.DefaultHeartbeatInterval
	}
	return &Announcer{Node: node, PBX: pbx, Sink: sink, Interval: interval, Capacity: capacity, draining: make(chan struct{})}
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
	for {
		hb := a.beat(ctx, state)
		if state != announced {
			a.announce(ctx, hb)
			announced = state
		}
		select {
		case <-ctx.Done():
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
			return nil
		case <-t.C:
		case <-drain:
			state, drain = callapi.NodeDraining, nil
		}
	}
}
