package gateway

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/google/uuid"
)

// Service is the gateway's side of the CallAPI: it turns API requests into
// commands, routes them to the right node and decodes the replies. It holds
// no state that cannot be rebuilt from the bus (node registry from
// heartbeats, call locations from events and locate broadcasts).
type Service struct {
	Bus       callapi.Bus
	Nodes     *Registry
	Locations *Locations
	// Rules are checked (with the rest of the action's Spec.Validate)
	// before a command is published, for an early 400; the workers check
	// again (nil: the strict defaults).
	Rules *callapi.InputRules
	// Records, when set, answers for calls that ended (Call, and Calls
	// with state ended).
	Records *Records
	// Admission bounds the new calls and bridges waiting on each node
	// (nil: no bound).
	Admission *Admission
	Now       func() time.Time // nil = time.Now
}

// NewService wires a Service.
func NewService(bus callapi.Bus, nodes *Registry, locs *Locations) *Service {
	return &Service{Bus: bus, Nodes: nodes, Locations: locs}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Options are per-request options of the API.
type Options struct {
	// Tenant is the tenant the request acts for, never empty: the edge a
	// request enters by names it (restapi: the principal's, the default
	// tenant when auth is off).
	Tenant         string
	IdempotencyKey string
	Async          bool // publish and return the command id; outcome as command.completed
	// Scope is the node resources (endpoints, device states, mailboxes,
	// global variables) the request may see and change: the edge sets it
	// from the caller (restapi: every name for an admin, else its tenant's
	// patterns). Nil: none.
	Scope *callapi.NameScope
}

// newResourceID names what a request creates: derived from the
// idempotency key (per tenant) when there is one, so that a retried
// request names the same resource, else new. kind tells apart what one
// command may create besides its call ("playback", "snoop"); "" is the id
// of the command's own creation (CallIDFor of the command id, as
// originate's call and bridge.create's bridge).
func newResourceID(o Options, kind string) string {
	if o.IdempotencyKey == "" {
		return uuid.NewString()
	}
	id := callapi.CommandID(o.Tenant, o.IdempotencyKey)
	if kind != "" {
		id += "/" + kind
	}
	return string(callapi.CallIDFor(id))
}

// naming is an argument type that names what its command creates (a
// playback, a snoop call, a transfer's bridge): Validate requires the
// name, so that a retried command addresses the same resource, and the
// Service gives it (named) when the caller has not.
type naming interface {
	callapi.Validator
	// created returns the name and the kind it is derived with
	// (newResourceID).
	Created() (id, kind string)
	// naming returns a copy of the arguments that names id.
	Named(id string) callapi.Validator
}

// named is the one place the Service names what a command creates: for an
// action whose Spec creates something and whose arguments name it
// (naming), it returns args as a copy naming it, chosen when absent
// (newResourceID), and the name. The name is known before the command
// runs, so an asynchronous answer can point to it (Accepted.Created).
// Other arguments are returned as they are, for the Spec's validation to
// judge; the caller's own are never changed.
func named(o Options, a callapi.Action, args any) (any, string) {
	spec, ok := callapi.SpecOf(a)
	if !ok || !spec.Creates || args == nil {
		return args, ""
	}
	v, err := spec.Validator(args)
	if err != nil {
		return args, ""
	}
	n, ok := v.(naming)
	if !ok {
		return args, ""
	}
	id, kind := n.Created()
	if id != "" {
		return args, id
	}
	id = newResourceID(o, kind)
	return n.Named(id), id
}

func (s *Service) newCommand(o Options, a callapi.Action, args any) (*callapi.Command, error) {
	cmd := &callapi.Command{ID: callapi.CommandID(o.Tenant, o.IdempotencyKey), Action: a, Tenant: o.Tenant, IdempotencyKey: o.IdempotencyKey}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, callapi.Wrap(callapi.CodeInternal, "gateway.newCommand", err, "unencodable arguments")
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
func (s *Service) send(ctx context.Context, target callapi.Target, cmd *callapi.Command, o Options, out any) (*callapi.Accepted, error) {
	cmd.Deadline = deadlineOf(ctx)
	if o.Async {
		if err := s.Bus.Send(ctx, target, cmd); err != nil {
			return nil, err
		}
		acc := &callapi.Accepted{CommandID: cmd.ID, CallID: cmd.CallID}
		if target != callapi.TargetAny && target != callapi.TargetAll {
			acc.Node = callapi.NodeID(target)
		}
		return acc, nil
	}
	if admitted(cmd.Action) {
		if !s.Admission.enter(target) {
			return nil, busy(target, s.Admission.Limit(), cmd.Action)
		}
		defer s.Admission.leave(target)
	}
	rep, err := s.Bus.Request(ctx, target, cmd)
	if err != nil {
		return nil, noReply(ctx, err, target, cmd)
	}
	return nil, rep.Decode(out)
}

// checkNode fails fast for a node the registry knows to be down. An
// unknown node is tried: the mandatory publish is the first line.
func (s *Service) checkNode(n callapi.NodeID) error {
	if !callapi.ValidNodeID(string(n)) {
		return callapi.Invalid("node", "%q is not a valid node id", n)
	}
	if node, ok := s.Nodes.Get(n, s.now()); ok && node.State == callapi.NodeDown {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "node %s is down", n)
	}
	return nil
}

// createTarget picks where a command that creates something goes: the
// named node if it is up and healthy; otherwise the shared any queue while
// every live node is healthy, or the healthy up node with the fewest calls
// while some are not (a node whose ARI is away must get no new work, and
// it would still take from the any queue). No healthy node: node_unavailable
// at once, before publishing.
func (s *Service) createTarget(node callapi.NodeID) (callapi.Target, error) {
	now := s.now()
	if node != "" {
		if err := s.checkNode(node); err != nil {
			return "", err
		}
		if n, ok := s.Nodes.Get(node, now); ok && !n.Healthy {
			return "", callapi.Errorf(callapi.CodeNodeUnavailable, "node %s is unhealthy: %s", node, n.Reason)
		}
		return callapi.NodeTarget(node), nil
	}
	var up, healthy []callapi.Node
	for _, n := range s.Nodes.List(now) {
		if n.State != callapi.NodeUp {
			continue
		}
		up = append(up, n)
		if n.Healthy {
			healthy = append(healthy, n)
		}
	}
	switch {
	case len(up) == 0:
		return "", callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up")
	case len(healthy) == 0:
		return "", callapi.Errorf(callapi.CodeNodeUnavailable, "no healthy node: %s is %s", up[0].Node, up[0].Reason)
	case len(healthy) == len(up):
		return callapi.TargetAny, nil
	}
	best := healthy[0]
	for _, n := range healthy[1:] {
		if n.Calls < best.Calls {
			best = n
		}
	}
	return callapi.NodeTarget(best.Node), nil
}

// Originate places a call on the named node or on any live node.
func (s *Service) Originate(ctx context.Context, o Options, req callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
	if err := req.Validate(s.Rules); err != nil {
		return nil, nil, err
	}
	var target callapi.Target
	var err error
	if o.IdempotencyKey != "" && req.Node == "" {
		target, err = s.keyTarget(o.Tenant + "\x00" + o.IdempotencyKey)
	} else {
		target, err = s.createTarget(req.Node)
	}
	if err != nil {
		return nil, nil, err
	}
	cmd, err := s.newCommand(o, callapi.ActCallOriginate, req.OriginateArgs)
	if err != nil {
		return nil, nil, err
	}
	cmd.CallID = callapi.CallIDFor(cmd.ID)
	if o.IdempotencyKey != "" {
		ko, err := s.lookupKey(ctx, o, cmd, target)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case ko.reply != nil && o.Async:
			// The node that holds the record answers the copy from it and
			// publishes command.completed.
			target = callapi.NodeTarget(ko.reply.Node)
		case ko.reply != nil:
			var call callapi.Call
			if err := ko.reply.Decode(&call); err != nil {
				return nil, nil, err
			}
			if call.Hangup == nil {
				s.Locations.Put(callKey(o.Tenant, call.ID), call.Node)
			}
			return &call, nil, nil
		case ko.running != "":
			target = callapi.NodeTarget(ko.running)
		}
	}
	var call callapi.Call
	acc, err := s.send(ctx, target, cmd, o, &call)
	if err != nil && req.Wait == callapi.WaitAnswered {
		err = unanswered(ctx, err, cmd.CallID)
	}
	if err != nil || acc != nil {
		return nil, acc, err
	}
	if call.Hangup == nil {
		s.Locations.Put(callKey(o.Tenant, call.ID), call.Node)
	}
	return &call, nil, nil
}

