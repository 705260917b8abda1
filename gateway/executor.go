package gateway

import (
	"context"
	"encoding/json"
	"time"
)

// Executor runs commands on a worker against its PBX. It implements
// CommandHandler and is the trust boundary: any AMQP client with publish
// rights reaches it, so every command is checked here, through its action's
// Spec, before the PBX sees it (the PBX adapters trust what they are
// given): the deadline, the id it must carry, the PBX port it needs, its
// arguments (strictly decoded, then Spec.Validate). Then the Spec runs it
// and the result or the error becomes the Reply.
type Executor struct {
	Node NodeID
	PBX  PBX
	// Rules are the content rules every command's arguments must pass
	// before it runs (nil: the strict defaults).
	Rules *InputRules
	Now   func() time.Time // nil = time.Now
}

var _ CommandHandler = (*Executor)(nil)

// Handle runs cmd and never returns nil.
func (x *Executor) Handle(ctx context.Context, cmd *Command) *Reply {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	if !cmd.Deadline.IsZero() {
		if !now().Before(cmd.Deadline) {
			return ErrReply(cmd.ID, x.Node, Errorf(ETimeout, "command %s expired before it ran", cmd.ID))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, cmd.Deadline)
		defer cancel()
	}
	res, err := x.run(ctx, cmd)
	if err != nil {
		return ErrReply(cmd.ID, x.Node, err)
	}
	return OKReply(cmd.ID, x.Node, res)
}

func (x *Executor) run(ctx context.Context, cmd *Command) (any, error) {
	spec, ok := SpecOf(cmd.Action)
	if !ok {
		return nil, Invalid("action", "unknown action %q", cmd.Action)
	}
	if cmd.Tenant == "" {
		cmd.Tenant = DefaultTenant
	}
	if err := spec.checkID(cmd); err != nil {
		return nil, err
	}
	ports := PortsOf(x.Node, x.PBX)
	if !ports.Has(spec.Port) {
		return nil, Errorf(ENotImplemented, "node %s does not implement %s (%s)", x.Node, spec.Port, cmd.Action)
	}
	args, err := spec.decode(x.Rules, cmd)
	if err != nil {
		return nil, err
	}
	return spec.run(ctx, ports, cmd, args)
}

// decodeArgs decodes cmd.Args strictly into v.
func decodeArgs(cmd *Command, v any) error {
	if len(cmd.Args) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(cmd.Args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Wrap(EInvalid, "gateway.decodeArgs", err, "args: "+err.Error())
	}
	return nil
}
