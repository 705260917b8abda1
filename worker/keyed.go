package worker

import (
	"context"

	"go.uber.org/zap"

	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/worker/journal"
)

// callReader is what Keyed needs of the PBX: a call as it is now
// (callapi.CodeNotFound once it ended).
type callReader interface {
	Call(ctx context.Context, tenant string, id callapi.CallID) (*callapi.Call, error)
}

// checkedRunner is what Keyed needs of the executor behind it (*Executor):
// every command but a keyed originate goes to Handle; a keyed originate is
// checked once through Check, journaled, then run through Run.
type checkedRunner interface {
	callapi.CommandHandler
	Check(cmd *callapi.Command) (*callapi.Spec, callapi.Validator, error)
	Run(ctx context.Context, spec *callapi.Spec, cmd *callapi.Command, args callapi.Validator) *callapi.Reply
}

// Keyed wraps a worker's executor with its journal (package journal): an
// originate with an Idempotency-Key is journaled before it runs and
// answered from the journal when it comes again (after a restart of this
// worker, or sent here by a gateway that found the record through
// callapi.ActKeyLookup). It is checked first, once, by the executor's
// Check: the journal keeps and answers only what passed it. Keyed is also
// the executor's Journal port, which answers callapi.ActKeyLookup.
type Keyed struct {
	node callapi.NodeID
	pbx  callReader
	next checkedRunner
	log  *zap.Logger
	j    *journal.Journal // set by Worker.Run before the bus runs
}

var (
	_ callapi.CommandHandler = (*Keyed)(nil)
	_ callapi.Journal        = (*Keyed)(nil)
)

// NewKeyed returns the journal handler of node; SetNext puts it in front
// of its executor, and Worker.Run opens its journal.
func NewKeyed(node callapi.NodeID, log *zap.Logger) *Keyed {
	return &Keyed{node: node, log: log}
}

// SetNext puts k in front of x, whose PBX it asks about journaled calls
// (x takes k as its Journal port).
func (k *Keyed) SetNext(x *Executor) { k.next, k.pbx = x, x.PBX }

// Handle runs cmd: a keyed originate through the journal, anything else
// on the executor as it is.
func (k *Keyed) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	if cmd.Action != callapi.ActCallOriginate || cmd.IdempotencyKey == "" {
		return k.next.Handle(ctx, cmd)
	}
	spec, args, err := k.next.Check(cmd)
	if err != nil {
		return callapi.ErrReply(cmd.ID, k.node, err) // refused: nothing to journal
	}
	rec, err := k.j.Begin(cmd)
	if err != nil {
		k.log.Error("idempotency journal unavailable", zap.String("command_id", cmd.ID), zap.Error(err))
		return callapi.ErrReply(cmd.ID, k.node, callapi.Wrap(callapi.CodeInternal, "worker.Keyed", err, "the idempotency journal is unavailable"))
	}
	if rec != nil {
		k.log.Info("keyed originate answered from the journal", zap.String("command_id", cmd.ID), zap.String("call_id", string(cmd.CallID)), zap.String("state", string(rec.State)))
		return k.answer(ctx, cmd.ID, rec)
	}
	rep := k.next.Run(ctx, spec, cmd, args)
	if err := k.j.Finish(cmd, rep); err != nil {
		k.log.Error("idempotency journal: outcome not recorded", zap.String("command_id", cmd.ID), zap.Error(err))
	}
	return rep
}

