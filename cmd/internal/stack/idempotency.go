package stack

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/worker/journal"
	"github.com/callgw/callgw/callapi"
)

// callReader is what keyed needs of the PBX: a call as it is now
// (gateway.ENotFound once it ended).
type callReader interface {
	Call(ctx context.Context, tenant string, id callapi.CallID) (*callapi.Call, error)
}

// eventBus is what journalSink needs of the bus (*amqpbus.Bus).
type eventBus interface {
	PublishEvent(ctx context.Context, e *callapi.Event) error
	PublishEventAsync(ctx context.Context, e *callapi.Event) (amqpbus.Confirm, error)
}

// keyed wraps a worker's executor with its journal (package journal): an
// originate with an Idempotency-Key is journaled before it runs and answered
// from the journal when it comes again (after a restart of this worker, or
// sent here by a gateway that found the record through
// gateway.ActKeyLookup), and lookups are answered. Both are checked first
// as the executor checks every command (gateway.CheckReceived, with the
// executor's rules): the journal keeps and answers only what passed it.
type keyed struct {
	node  callapi.NodeID
	pbx   callReader
	next  callapi.CommandHandler
	rules *callapi.InputRules // the executor's (nil: the strict defaults)
	log   *zap.Logger
	j     *journal.Journal // set by Worker.Run before the bus runs
	now   func() time.Time
}