// routed sends a command about one existing resource to the node that owns
// it, naming what it creates (named). A not_found answer evicts the cached
// location.
func (s *Service) routed(ctx context.Context, o Options, r resource, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	args, created := named(o, a, args)
	acc, err := s.routeNamed(ctx, o, r, a, args, out)
	if acc != nil {
		acc.Created = created
	}
	return acc, err
}

func (s *Service) routeNamed(ctx context.Context, o Options, r resource, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if err := callapi.ValidateArgs(a, s.Rules, args); err != nil {
		return nil, err
	}
	node, err := s.locate(ctx, o, r)
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
	r.set(cmd)
	acc, err := s.send(ctx, callapi.NodeTarget(node), cmd, o, out)
	if callapi.ErrorCode(err) == callapi.CodeNotFound {
		s.Locations.Forget(r.key)
	}
	return acc, err
}

// callCommand sends a command about one existing call to its node.
func (s *Service) callCommand(ctx context.Context, o Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if !callapi.ValidID(string(id)) {
		return nil, callapi.Invalid("id", "%q is not a valid call id", id)
	}
	return s.routed(ctx, o, callRes(o.Tenant, id), a, args, out)
}

// CallAction runs an action on an existing call (its Spec's ID is IDCall:
// answer, hold, dtmf, variables, …) on the node that owns the call; args
// (nil, or the action's argument type) pass the Spec's Validate first, and
// the result is decoded into out. What the action creates is named when
// args leave it out (named: the playback of call.play, the snoop call of
// call.snoop), and an asynchronous answer carries the name
// (Accepted.Created).
func (s *Service) CallAction(ctx context.Context, o Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if spec, ok := callapi.SpecOf(a); !ok || !spec.NeedsExisting(callapi.IDCall) {
		return nil, callapi.Invalid("action", "%s is not an action on an existing call", a)
	}
	return s.callCommand(ctx, o, id, a, args, out)
}

