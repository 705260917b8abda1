package amqpbus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// The life of one command in a worker: the checks, acks and replies of
// docs/protocol.md §5, in order (run → execute → answer → ack/reject).

// task is one command to run, with the delivery that brought it.
type task struct {
	d       amqp.Delivery
	cmd     *callapi.Command
	fromAny bool
	// batch is the batch the command came in (protocol version 2); nil
	// for a command in a message of its own.
	batch *batchDelivery
	// replied: the reply went to the batch's reply flusher, which
	// settles the item once the reply is published.
	replied bool
}

func (w *worker) settle(d amqp.Delivery, log cmdLog, what string, err error) {
	if err == nil {
		return
	}
	// After a connection loss the delivery is gone with its channel: the
	// broker redelivers it (shared queue) or dropped it (node queue).
	log.Warn(what+" failed", zap.Uint64("delivery_tag", d.DeliveryTag), zap.Error(err))
}

// run executes one task; see doc.go for the order of checks and acks.
func (w *worker) run(t *task) {
	cmd, d := t.cmd, t.d
	log := cmdLog{w.log, cmd}
	creates := cmd.Action.Creates()
	log.Debug("command received", zap.Bool("redelivered", d.Redelivered), zap.Bool("shared", t.fromAny))
	for {
		e, dup := w.memo.begin(cmd)
		if !dup {
			w.execute(t, e, creates, log)
			return
		}
		if e.action != cmd.Action {
			w.b.stats.duplicates.Add(1)
			log.Warn("command id reused for another action", zap.String("first_action", string(e.action)))
			w.answer(t, callapi.ErrReply(cmd.ID, w.node,
				callapi.Errorf(callapi.CodeConflict, "command id %s was already used for %s", cmd.ID, e.action)), log)
			w.ack(t, log)
			return
		}
		wait, cancel := w.deadlineCtx(cmd)
		select {
		case <-e.done:
		case <-wait.Done():
		}
		cancel()
		select {
		case <-e.done:
		default:
			// Still running when this copy's deadline passed.
			w.b.stats.expired.Add(1)
			log.Warn("duplicate expired while the original was running: dropped")
			w.reject(t, log)
			return
		}
		if e.reply == nil {
			continue // the original was aborted: run this copy
		}
		w.b.stats.duplicates.Add(1)
		log.Info("duplicate command answered from memory", zap.Bool("redelivered", d.Redelivered))
		w.answerDuplicate(t, e.reply, log)
		w.ack(t, log)
		return
	}
}

func (w *worker) deadlineCtx(cmd *callapi.Command) (context.Context, context.CancelFunc) {
	if cmd.Deadline.IsZero() {
		return context.WithCancel(w.runCtx)
	}
	return context.WithDeadline(w.runCtx, cmd.Deadline)
}

// execute runs t's command down the handler chain. Its deadline is checked
// here, once for the worker: past it the command is dead-lettered before any
// work (the requester has given up and sees a timeout); otherwise the chain
// gets a context bounded by it (a command without one: by the worker's run).
func (w *worker) execute(t *task, e *memoEntry, creates bool, log cmdLog) {
	cmd, d := t.cmd, t.d
	if !cmd.Deadline.IsZero() && !time.Now().Before(cmd.Deadline) {
		w.memo.abort(e)
		w.b.stats.expired.Add(1)
		log.Warn("command expired before it ran: dropped", zap.Time("deadline", cmd.Deadline))
		w.reject(t, log)
		return
	}
	if creates && t.batch == nil { // a batch with a creating command was acked whole
		// At most once: acknowledged before it runs. If the ack cannot
		// be sent the command is not run (the broker may redeliver it).
		if err := d.Ack(false); err != nil {
			w.memo.abort(e)
			w.settle(d, log, "ack", err)
			return
		}
	}
	ctx, cancel := w.deadlineCtx(cmd)
	rep, panicked := w.handle(ctx, cmd, log)
	cancel()
	if panicked && !creates && t.batch == nil {
		w.memo.abort(e)
		limit := int64(w.b.cfg.DeliveryLimit)
		if (t.fromAny && deliveryCount(d.Headers, d.Redelivered)+1 < limit) || (!t.fromAny && !d.Redelivered) {
			log.Warn("command crashed its handler: returned to the queue for another try")
			w.settle(d, log, "nack", d.Nack(false, true))
			return
		}
		w.b.stats.poison.Add(1)
		log.Error("command crashed its handler too often: dead-lettered")
		w.respond(d, cmd, rep, log)
		w.settle(d, log, "nack", d.Nack(false, false))
		return
	}
	if panicked && t.batch != nil {
		// A batch is settled whole: its crashing item is not returned to
		// the queue (that would run the others again); it is answered
		// with the internal error and counted.
		w.b.stats.poison.Add(1)
		log.Error("batched command crashed its handler: answered internal")
	}
	w.memo.finish(e, rep)
	w.answer(t, rep, log)
	if !creates || t.batch != nil {
		w.ack(t, log)
	}
}

// answer sends t's reply: see respond; a batched command's reply goes to
// the reply flusher, which publishes it with the replies finished at the
// same time and then settles the item.
func (w *worker) answer(t *task, rep *callapi.Reply, log cmdLog) {
	if t.batch == nil || t.d.ReplyTo == "" {
		w.respond(t.d, t.cmd, rep, log)
		return
	}
	t.replied = true
	t.batch.reply(rep)
}