// answer is the reply to a copy of a journaled originate: the call as it is
// now when it is up; the recorded outcome when the call failed or ended;
// conflict when the originate was interrupted (the worker died) and its
// call is not up. An answer to an interrupted record is recorded, so every
// later copy gets the same.
func (k *Keyed) answer(ctx context.Context, id string, rec *journal.Record) *callapi.Reply {
	if k.j.RunningHere(rec) {
		return callapi.ErrReply(id, k.node, callapi.Errorf(callapi.CodeOutcomeUnknown,
			"the originate with this Idempotency-Key is still running on node %s: retry with the same key", k.node))
	}
	if rec.State == journal.Done && rec.Reply != nil && !rec.Reply.OK {
		return withID(rec.Reply, id, k.node)
	}
	c, err := k.pbx.Call(ctx, rec.Tenant, rec.CallID)
	var rep *callapi.Reply
	switch {
	case err == nil:
		rep = callapi.OKReply(id, k.node, c)
	case callapi.ErrorCode(err) != callapi.CodeNotFound:
		return callapi.ErrReply(id, k.node, err) // cannot tell now (ARI away): retryable
	case rec.State == journal.Done && rec.Reply != nil:
		rep = endedReply(id, k.node, rec)
	case rec.Hangup != nil:
		rep = callapi.OKReply(id, k.node, &callapi.Call{ID: rec.CallID, Node: k.node, Tenant: rec.Tenant,
			State: callapi.StateEnded, Direction: callapi.Outbound, CreatedAt: rec.Started, Hangup: rec.Hangup})
	default:
		rep = callapi.ErrReply(id, k.node, callapi.Errorf(callapi.CodeConflict,
			"the originate with this Idempotency-Key was interrupted by a restart of node %s and its call %s is not up (never placed, or ended): use a new key to place a call", k.node, rec.CallID))
	}
	if rec.State == journal.Running {
		if err := k.j.Settle(rec, rep); err != nil {
			k.log.Warn("idempotency journal: answer to an interrupted originate not recorded", zap.String("command_id", rec.CommandID), zap.Error(err))
		}
	}
	return rep
}

// endedReply is the recorded call of a done originate whose call ended.
func endedReply(id string, node callapi.NodeID, rec *journal.Record) *callapi.Reply {
	var call callapi.Call
	if err := rec.Reply.Decode(&call); err != nil {
		return callapi.ErrReply(id, node, err)
	}
	call.State = callapi.StateEnded
	if call.Hangup == nil {
		call.Hangup = rec.Hangup
	}
	if call.Hangup == nil {
		call.Hangup = &callapi.Hangup{CauseText: "Unknown"}
	}
	return callapi.OKReply(id, node, &call)
}

func withID(r *callapi.Reply, id string, node callapi.NodeID) *callapi.Reply {
	c := *r
	c.ID = id
	if c.Node == "" {
		c.Node = node
	}
	return &c
}

// Lookup answers callapi.ActKeyLookup from the journal (callapi.Journal).
func (k *Keyed) Lookup(ctx context.Context, tenant, commandID string) (callapi.KeyLookup, error) {
	var res callapi.KeyLookup
	rec, err := k.j.Get(tenant, commandID)
	if err != nil {
		return res, callapi.Wrap(callapi.CodeInternal, "worker.Keyed", err, "the idempotency journal is unavailable")
	}
	switch {
	case rec == nil:
	case k.j.RunningHere(rec):
		res.Found, res.Running = true, true
	default:
		res.Found, res.Reply = true, k.answer(ctx, commandID, rec)
	}
	return res, nil
}

// lostCloser is what closeLost needs of the PBX (*asterisk.PBX).
type lostCloser interface {
	CloseLost(ctx context.Context, lost []asterisk.Lost) int
}

// closeLost hands the PBX, once its calls were re-read after a start, the
// journaled calls whose end was never recorded, one at a time: the PBX
// publishes the call.hangup of those not up (asterisk.PBX.CloseLost),
// which the JournalSink records. The walk takes time (a question to ARI
// per call), and meanwhile calls end through the API or the far end: a
// call whose end was recorded since the walk read the journal is skipped,
// so that no call gets a second call.hangup.
func (k *Keyed) closeLost(ctx context.Context, pbx lostCloser) {
	recs, err := k.j.Unended()
	if err != nil {
		k.log.Warn("idempotency journal: unended calls not read", zap.Error(err))
		return
	}
	n := 0
	for _, r := range recs {
		if ctx.Err() != nil {
			return
		}
		if ended, err := k.j.EndRecorded(r.CallID); ended || err != nil {
			continue // ended since the walk began (or cannot tell: the next start will)
		}
		var call callapi.Call
		if r.Reply != nil {
			_ = r.Reply.Decode(&call)
		}
		n += pbx.CloseLost(ctx, []asterisk.Lost{{Tenant: r.Tenant, ID: r.CallID, Tags: call.Tags}})
	}
	if n > 0 {
		k.log.Info("published the hang-up of calls that ended while the worker was down", zap.Int("calls", n))
	}
}
