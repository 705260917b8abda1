package gateway

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Service is the gateway's side of the CallAPI: it turns API requests into
// commands, routes them to the right node and decodes the replies. It holds
// no state that cannot be rebuilt from the bus (node registry from
// heartbeats, call locations from events and locate broadcasts).
type Service struct {
	Bus       Bus
	Nodes     *Registry
	Locations *Locations
	Now       func() time.Time // nil = time.Now
}

// NewService wires a Service.
func NewService(bus Bus, nodes *Registry, locs *Locations) *Service {
	return &Service{Bus: bus, Nodes: nodes, Locations: locs}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// idemNamespace seeds deterministic command ids from idempotency keys.
var idemNamespace = uuid.MustParse("6f1c1a52-5b0e-4b8a-9d43-0c8d5e0a7c11")

// CommandID returns a new command id, or the deterministic one for an
// idempotency key (per tenant), so that a retried request reuses it.
func CommandID(tenant, idemKey string) string {
	if idemKey == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(idemNamespace, []byte(tenant+"\x00"+idemKey)).String()
}

// CallIDFor derives the id of the call an originate command creates, so that
// a retried originate addresses the same channel id.
func CallIDFor(commandID string) CallID {
	return CallID(uuid.NewSHA1(idemNamespace, []byte("call\x00"+commandID)).String())
}

// Options are per-request options of the API.
type Options struct {
	Tenant         string
	IdempotencyKey string
	Async          bool // publish and return the command id; outcome as command.completed
}

func (o Options) tenant() string {
	if o.Tenant == "" {
		return DefaultTenant
	}
	return o.Tenant
}

// Accepted is returned (with a nil result) by async requests.
type Accepted struct {
	CommandID string `json:"command_id"`
	CallID    CallID `json:"call_id,omitempty"`
	Node      NodeID `json:"node,omitempty"`
}

func (s *Service) newCommand(o Options, a Action, args any) (*Command, error) {
	cmd := &Command{ID: CommandID(o.tenant(), o.IdempotencyKey), Action: a, Tenant: o.tenant(), IdempotencyKey: o.IdempotencyKey}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, Wrap(EInternal, "gateway.newCommand", err, "unencodable arguments")
		}
		cmd.Args = b
	}
	return cmd, nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// send routes cmd to target, sync or async, and decodes the result into out.
func (s *Service) send(ctx context.Context, target Target, cmd *Command, o Options, out any) (*Accepted, error) {
	cmd.Deadline = deadlineOf(ctx)
	if o.Async {
		if err := s.Bus.Send(ctx, target, cmd); err != nil {
			return nil, err
		}
		acc := &Accepted{CommandID: cmd.ID, CallID: cmd.CallID}
		if target != TargetAny && target != TargetAll {
			acc.Node = NodeID(target)
		}
		return acc, nil
	}
	rep, err := s.Bus.Request(ctx, target, cmd)
	if err != nil {
		return nil, err
	}
	return nil, rep.Decode(out)
}

// checkNode fails fast for a node the registry knows to be down. An
// unknown node is tried: the mandatory publish is the first line.
func (s *Service) checkNode(n NodeID) error {
	if !ValidNodeID(string(n)) {
		return Invalid("node", "%q is not a valid node id", n)
	}
	if node, ok := s.Nodes.Get(n, s.now()); ok && node.State == NodeDown {
		return Errorf(ENodeUnavailable, "node %s is down", n)
	}
	return nil
}

// OriginateRequest is an originate as the API receives it.
type OriginateRequest struct {
	Node NodeID
	Args OriginateArgs
}

// Originate places a call on the named node or on any live node.
func (s *Service) Originate(ctx context.Context, o Options, req OriginateRequest) (*Call, *Accepted, error) {
	if err := req.Args.Validate(); err != nil {
		return nil, nil, err
	}
	target := TargetAny
	if req.Node != "" {
		if err := s.checkNode(req.Node); err != nil {
			return nil, nil, err
		}
		target = NodeTarget(req.Node)
	} else if len(s.Nodes.Live(s.now())) == 0 {
		return nil, nil, Errorf(ENodeUnavailable, "no node is up")
	}
	cmd, err := s.newCommand(o, ActCallOriginate, req.Args)
	if err != nil {
		return nil, nil, err
	}
	cmd.CallID = CallIDFor(cmd.ID)
	var call Call
	acc, err := s.send(ctx, target, cmd, o, &call)
	if err != nil || acc != nil {
		return nil, acc, err
	}
	if call.Hangup == nil {
		s.Locations.Put(call.ID, call.Node)
	}
	return &call, nil, nil
}

