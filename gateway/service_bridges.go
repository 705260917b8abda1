package gateway

import (
	"context"
	"github.com/callgw/callgw/callapi"
	"sort"
)

// The bridge and transfer side of Service.

// CreateBridge creates a bridge on the node of its first call, the named
// node, or any node, and adds the given calls to it.
func (s *Service) CreateBridge(ctx context.Context, o Options, req callapi.BridgeCreateRequest) (*callapi.Bridge, error) {
	if err := req.Validate(s.Rules); err != nil {
		return nil, err
	}
	var target callapi.Target
	switch {
	case req.Node == "" && len(req.Calls) > 0:
		n, err := s.Locate(ctx, o, req.Calls[0])
		if err != nil {
			return nil, err
		}
		target = callapi.NodeTarget(n)
	default:
		var err error
		if target, err = s.createTarget(req.Node); err != nil {
			return nil, err
		}
	}
	cmd, err := s.newCommand(o, callapi.ActBridgeCreate, req.BridgeCreateArgs)
	if err != nil {
		return nil, err
	}
	cmd.BridgeID = callapi.BridgeID(callapi.CallIDFor(cmd.ID))
	var b callapi.Bridge
	if _, err := s.send(ctx, target, cmd, Options{Tenant: o.Tenant}, &b); err != nil {
		return nil, err
	}
	s.Locations.Put(bridgeKey(o.Tenant, b.ID), b.Node)
	for _, c := range req.Calls {
		// A retried creation (same idempotency key) re-sends the same
		// additions, which the worker answers from its memory.
		sub := Options{Tenant: o.Tenant}
		if o.IdempotencyKey != "" {
			sub.IdempotencyKey = o.IdempotencyKey + "/add/" + string(c)
		}
		if _, err := s.BridgeAction(ctx, sub, b.ID, callapi.ActBridgeAdd, &callapi.BridgeCallArgs{CallID: c}, nil); err != nil {
			return &b, err
		}
		b.Calls = append(b.Calls, c)
	}
	return &b, nil
}

// BridgeAction runs an action on an existing bridge (its Spec's ID is
// IDBridge) on the node that owns the bridge; args and out as in CallAction.
func (s *Service) BridgeAction(ctx context.Context, o Options, id callapi.BridgeID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if !callapi.ValidID(string(id)) {
		return nil, callapi.Invalid("id", "%q is not a valid bridge id", id)
	}
	if spec, ok := callapi.SpecOf(a); !ok || !spec.NeedsExisting(callapi.IDBridge) {
		return nil, callapi.Invalid("action", "%s is not an action on an existing bridge", a)
	}
	acc, err := s.routed(ctx, o, bridgeRes(o.Tenant, id), a, args, out)
	if err != nil || acc != nil {
		return acc, err
	}
	switch v := out.(type) {
	case *callapi.Playback:
		s.Locations.Put(playbackKey(o.Tenant, v.ID), v.Node)
	case *callapi.Recording:
		s.Locations.Put(recordingKey(o.Tenant, v.Name), v.Node)
	}
	if a == callapi.ActBridgeDestroy {
		s.Locations.Forget(bridgeKey(o.Tenant, id))
	}
	return nil, nil
}

// Bridges lists the bridges of every live node.
func (s *Service) Bridges(ctx context.Context, o Options) ([]*callapi.Bridge, []callapi.NodeID, error) {
	out := []*callapi.Bridge{}
	missing, err := s.gatherAll(ctx, o, callapi.ActBridgeList, nil, func(r *callapi.Reply) error {
		var l callapi.BridgeList
		if err := r.Decode(&l); err != nil {
			return err
		}
		for _, b := range l.Bridges {
			s.Locations.Put(bridgeKey(o.Tenant, b.ID), b.Node)
		}
		out = append(out, l.Bridges...)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, missing, err
}

// Transfer performs an attended transfer on the node that owns the
// transferee: the transferee and the target are bridged, the transferring
// party is hung up. The new bridge's id is chosen when absent (named).
func (s *Service) Transfer(ctx context.Context, o Options, a callapi.TransferArgs) (*callapi.Bridge, error) {
	args, _ := named(o, callapi.ActCallTransfer, &a)
	if err := callapi.ValidateArgs(callapi.ActCallTransfer, s.Rules, args); err != nil {
		return nil, err
	}
	nodes := map[callapi.NodeID]bool{}
	for _, id := range []callapi.CallID{a.Transferee, a.Target, a.Transferer} {
		n, err := s.Locate(ctx, o, id)
		if err != nil {
			return nil, err
		}
		nodes[n] = true
	}
	if len(nodes) != 1 {
		return nil, callapi.Errorf(callapi.CodeConflict, "the calls are on different nodes; a transfer joins calls of one Asterisk")
	}
	var node callapi.NodeID
	for n := range nodes {
		node = n
	}
	cmd, err := s.newCommand(o, callapi.ActCallTransfer, args)
	if err != nil {
		return nil, err
	}
	var b callapi.Bridge
	if _, err := s.send(ctx, callapi.NodeTarget(node), cmd, Options{Tenant: o.Tenant}, &b); err != nil {
		return nil, err
	}
	s.Locations.Put(bridgeKey(o.Tenant, b.ID), b.Node)
	s.Locations.Forget(callKey(o.Tenant, a.Transferer))
	return &b, nil
}
