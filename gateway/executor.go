package gateway

import (
	"context"
	"encoding/json"
	"time"
)

// Executor runs commands on a worker against its PBX. It implements
// CommandHandler: decode the arguments, check the deadline, call the PBX,
// encode the result or the error as a Reply.
type Executor struct {
	Node NodeID
	PBX  PBX
	// Rules are the content rules every command's arguments must pass
	// before it runs (nil: the strict defaults). The executor is the trust
	// boundary: any AMQP client with publish rights reaches it.
	Rules *InputRules
	Now   func() time.Time // nil = time.Now
}

var _ CommandHandler = (*Executor)(nil)

type execFunc func(x *Executor, ctx context.Context, cmd *Command) (any, error)

var executors = map[Action]execFunc{
	ActCallOriginate: (*Executor).originate,
	ActCallGet: func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		return x.PBX.Call(ctx, cmd.Tenant, cmd.CallID)
	},
	ActCallLocate: func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		if _, err := x.PBX.Call(ctx, cmd.Tenant, cmd.CallID); err != nil {
			return nil, err
		}
		return LocateResult{Node: x.Node}, nil
	},
	ActCallList:   (*Executor).list,
	ActCallHangup: (*Executor).hangup,
	ActNodePing: func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		return x.PBX.Info(ctx)
	},
}

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
	f, ok := executors[cmd.Action]
	if !ok {
		return ErrReply(cmd.ID, x.Node, Invalid("action", "unknown action %q", cmd.Action))
	}
	if cmd.Tenant == "" {
		cmd.Tenant = DefaultTenant
	}
	if needsCall(cmd.Action) && cmd.CallID == "" {
		return ErrReply(cmd.ID, x.Node, Invalid("call_id", "required for %s", cmd.Action))
	}
	if err := x.Rules.CheckCommand(cmd); err != nil {
		return ErrReply(cmd.ID, x.Node, err)
	}
	res, err := f(x, ctx, cmd)
	if err != nil {
		return ErrReply(cmd.ID, x.Node, err)
	}
	return OKReply(cmd.ID, x.Node, res)
}

func needsCall(a Action) bool {
	if a == ActCallList || a == ActCallTransfer {
		return false
	}
	return a.Resource() == "call"
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

func (x *Executor) originate(ctx context.Context, cmd *Command) (any, error) {
	var a OriginateArgs
	if err := decodeArgs(cmd, &a); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return x.PBX.Originate(ctx, cmd.Tenant, cmd.CallID, a)
}

func (x *Executor) list(ctx context.Context, cmd *Command) (any, error) {
	var a ListArgs
	if err := decodeArgs(cmd, &a); err != nil {
		return nil, err
	}
	calls, err := x.PBX.Calls(ctx, cmd.Tenant)
	if err != nil {
		return nil, err
	}
	out := CallList{Calls: make([]*Call, 0, len(calls))}
	for _, c := range calls {
		if a.Matches(c) {
			out.Calls = append(out.Calls, c)
		}
	}
	return out, nil
}

func (x *Executor) hangup(ctx context.Context, cmd *Command) (any, error) {
	var a HangupArgs
	if err := decodeArgs(cmd, &a); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return nil, x.PBX.Hangup(ctx, cmd.Tenant, cmd.CallID, a.Reason)
}