// Locate returns the node that owns a call: from the cache, else by
// asking every live node.
func (s *Service) Locate(ctx context.Context, o Options, id CallID) (NodeID, error) {
	if !ValidID(string(id)) {
		return "", Invalid("id", "%q is not a valid call id", id)
	}
	if n, ok := s.Locations.Get(id); ok {
		return n, nil
	}
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, ActCallLocate, nil)
	if err != nil {
		return "", err
	}
	cmd.CallID = id
	cmd.Deadline = deadlineOf(ctx)
	live := s.Nodes.Live(s.now())
	if len(live) == 0 {
		return "", Errorf(ENodeUnavailable, "no node is up")
	}
	reps, err := s.Bus.Gather(ctx, cmd, live)
	if err != nil {
		return "", err
	}
	for _, r := range reps {
		var lr LocateResult
		if r.OK && r.Decode(&lr) == nil && lr.Node != "" {
			s.Locations.Put(id, lr.Node)
			return lr.Node, nil
		}
	}
	return "", Errorf(ENotFound, "call %s not found", id)
}

// callCommand sends a command about one existing call to the node that owns
// it. A not_found answer evicts the cached location.
func (s *Service) callCommand(ctx context.Context, o Options, id CallID, a Action, args, out any) (*Accepted, error) {
	node, err := s.Locate(ctx, o, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	cmd, err := s.newCommand(o, a, args)
	if err != nil {
		return nil, err
	}
	cmd.CallID = id
	acc, err := s.send(ctx, NodeTarget(node), cmd, o, out)
	if ErrorCode(err) == ENotFound {
		s.Locations.Forget(id)
	}
	return acc, err
}

// Call returns one call.
func (s *Service) Call(ctx context.Context, o Options, id CallID) (*Call, error) {
	var c Call
	if _, err := s.callCommand(ctx, Options{Tenant: o.Tenant}, id, ActCallGet, nil, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Hangup ends a call.
func (s *Service) Hangup(ctx context.Context, o Options, id CallID, reason string) (*Accepted, error) {
	args := HangupArgs{Reason: reason}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	acc, err := s.callCommand(ctx, o, id, ActCallHangup, args, nil)
	if err == nil && acc == nil {
		s.Locations.Forget(id)
	}
	return acc, err
}

// ListRequest filters a call listing.
type ListRequest struct {
	Node NodeID
	ListArgs
}

// Calls lists the calls of every live node (or of one), merged and sorted
// by creation time. Nodes that did not answer in time are left out and
// named in the second result.
func (s *Service) Calls(ctx context.Context, o Options, req ListRequest) ([]*Call, []NodeID, error) {
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, ActCallList, req.ListArgs)
	if err != nil {
		return nil, nil, err
	}
	cmd.Deadline = deadlineOf(ctx)
	var reps []*Reply
	expect := s.Nodes.Live(s.now())
	if req.Node != "" {
		if err := s.checkNode(req.Node); err != nil {
			return nil, nil, err
		}
		rep, err := s.Bus.Request(ctx, NodeTarget(req.Node), cmd)
		if err != nil {
			return nil, nil, err
		}
		reps, expect = []*Reply{rep}, []NodeID{req.Node}
	} else {
		if len(expect) == 0 {
			return []*Call{}, nil, nil
		}
		if reps, err = s.Bus.Gather(ctx, cmd, expect); err != nil {
			return nil, nil, err
		}
	}
	calls := []*Call{}
	answered := map[NodeID]bool{}
	for _, r := range reps {
		var l CallList
		if err := r.Decode(&l); err != nil {
			continue
		}
		answered[r.Node] = true
		for _, c := range l.Calls {
			s.Locations.Put(c.ID, c.Node)
			calls = append(calls, c)
		}
	}
	var missing []NodeID
	for _, n := range expect {
		if !answered[n] {
			missing = append(missing, n)
		}
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].CreatedAt.Before(calls[j].CreatedAt) })
	return calls, missing, nil
}
