package gateway

import (
	"context"
	"sort"
)

// The bridge and transfer side of Service.

// CreateBridge creates a bridge on the node of its first call, the named
// node, or any node, and adds the given calls to it.
func (s *Service) CreateBridge(ctx context.Context, o Options, req BridgeCreateRequest) (*Bridge, error) {
	if err := req.Validate(s.Rules); err != nil {
		return nil, err
	}
	var target Target
	switch {
	case req.Node == "" && len(req.Calls) > 0:
		n, err := s.Locate(ctx, o, req.Calls[0])
		if err != nil {
			return nil, err
		}
		target = NodeTarget(n)
	default:
		var err error
		if target, err = s.createTarget(req.Node); err != nil {
			return nil, err
		}
	}
	cmd, err := s.newCommand(o, ActBridgeCreate, req.Args)
	if err != nil {
		return nil, err
	}
	cmd.BridgeID = BridgeID(CallIDFor(cmd.ID))
	var b Bridge
	if _, err := s.send(ctx, target, cmd, Options{Tenant: o.Tenant}, &b); err != nil {
		return nil, err
	}
	s.Locations.Put(BridgeKey(o.tenant(), b.ID), b.Node)
	for _, c := range req.Calls {
		// A retried creation (same idempotency key) re-sends the same
		// additions, which the worker answers from its memory.
		sub := Options{Tenant: o.Tenant}
		if o.IdempotencyKey != "" {
			sub.IdempotencyKey = o.IdempotencyKey + "/add/" + string(c)
		}
		if _, err := s.BridgeAction(ctx, sub, b.ID, ActBridgeAdd, &BridgeCallArgs{CallID: c}, nil); err != nil {
			return &b, err
		}
		b.Calls = append(b.Calls, c)
	}
	return &b, nil
}

// BridgeAction runs an action on an existing bridge (its Spec's ID is
// IDBridge) on the node that owns the bridge; args and out as in CallAction.
func (s *Service) BridgeAction(ctx context.Context, o Options, id BridgeID, a Action, args, out any) (*Accepted, error) {
	if !ValidID(string(id)) {
		return nil, Invalid("id", "%q is not a valid bridge id", id)
	}
	if spec, ok := SpecOf(a); !ok || !spec.needsExisting(IDBridge) {
		return nil, Invalid("action", "%s is not an action on an existing bridge", a)
	}
	acc, err := s.routed(ctx, o, bridgeRes(o.tenant(), id), a, args, out)
	if err != nil || acc != nil {
		return acc, err
	}
	switch v := out.(type) {
	case *Playback:
		s.Locations.Put(PlaybackKey(o.tenant(), v.ID), v.Node)
	case *Recording:
		s.Locations.Put(RecordingKey(o.tenant(), v.Name), v.Node)
	}
	if a == ActBridgeDestroy {
		s.Locations.Forget(BridgeKey(o.tenant(), id))
	}
	return nil, nil
}

// Bridges lists the bridges of every live node.
func (s *Service) Bridges(ctx context.Context, o Options) ([]*Bridge, []NodeID, error) {
	out := []*Bridge{}
	missing, err := s.gatherAll(ctx, o, ActBridgeList, nil, func(r *Reply) error {
		var l BridgeList
		if err := r.Decode(&l); err != nil {
			return err
		}
		for _, b := range l.Bridges {
			s.Locations.Put(BridgeKey(o.tenant(), b.ID), b.Node)
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
func (s *Service) Transfer(ctx context.Context, o Options, a TransferArgs) (*Bridge, error) {
	args, _ := named(o, ActCallTransfer, &a)
	if err := ValidateArgs(ActCallTransfer, s.Rules, args); err != nil {
		return nil, err
	}
	nodes := map[NodeID]bool{}
	for _, id := range []CallID{a.Transferee, a.Target, a.Transferer} {
		n, err := s.Locate(ctx, o, id)
		if err != nil {
			return nil, err
		}
		nodes[n] = true
	}
	if len(nodes) != 1 {
		return nil, Errorf(EConflict, "the calls are on different nodes; a transfer joins calls of one Asterisk")
	}
	var node NodeID
	for n := range nodes {
		node = n
	}
	cmd, err := s.newCommand(o, ActCallTransfer, args)
	if err != nil {
		return nil, err
	}
	var b Bridge
	if _, err := s.send(ctx, NodeTarget(node), cmd, Options{Tenant: o.Tenant}, &b); err != nil {
		return nil, err
	}
	s.Locations.Put(BridgeKey(o.tenant(), b.ID), b.Node)
	s.Locations.Forget(CallKey(o.tenant(), a.Transferer))
	return &b, nil
}