// answerDuplicate is answer for a command answered from memory.
func (w *worker) answerDuplicate(t *task, rep *callapi.Reply, log cmdLog) {
	if t.d.ReplyTo == "" {
		return // its command.completed event was published the first time
	}
	if t.batch == nil {
		w.respondDuplicate(t.d, t.cmd, rep, log)
		return
	}
	t.replied = true
	t.batch.reply(rep)
}

// ack settles t as done: its own message is acked; a batched item counts
// towards its batch's ack (unless its reply, once published, does).
func (w *worker) ack(t *task, log cmdLog) {
	if t.batch == nil {
		w.settle(t.d, log, "ack", t.d.Ack(false))
		return
	}
	if !t.replied {
		t.batch.noReply()
	}
}

// reject settles t as never run: its own message is dead-lettered; a
// batched item is dropped (the others of its batch still run).
func (w *worker) reject(t *task, log cmdLog) {
	if t.batch == nil {
		w.settle(t.d, log, "nack", t.d.Nack(false, false))
		return
	}
	if !t.replied {
		t.batch.noReply()
	}
}

// handle runs the handler, turning a panic or a nil reply into an
// internal-error reply.
func (w *worker) handle(ctx context.Context, cmd *callapi.Command, log cmdLog) (rep *callapi.Reply, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			log.Error("command handler panicked", zap.Any("panic", r), zap.Stack("stack"))
			rep = callapi.ErrReply(cmd.ID, w.node, callapi.Errorf(callapi.CodeInternal, "command %s crashed the worker", cmd.ID))
		}
	}()
	rep = w.h.Handle(ctx, cmd)
	if rep == nil {
		rep = callapi.ErrReply(cmd.ID, w.node, callapi.Errorf(callapi.CodeInternal, "command %s produced no reply", cmd.ID))
	}
	if rep.ID == "" {
		rep.ID = cmd.ID
	}
	if rep.Node == "" {
		rep.Node = w.node
	}
	return rep, false
}

// respond sends rep to the requester (direct reply-to) or, for a command
// sent without reply_to, publishes it as a command.completed event.
func (w *worker) respond(d amqp.Delivery, cmd *callapi.Command, rep *callapi.Reply, log cmdLog) {
	ctx, cancel := context.WithTimeout(w.runCtx, replyTimeout(cmd))
	defer cancel()
	if d.ReplyTo == "" {
		if err := w.b.PublishEvent(ctx, w.completedEvent(cmd, rep)); err != nil {
			log.Error("cannot publish command.completed", zap.Error(err))
		}
		return
	}
	w.reply(ctx, d, rep, log)
}

func (w *worker) respondDuplicate(d amqp.Delivery, cmd *callapi.Command, rep *callapi.Reply, log cmdLog) {
	if d.ReplyTo == "" {
		return // its command.completed event was published the first time
	}
	ctx, cancel := context.WithTimeout(w.runCtx, replyTimeout(cmd))
	defer cancel()
	w.reply(ctx, d, rep, log)
}

func (w *worker) reply(ctx context.Context, d amqp.Delivery, rep *callapi.Reply, log cmdLog) {
	msg, err := encodeReply(rep, d.CorrelationId)
	if err != nil {
		log.Error("cannot encode reply", zap.Error(err))
		return
	}
	ch, _ := d.Acknowledger.(*amqp.Channel)
	if err := w.sendReply(ctx, ch, d.ReplyTo, msg); err != nil {
		log.Warn("reply not sent", zap.Error(err))
	}
}

// sendReply publishes a reply message to a requester's reply_to, on ch
// (the channel the command came from) or, without one, on the pool.
// Not in confirm mode, like any direct reply-to server: a direct reply
// cannot be stored or rerouted, so a confirm would say nothing useful; a
// reply lost with the connection is answered again from the memory when
// the requester retries. Not mandatory: a requester that went away is not
// an error here. Still waits (until ctx ends) while the broker blocks us.
func (w *worker) sendReply(ctx context.Context, ch *amqp.Channel, to string, msg amqp.Publishing) error {
	if _, err := w.b.waitSession(ctx, "amqpbus.reply"); err != nil {
		return err
	}
	if ch != nil {
		return ch.Publish("", to, false, false, msg)
	}
	_, err := w.b.publish(ctx, "amqpbus.reply", "", to, false, msg, nil)
	return err
}

func replyTimeout(cmd *callapi.Command) time.Duration {
	d := 5 * time.Second
	if !cmd.Deadline.IsZero() {
		if left := time.Until(cmd.Deadline) + time.Second; left < d {
			d = left
		}
	}
	if d < time.Second {
		d = time.Second
	}
	return d
}

func (w *worker) completedEvent(cmd *callapi.Command, rep *callapi.Reply) *callapi.Event {
	data, err := json.Marshal(callapi.CommandCompletedData{CommandID: cmd.ID, Action: cmd.Action, Reply: rep})
	if err != nil {
		data = []byte(fmt.Sprintf(`{"command_id":%q,"action":%q}`, cmd.ID, cmd.Action))
	}
	return &callapi.Event{
		ID:       uuid.NewString(),
		Type:     callapi.EvCommandCompleted,
		Time:     time.Now().UTC(),
		Node:     w.node,
		Tenant:   cmd.Tenant,
		CallID:   cmd.CallID,
		BridgeID: cmd.BridgeID,
		Data:     data,
	}
}