// Play starts media on a call; the playback id is chosen when absent
// (named).
func (s *Service) Play(ctx context.Context, o Options, id callapi.CallID, args callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error) {
	var pb callapi.Playback
	acc, err := s.callCommand(ctx, o, id, callapi.ActCallPlay, &args, &pb)
	if err != nil || acc != nil {
		return nil, acc, err
	}
	s.Locations.Put(playbackKey(o.Tenant, pb.ID), pb.Node)
	return &pb, nil, nil
}

// Record starts a recording of a call.
func (s *Service) Record(ctx context.Context, o Options, id callapi.CallID, args callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error) {
	var rec callapi.Recording
	acc, err := s.callCommand(ctx, o, id, callapi.ActCallRecord, &args, &rec)
	if err != nil || acc != nil {
		return nil, acc, err
	}
	s.Locations.Put(recordingKey(o.Tenant, rec.Name), rec.Node)
	return &rec, nil, nil
}

// Snoop creates a new call that spies on or whispers to an existing one;
// the snoop call's id is chosen when absent (named).
func (s *Service) Snoop(ctx context.Context, o Options, id callapi.CallID, args callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error) {
	var c callapi.Call
	acc, err := s.callCommand(ctx, o, id, callapi.ActCallSnoop, &args, &c)
	if err != nil || acc != nil {
		return nil, acc, err
	}
	s.Locations.Put(callKey(o.Tenant, c.ID), c.Node)
	return &c, nil, nil
}

// Call returns one call as JSON (a callapi.Call): an ended call's record,
// without asking the nodes, or else the owning node's call.get result as
// the node encoded it. That result is passed on as it came, neither
// decoded into a Call nor encoded again: nothing on the way changes it
// (the node already scoped it to o's tenant; GET /v1/calls/{id} shows a
// call to its tenant as it is), and the decode and re-encode were ~5 % of
// a gateway's CPU (docs/performance.md). The bus decoded the reply, so it
// is valid JSON; that it is an object is checked here.
func (s *Service) Call(ctx context.Context, o Options, id callapi.CallID) (json.RawMessage, error) {
	s.warmRecords(ctx, o.Tenant)
	if rec, ok := s.Records.Ended(o.Tenant, id, s.now()); ok {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, callapi.Wrap(callapi.CodeInternal, "gateway.Service.Call", err, "unencodable call record")
		}
		return b, nil
	}
	var raw json.RawMessage
	if _, err := s.callCommand(ctx, Options{Tenant: o.Tenant}, id, callapi.ActCallGet, nil, &raw); err != nil {
		return nil, err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, callapi.Errorf(callapi.CodeInternal, "node's call.get result is not a call")
	}
	return raw, nil
}

