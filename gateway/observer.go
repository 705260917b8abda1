package gateway

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Observer keeps a gateway's view of the cluster, rebuilt from the bus:
// the node registry from heartbeats (Heartbeat), call and bridge locations
// and the call records from events (Learn), nodes that stopped beating
// declared down (Sweep, publishing node.down), and readiness (Ready: a node
// is up and the gateway has listened long enough to have heard every live
// node: PingWait after asking them, Pinged). The adapters feed it; it does no I/O of its own but publishing
// node.down through the EventSink it is given.
type Observer struct {
	Nodes     *Registry
	Locations *Locations
	Records   *Records // nil: no call records
	Now       func() time.Time

	since       atomic.Int64 // unix ns when heartbeats were first listened to
	pingedAt    atomic.Int64 // unix ns when the first nodes.ping was confirmed
	maxInterval atomic.Int64 // longest heartbeat interval seen, ms
}

// PingWait is how long after its nodes.ping (amqpbus WatchNodes) a
// starting gateway waits for the nodes' answers before it counts as warm:
// a worker answers at once, or within its announcer's MinGap (100ms) when
// it just beat, so every live node has been heard by then.
const PingWait = 250 * time.Millisecond

// NewObserver builds an Observer over the gateway's registry, location
// cache and call records (nil: none).
func NewObserver(nodes *Registry, locs *Locations, recs *Records) *Observer {
	return &Observer{Nodes: nodes, Locations: locs, Records: recs}
}

func (o *Observer) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Listening marks the moment the gateway started listening to heartbeats
// (once its subscription consumes); the warm-up of Ready counts from the
// first call.
func (o *Observer) Listening() {
	o.since.CompareAndSwap(0, o.now().UnixNano())
}

// Pinged records that the nodes were asked to beat now (a nodes.ping the
// broker confirmed at at); the first one starts the PingWait after which
// the gateway is warm. A failed ping (err) is not counted: the gateway
// then warms up by the heartbeats' schedule.
func (o *Observer) Pinged(at time.Time, err error) {
	if err == nil {
		o.pingedAt.CompareAndSwap(0, at.UnixNano())
	}
}

// Heartbeat records a heartbeat and returns the node's state change, if any.
func (o *Observer) Heartbeat(hb *callapi.Heartbeat) *callapi.NodeChange {
	for {
		cur := o.maxInterval.Load()
		if hb.IntervalMS <= cur || o.maxInterval.CompareAndSwap(cur, hb.IntervalMS) {
			break
		}
	}
	return o.Nodes.Observe(*hb, o.now())
}

// Warm reports whether every live node has been heard, so that listings
// and locates ask all of them (a gateway that answered earlier would leave
// out nodes it has not heard yet): PingWait after the first nodes.ping,
// or, without one, once the gateway has listened to heartbeats for longer
// than the nodes' longest heartbeat interval (plus a quarter).
func (o *Observer) Warm() bool {
	ok, _ := o.WarmBy()
	return ok
}

// WarmBy is Warm with its reason, for /readyz: how the nodes were learned,
// or what the gateway still waits for.
func (o *Observer) WarmBy() (bool, string) {
	since := o.since.Load()
	if since == 0 {
		return false, "not listening to the nodes' heartbeats yet"
	}
	now := o.now()
	if p := o.pingedAt.Load(); p != 0 {
		pingAt := time.Unix(0, p)
		if now.Sub(pingAt) >= PingWait {
			heard := 0
			for _, n := range o.Nodes.List(now) {
				if !n.LastSeen.Before(pingAt) {
					heard++
				}
			}
			return true, fmt.Sprintf("%d node(s) answered the nodes.ping within %v", heard, PingWait)
		}
	}
	iv := time.Duration(o.maxInterval.Load()) * time.Millisecond
	if now.Sub(time.Unix(0, since)) > iv+iv/4 {
		return true, fmt.Sprintf("heard the nodes' heartbeats for one interval (%v)", iv)
	}
	if o.pingedAt.Load() != 0 {
		return false, "still learning the nodes: waiting for the answers to the nodes.ping"
	}
	return false, "still learning the nodes from their heartbeats"
}

// Ready reports whether the cluster can be served: a node is up and the
// gateway is warm (callapi.CodeNodeUnavailable otherwise, saying which).
func (o *Observer) Ready() error {
	if len(o.Nodes.Live(o.now())) == 0 {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up")
	}
	if ok, why := o.WarmBy(); !ok {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "%s", why)
	}
	return nil
}

// Patterns are the routing-key patterns of the events Learn needs (a
// gateway subscribes to these even when no HTTP stream takes every event):
// the creations and ends of calls and bridges for their locations, and,
// when call records are on, the answers and bridgings they keep.
func (o *Observer) Patterns() []string {
	p := []string{"*.*.call.created.*", "*.*.call.hangup.*", "*.*.bridge.created.*", "*.*.bridge.destroyed.*"}
	if o.Records.on() {
		p = append(p, "*.*.call.answered.*", "*.*.call.bridged.*", "*.*.call.unbridged.*")
	}
	return p
}

// Learn updates the location cache and the call records from an event.
func (o *Observer) Learn(e *callapi.Event) {
	if o.Records != nil {
		o.Records.Observe(e)
	}
	switch e.Type {
	case callapi.EvCallCreated:
		o.Locations.Put(callKey(e.Tenant, e.CallID), e.Node)
	case callapi.EvCallHangup:
		o.Locations.Forget(callKey(e.Tenant, e.CallID))
	case callapi.EvBridgeCreated:
		o.Locations.Put(bridgeKey(e.Tenant, e.BridgeID), e.Node)
	case callapi.EvBridgeDestroyed:
		o.Locations.Forget(bridgeKey(e.Tenant, e.BridgeID))
	}
}

// nodeDownTimeout bounds the publication of one node.down event.
const nodeDownTimeout = 2 * time.Second

// Swept is a node Sweep declared down, and the outcome of publishing its
// node.down event (nil: published).
type Swept struct {
	Node callapi.NodeID
	Err  error
}

// Sweep declares down the nodes that missed their heartbeats and publishes
// node.down for each to sink. Every gateway that notices publishes the
// same event id (derived from the node's last heartbeat), so subscribers
// drop the copies by id.
func (o *Observer) Sweep(ctx context.Context, sink callapi.EventSink) []Swept {
	now := o.now()
	var out []Swept
	for _, ch := range o.Nodes.Sweep(now) {
		n, _ := o.Nodes.Get(ch.Node, now)
		hb := n.Heartbeat
		hb.State, hb.Healthy, hb.Reason = callapi.NodeDown, false, "missed heartbeats"
		ev := callapi.NodeEvent(&hb, "missed:"+n.Time.UTC().Format(time.RFC3339Nano))
		pctx, cancel := context.WithTimeout(ctx, nodeDownTimeout)
		err := sink.PublishEvent(pctx, ev)
		cancel()
		out = append(out, Swept{Node: ch.Node, Err: err})
	}
	return out
}

// RunSweeps sweeps every interval until ctx ends, handing each result to
// report (for the log); it returns nil.
func (o *Observer) RunSweeps(ctx context.Context, interval time.Duration, sink callapi.EventSink, report func(Swept)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			for _, s := range o.Sweep(ctx, sink) {
				report(s)
			}
		}
	}
}
