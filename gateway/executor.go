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
// given): the deadline, then CheckReceived (the id it must carry, its
// arguments strictly decoded, then Spec.Validate), then the PBX port it
// needs. Then the Spec runs it and the result or the error becomes the
// Reply.
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
	spec, args, err := CheckReceived(x.Rules, cmd)
	if err != nil {
		return nil, err
	}
	ports := PortsOf(x.Node, x.PBX)
	if !ports.Has(spec.Port) {
		return nil, Errorf(ENotImplemented, "node %s does not implement %s (%s)", x.Node, spec.Port, cmd.Action)
	}
	return spec.run(ctx, ports, cmd, args)
}

// CheckReceived is the worker's check of a command, whoever published it:
// a known action, the id its Spec needs, the arguments strictly decoded,
// then Spec.Validate with the rules r (nil: the strict defaults). It gives
// a command without tenant the default one and returns the action's Spec
// and the decoded arguments. The Executor runs it on every command; a
// handler in front of the Executor that acts on a command before it runs
// (the worker's idempotency journal) runs it too, so that what it keeps
// has passed the same check. Whether the PBX has the port is the
// Executor's to say: a request the node cannot serve is still checked
// first, as the Service checks it before publishing.
func CheckReceived(r *InputRules, cmd *Command) (*Spec, Validator, error) {
	spec, ok := SpecOf(cmd.Action)
	if !ok {
		return nil, nil, Invalid("action", "unknown action %q", cmd.Action)
	}
	if cmd.Tenant == "" {
		cmd.Tenant = DefaultTenant
	}
	if err := spec.checkID(cmd); err != nil {
		return nil, nil, err
	}
	args, err := spec.decode(r, cmd)
	if err != nil {
		return nil, nil, err
	}
	return spec, args, nil
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