// Hangup ends a call. A call that already ended, whose record Call still
// answers, is left as it is and the hangup succeeds: DELETE is idempotent
// (RFC 9110 §9.2.2), and a second hangup must not answer not_found while
// GET shows the call. That holds too when the record arrives while the
// node answers not_found (the call ended meanwhile).
func (s *Service) Hangup(ctx context.Context, o Options, id callapi.CallID, reason string) (*callapi.Accepted, error) {
	args := &callapi.HangupArgs{Reason: reason}
	if err := callapi.ValidateArgs(callapi.ActCallHangup, s.Rules, args); err != nil {
		return nil, err
	}
	if _, ended := s.Records.Ended(o.Tenant, id, s.now()); ended {
		return nil, nil
	}
	acc, err := s.callCommand(ctx, o, id, callapi.ActCallHangup, args, nil)
	if callapi.ErrorCode(err) == callapi.CodeNotFound {
		s.warmRecords(ctx, o.Tenant)
		if _, ended := s.Records.Ended(o.Tenant, id, s.now()); ended {
			return nil, nil
		}
	}
	if err == nil && acc == nil {
		s.Locations.Forget(callKey(o.Tenant, id))
	}
	return acc, err
}

// warmRecords has the records of tenant loaded from its history
// (Records.Warm); a failed load is logged by the loader, and the records
// answer with what they hold.
func (s *Service) warmRecords(ctx context.Context, tenant string) {
	if s.Records != nil {
		_ = s.Records.Warm(ctx, tenant, s.now())
	}
}

// ListRequest filters a call listing.
type ListRequest struct {
	Node callapi.NodeID
	callapi.ListArgs
	// AllTenants lists every tenant's calls instead of Options.Tenant's:
	// the records of ended calls (State StateEnded), which every gateway
	// holds, or the live calls, which the nodes list for a call.list whose
	// tenant is callapi.AllTenants (honoured only from the gateway's own,
	// trusted, AMQP user). The caller checks that the principal may (an
	// admin).
	AllTenants bool
}

// Calls lists the calls of every live node (or of one), merged and sorted
// by creation time. Nodes that did not answer in time are left out and
// named in the second result.
func (s *Service) Calls(ctx context.Context, o Options, req ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
	calls := []*callapi.Call{}
	each := func(r *callapi.Reply) error {
		var l callapi.CallList
		if err := r.Decode(&l); err != nil {
			return err
		}
		for _, c := range l.Calls {
			t := o.Tenant
			if req.AllTenants && c.Tenant != "" {
				t = c.Tenant
			}
			s.Locations.Put(callKey(t, c.ID), c.Node)
		}
		calls = append(calls, l.Calls...)
		return nil
	}
	var missing []callapi.NodeID
	if err := callapi.ValidateArgs(callapi.ActCallList, s.Rules, &req.ListArgs); err != nil {
		return nil, nil, err
	}
	if req.State == callapi.StateEnded {
		tenant := o.Tenant
		if req.AllTenants {
			tenant = AllTenants
		} else {
			s.warmRecords(ctx, tenant)
		}
		return s.Records.List(tenant, req.Node, req.ListArgs, s.now()), nil, nil
	}
	if req.AllTenants {
		o.Tenant = callapi.AllTenants
	}
	if req.Node != "" {
		if err := s.checkNode(req.Node); err != nil {
			return nil, nil, err
		}
		cmd, err := s.newCommand(Options{Tenant: o.Tenant}, callapi.ActCallList, req.ListArgs)
		if err != nil {
			return nil, nil, err
		}
		cmd.Deadline = deadlineOf(ctx)
		rep, err := s.Bus.Request(ctx, callapi.NodeTarget(req.Node), cmd)
		if err != nil {
			return nil, nil, noReply(ctx, err, callapi.NodeTarget(req.Node), cmd)
		}
		if err := each(rep); err != nil {
			return nil, nil, err
		}
	} else {
		var err error
		if missing, err = s.gatherAll(ctx, o, callapi.ActCallList, req.ListArgs, each); err != nil {
			return nil, nil, err
		}
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].CreatedAt.Before(calls[j].CreatedAt) })
	return calls, missing, nil
}