func (k *keyed) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	switch {
	case cmd.Action == callapi.ActKeyLookup:
		return k.lookup(ctx, cmd)
	case cmd.Action != callapi.ActCallOriginate || cmd.IdempotencyKey == "":
		return k.next.Handle(ctx, cmd)
	case !cmd.Deadline.IsZero() && !k.now().Before(cmd.Deadline):
		return k.next.Handle(ctx, cmd) // expired: answered without running, nothing to journal
	}
	if _, _, err := callapi.CheckReceived(k.rules, cmd); err != nil {
		return callapi.ErrReply(cmd.ID, k.node, err) // refused: nothing to journal
	}
	rec, err := k.j.Begin(cmd)
	if err != nil {
		k.log.Error("idempotency journal unavailable", zap.String("command_id", cmd.ID), zap.Error(err))
		return callapi.ErrReply(cmd.ID, k.node, callapi.Wrap(callapi.CodeInternal, "stack.keyed", err, "the idempotency journal is unavailable"))
	}
	if rec != nil {
		k.log.Info("keyed originate answered from the journal", zap.String("command_id", cmd.ID), zap.String("call_id", string(cmd.CallID)), zap.String("state", string(rec.State)))
		return k.answer(ctx, cmd.ID, rec)
	}
	rep := k.next.Handle(ctx, cmd)
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
func (k *keyed) answer(ctx context.Context, id string, rec *journal.Record) *callapi.Reply {
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
		var call callapi.Call
		if err := rec.Reply.Decode(&call); err != nil {
			return callapi.ErrReply(id, k.node, err)
		}
		call.State = callapi.StateEnded
		if call.Hangup == nil {
			call.Hangup = rec.Hangup
		}
		if call.Hangup == nil {
			call.Hangup = &callapi.Hangup{CauseText: "Unknown"}
		}
		rep = callapi.OKReply(id, k.node, &call)
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

func withID(r *callapi.Reply, id string, node callapi.NodeID) *callapi.Reply {
	c := *r
	c.ID = id
	if c.Node == "" {
		c.Node = node
	}
	return &c
}

// lookup answers gateway.ActKeyLookup from the journal.
func (k *keyed) lookup(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	_, args, err := callapi.CheckReceived(k.rules, cmd)
	if err != nil {
		return callapi.ErrReply(cmd.ID, k.node, err)
	}
	a := args.(*callapi.KeyLookupArgs)
	rec, err := k.j.Get(cmd.Tenant, a.CommandID)
	if err != nil {
		return callapi.ErrReply(cmd.ID, k.node, callapi.Wrap(callapi.CodeInternal, "stack.keyed", err, "the idempotency journal is unavailable"))
	}
	var res callapi.KeyLookup
	switch {
	case rec == nil:
	case k.j.RunningHere(rec):
		res.Found, res.Running = true, true
	default:
		res.Found, res.Reply = true, k.answer(ctx, a.CommandID, rec)
	}
	return callapi.OKReply(cmd.ID, k.node, res)
}

// closeLost publishes, once the PBX's calls were re-read after a start, the
// call.hangup of every journaled call that is not up any more and whose
// end was never recorded: it ended while no worker listened (the worker was
// dead), and no re-read can tell, since a new process tracks no call. The
// event carries reason lost and cause 0 (unknown), like a call found gone
// on re-read. A call that was never placed (an originate interrupted
// before Asterisk took it) gets one too; subscribers that never saw it
// ignore it.
func (k *keyed) closeLost(ctx context.Context, sink callapi.EventSink) {
	recs, err := k.j.Unended()
	if err != nil {
		k.log.Warn("idempotency journal: unended calls not read", zap.Error(err))
		return
	}
	n := 0
	for _, r := range recs {
		if _, err := k.pbx.Call(ctx, r.Tenant, r.CallID); callapi.ErrorCode(err) != callapi.CodeNotFound {
			continue // up (adopted), or cannot tell now
		}
		var call callapi.Call
		if r.Reply != nil {
			_ = r.Reply.Decode(&call)
		}
		now := k.now().UTC()
		h := callapi.Hangup{CauseText: "Unknown"}
		data, _ := json.Marshal(callapi.HangupData{Hangup: h, Reason: "lost"})
		e := &callapi.Event{ID: uuid.NewString(), Type: callapi.EvCallHangup, Time: now, Node: k.node, Tenant: r.Tenant,
			CallID: r.CallID, Seq: uint64(now.UnixMicro()), Tags: call.Tags, Data: data}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := sink.PublishEvent(pctx, e) // journalSink: records the end
		cancel()
		if err != nil {
			k.log.Warn("call.hangup of a call lost while the worker was down not published", zap.String("call_id", string(r.CallID)), zap.Error(err))
			continue
		}
		n++
	}
	if n > 0 {
		k.log.Info("published the hang-up of calls that ended while the worker was down", zap.Int("calls", n))
	}
}

// journalSink passes a worker's events to the bus and notes in the journal
// how journaled calls end — once the broker took the call.hangup: one lost
// at a stop (the bus closed first) is published again after the restart
// (closeLost).
type journalSink struct {
	bus eventBus
	k   *keyed
}

func (s *journalSink) note(e *callapi.Event) {
	if e.Type != callapi.EvCallHangup || s.k.j == nil {
		return
	}
	var hd callapi.HangupData
	if err := json.Unmarshal(e.Data, &hd); err != nil {
		return
	}
	if err := s.k.j.Ended(e.CallID, hd.Hangup); err != nil {
		s.k.log.Warn("idempotency journal: hang-up not recorded", zap.String("call_id", string(e.CallID)), zap.Error(err))
	}
}

func (s *journalSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	err := s.bus.PublishEvent(ctx, e)
	if err == nil {
		s.note(e)
	}
	return err
}

func (s *journalSink) PublishEventAsync(ctx context.Context, e *callapi.Event) (amqpbus.Confirm, error) {
	c, err := s.bus.PublishEventAsync(ctx, e)
	if err != nil || e.Type != callapi.EvCallHangup {
		return c, err
	}
	if c == nil {
		s.note(e)
		return nil, nil
	}
	return &notedConfirm{c: c, s: s, e: e}, nil
}

// notedConfirm records a call.hangup in the journal once it is confirmed.
type notedConfirm struct {
	c amqpbus.Confirm
	s *journalSink
	e *callapi.Event
}

func (n *notedConfirm) Wait(ctx context.Context) error {
	err := n.c.Wait(ctx)
	if err == nil {
		n.s.note(n.e)
	}
	return err
}
