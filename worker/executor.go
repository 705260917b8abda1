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
// decoded, then Spec.Validate), then the PBX port it needs. Then the Spec
// runs it and the result or the error becomes the Reply.
//
// The command's deadline is not checked here: the consumer that takes the
// command off the bus (amqpbus, worker.execute) refuses an expired one
// before any work and hands down a context bounded by the deadline, which
// bounds every PBX call made for it.
type Executor struct {
	Node callapi.NodeID
	PBX  callapi.PBX
	// Rules are the content rules every command's arguments must pass
	// before it runs (nil: the strict defaults).
	Rules *callapi.InputRules
}

var _ callapi.CommandHandler = (*Executor)(nil)

// Handle runs cmd and never returns nil.
func (x *Executor) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	res, err := x.run(ctx, cmd)
	if err != nil {
		return callapi.ErrReply(cmd.ID, x.Node, err)
	}
	return callapi.OKReply(cmd.ID, x.Node, res)
}

func (x *Executor) run(ctx context.Context, cmd *callapi.Command) (any, error) {
	spec, args, err := callapi.CheckReceived(x.Rules, cmd)
	if err != nil {
		return nil, err
	}
	ports := callapi.PortsOf(x.Node, x.PBX)
	if !ports.Has(spec.Port) {
		return nil, callapi.Errorf(callapi.CodeNotImplemented, "node %s does not implement %s (%s)", x.Node, spec.Port, cmd.Action)
	}
	return spec.Run(ctx, ports, cmd, args)
}
