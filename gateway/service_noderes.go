package gateway

import (
	"context"
	"slices"
	"strings"

	"github.com/callgw/callgw/callapi"
)

// The node resource side of Service: endpoints, device states, mailboxes
// and global variables (callapi.PortNodeRes). Each lives in one Asterisk:
// a device state set on pbx1 is not pbx2's. So a listing asks every live
// node and returns each item with its node; a read asks the named node, or
// every live node and answers with the first (in node order) that has the
// item; a change goes to the named node, or to every live node (a BLF key
// or a message-waiting count is then the same wherever the phone is
// registered). The caller's NameScope (Options.Scope) rides in the
// arguments; the worker applies it.

// nodeResourceAction reports whether a is a node resource action.
func nodeResourceAction(a callapi.Action) error {
	if spec, ok := callapi.SpecOf(a); !ok || spec.Port != callapi.PortNodeRes {
		return callapi.Invalid("action", "%s is not an action on node resources", a)
	}
	return nil
}

// NodeResourceList runs a listing (ActEndpointList, ActDeviceStateList,
// ActMailboxList) on node, or on every live node when node is empty,
// handing each node's OK reply to each. It returns the nodes that did not
// answer.
func (s *Service) NodeResourceList(ctx context.Context, o Options, node callapi.NodeID, a callapi.Action, each func(*callapi.Reply) error) ([]callapi.NodeID, error) {
	if err := nodeResourceAction(a); err != nil {
		return nil, err
	}
	args := &callapi.NodeListArgs{Scope: o.Scope}
	if node == "" {
		return s.gatherAll(ctx, o, a, args, each)
	}
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, a, args)
	if err != nil {
		return nil, err
	}
	cmd.Deadline = deadlineOf(ctx)
	rep, err := s.Bus.Request(ctx, callapi.NodeTarget(node), cmd)
	if err != nil {
		return nil, noReply(ctx, err, callapi.NodeTarget(node), cmd)
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return nil, each(rep)
}

// NodeResource runs a read or a change of one named node resource (args:
// the action's argument type, its Scope set here from o). With node empty a
// read answers from the first live node, in node order, that has it, and a
// change goes to every live node and succeeds when each took it. out, when
// not nil, receives the result.
func (s *Service) NodeResource(ctx context.Context, o Options, node callapi.NodeID, a callapi.Action, args callapi.Scoped, out any) error {
	if err := nodeResourceAction(a); err != nil {
		return err
	}
	args.SetScope(o.Scope)
	if err := callapi.ValidateArgs(a, s.Rules, args); err != nil {
		return err
	}
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, a, args)
	if err != nil {
		return err
	}
	cmd.Deadline = deadlineOf(ctx)
	if node != "" {
		if err := s.checkNode(node); err != nil {
			return err
		}
		rep, err := s.Bus.Request(ctx, callapi.NodeTarget(node), cmd)
		if err != nil {
			return noReply(ctx, err, callapi.NodeTarget(node), cmd)
		}
		return rep.Decode(out)
	}
	live := s.Nodes.Live(s.now())
	if len(live) == 0 {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up")
	}
	reps, err := s.Bus.Gather(ctx, cmd, live)
	if err != nil {
		return err
	}
	if err := notImplementedByAll(cmd, reps, live); err != nil {
		return err
	}
	slices.SortFunc(reps, func(x, y *callapi.Reply) int { return strings.Compare(string(x.Node), string(y.Node)) })
	spec, _ := callapi.SpecOf(a)
	if spec.Result != nil { // a read: the first node that has it
		var first error
		for _, r := range reps {
			if r.OK {
				return r.Decode(out)
			}
			if first == nil || callapi.ErrorCode(first) == callapi.CodeNotFound {
				first = r.Err()
			}
		}
		if first == nil {
			return callapi.Errorf(callapi.CodeNodeUnavailable, "no node answered")
		}
		return first
	}
	// A change: every live node must have taken it.
	took := map[callapi.NodeID]bool{}
	var failed error
	for _, r := range reps {
		if r.OK {
			took[r.Node] = true
			continue
		}
		if failed == nil || callapi.ErrorCode(failed) == callapi.CodeNotFound && callapi.ErrorCode(r.Err()) != callapi.CodeNotFound {
			failed = r.Err()
		}
	}
	if failed != nil {
		return failed
	}
	var silent []string
	for _, n := range live {
		if !took[n] {
			silent = append(silent, string(n))
		}
	}
	if len(silent) > 0 {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "%s did not answer; the change may be missing there (repeat it, or name a node with ?node=)", strings.Join(silent, ", "))
	}
	return nil
}
