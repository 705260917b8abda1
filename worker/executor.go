package worker

import (
	"context"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Executor runs commands on a worker against its PBX. It implements
// CommandHandler and is the trust boundary: any AMQP client with publish
// rights reaches it, so every command is checked here, through its action's
// Spec, before the PBX sees it (the PBX adapters trust what they are
// given): the deadline, then CheckReceived (the id it must carry, its
// arguments strictly decoded, then Spec.Validate), then the port it needs.
// Then the Spec runs it and the result or the error becomes the Reply.
// Keyed, in front of it, checks a keyed originate through Check and runs
// it through Run, so that it is decoded and validated once.
type Executor struct {
	Node callapi.NodeID
	PBX  callapi.PBX
	// Journal answers idempotency.lookup (nil: not_implemented).
	Journal callapi.Journal
	// Rules are the content rules every command's arguments must pass
	// before it runs (nil: the strict defaults).
	Rules *callapi.InputRules
	Now   func() time.Time // nil = time.Now
}

var _ callapi.CommandHandler = (*Executor)(nil)

// Handle checks cmd and runs it; it never returns nil.
func (x *Executor) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	if x.Expired(cmd) {
		return x.expired(cmd)
	}
	spec, args, err := x.Check(cmd)
	if err != nil {
		return callapi.ErrReply(cmd.ID, x.Node, err)
	}
	return x.Run(ctx, spec, cmd, args)
}

// Expired reports whether cmd's deadline passed: it is answered timeout
// without running.
func (x *Executor) Expired(cmd *callapi.Command) bool {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	return !cmd.Deadline.IsZero() && !now().Before(cmd.Deadline)
}

func (x *Executor) expired(cmd *callapi.Command) *callapi.Reply {
	return callapi.ErrReply(cmd.ID, x.Node, callapi.Errorf(callapi.CodeTimeout, "command %s expired before it ran", cmd.ID))
}

// Check is the executor's check of cmd (callapi.CheckReceived with its
// rules): the action's Spec and the decoded, validated arguments.
func (x *Executor) Check(cmd *callapi.Command) (*callapi.Spec, callapi.Validator, error) {
	return callapi.CheckReceived(x.Rules, cmd)
}

// Run runs cmd, which Check passed with spec and args, bounded by its
// deadline, and never returns nil.
func (x *Executor) Run(ctx context.Context, spec *callapi.Spec, cmd *callapi.Command, args callapi.Validator) *callapi.Reply {
	if !cmd.Deadline.IsZero() {
		if x.Expired(cmd) {
			return x.expired(cmd)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, cmd.Deadline)
		defer cancel()
	}
	ports := callapi.PortsOf(x.Node, x.PBX)
	ports.Journal = x.Journal
	if !ports.Has(spec.Port) {
		return callapi.ErrReply(cmd.ID, x.Node, callapi.Errorf(callapi.CodeNotImplemented, "node %s does not implement %s (%s)", x.Node, spec.Port, cmd.Action))
	}
	res, err := spec.Run(ctx, ports, cmd, args)
	if err != nil {
		return callapi.ErrReply(cmd.ID, x.Node, err)
	}
	return callapi.OKReply(cmd.ID, x.Node, res)
}
