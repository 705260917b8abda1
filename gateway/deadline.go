package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callgw/callgw/callapi"
)

// DefaultRingTime is how long Asterisk rings an originate that names no
// timeout (ARI's default for POST /channels).
const DefaultRingTime = 30 * time.Second

// RingTime is how long a call originated with a may ring before the PBX
// gives up on it: a.Timeout seconds, DefaultRingTime when it names none.
// A request that waits for the answer needs a deadline beyond it.
func RingTime(a callapi.OriginateArgs) time.Duration {
	if a.Timeout > 0 {
		return time.Duration(a.Timeout) * time.Second
	}
	return DefaultRingTime
}

// noReply restates a timeout of the bus itself (no reply came before
// ctx's deadline) in the caller's terms: who did not answer, never the
// queue it was published to. Other errors, and timeouts a worker
// answered with, pass unchanged.
func noReply(ctx context.Context, err error, target callapi.Target, cmd *callapi.Command) error {
	if !expired(ctx, err) {
		return err
	}
	var msg string
	switch target {
	case callapi.TargetAny:
		msg = "no node answered the " + string(cmd.Action) + " command before the deadline"
	case callapi.TargetAll:
		msg = "not every node answered the " + string(cmd.Action) + " command before the deadline"
	default:
		msg = fmt.Sprintf("node %s did not answer the %s command before the deadline", target, cmd.Action)
	}
	return callapi.Wrap(callapi.CodeTimeout, "gateway."+string(cmd.Action), err, msg)
}

// unanswered is noReply for an originate that waited for the answer: the
// worker hangs such a call up when the deadline passes, whichever reply
// came first.
func unanswered(ctx context.Context, err error, id callapi.CallID) error {
	if callapi.ErrorCode(err) != callapi.CodeTimeout || ctx.Err() == nil {
		return err
	}
	return callapi.Wrap(callapi.CodeTimeout, "gateway.Originate", err,
		fmt.Sprintf("call %s was not answered before the deadline and was hung up", id))
}

// expired reports whether err is the bus giving up because ctx's
// deadline passed.
func expired(ctx context.Context, err error) bool {
	return callapi.ErrorCode(err) == callapi.CodeTimeout && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded)
}
