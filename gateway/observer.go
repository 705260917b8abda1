package gateway

import (
	"context"
	"github.com/callgw/callgw/callapi"
	"sync/atomic"
	"time"
)

// Observer keeps a gateway's view of the cluster, rebuilt from the bus:
// the node registry from heartbeats (Heartbeat), call and bridge locations
// and the call records from events (Learn), nodes that stopped beating
// declared down (Sweep, publishing node.down), and readiness (Ready: a node
// is up and the gateway has listened long enough to have heard every live
// node). The adapters feed it; it does no I/O of its own but publishing
// node.down through the EventSink it is given.
type Observer struct {
	Nodes     *Registry
	Locations *Locations
	Records   *Records // nil: no call records
	Now       func() time.Time

	since       atomic.Int64 // unix ns when heartbeats were first listened to
	maxInterval atomic.Int64 // longest heartbeat interval seen, ms
}

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

// Warm reports whether the gateway has listened to heartbeats for longer
// than the nodes' longest heartbeat interval (plus a quarter): only then
// has every live node beaten at least once, so that listings and locates
// ask all of them. A gateway that answered earlier would leave out nodes
// it has not heard yet.
func (o *Observer) Warm() bool {
	since := o.since.Load()
	if since == 0 {
		return false
	}
	iv := time.Duration(o.maxInterval.Load()) * time.Millisecond
	return o.now().Sub(time.Unix(0, since)) > iv+iv/4
}

// Ready reports whether the cluster can be served: a node is up and the
// gateway is warm (callapi.CodeNodeUnavailable otherwise, saying which).
func (o *Observer) Ready() error {
	if len(o.Nodes.Live(o.now())) == 0 {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up")
	}
	if !o.Warm() {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "still learning the nodes from their heartbeats")
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
