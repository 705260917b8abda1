package worker

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

// Executor runs commands on a worker against its PBX. It implements
// CommandHandler and is the trust boundary: any AMQP client with publish
// rights reaches it, so every command is checked here, through its action's
// Spec, before the PBX sees it (the PBX adapters trust what they are
// given): CheckReceived (the id it must carry, its arguments strictly
// decoded, then Spec.Validate), then the port it needs. Then the Spec runs
// it and the result or the error becomes the Reply. Keyed, in front of it,
// checks a keyed originate through Check and runs it through Run, so that
// it is decoded and validated once.
//
// The command's deadline is not checked here: the consumer that takes the
// command off the bus (amqpbus, worker.execute) refuses an expired one
// before any work and hands down a context bounded by the deadline, which
// bounds every PBX call made for it.
type Executor struct {
	Node callapi.NodeID
	PBX  callapi.PBX
	// Journal answers idempotency.lookup (nil: not_implemented).
	Journal callapi.Journal
	// Rules are the content rules every command's arguments must pass
	// before it runs (nil: the strict defaults).
	Rules *callapi.InputRules
}

var _ callapi.CommandHandler = (*Executor)(nil)

// Handle checks cmd and runs it; it never returns nil.
func (x *Executor) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	spec, args, err := x.Check(cmd)
	if err != nil {
		return callapi.ErrReply(cmd.ID, x.Node, err)
	}
	return x.Run(ctx, spec, cmd, args)
}

// Check is the executor's check of cmd (callapi.CheckReceived with its
// rules): the action's Spec and the decoded, validated arguments.
func (x *Executor) Check(cmd *callapi.Command) (*callapi.Spec, callapi.Validator, error) {
	return callapi.CheckReceived(x.Rules, cmd)
}

// Run runs cmd, which Check passed with spec and args, and never returns
// nil.
func (x *Executor) Run(ctx context.Context, spec *callapi.Spec, cmd *callapi.Command, args callapi.Validator) *callapi.Reply {
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
