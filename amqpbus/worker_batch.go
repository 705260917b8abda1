package amqpbus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// batchDelivery is one delivery carrying a batch of commands (protocol
// version 2). It is settled whole: acked once every item is settled (each
// reply published), or, when the batch holds a command that creates
// something, acked before any item runs (at most once for all of them).
//
// Its replies are held until every item has finished, so that the batch is
// answered with one message; but for ReplyLinger at most after the first
// reply, so that one slow item does not hold up the others' replies.
type batchDelivery struct {
	w          *worker
	d          amqp.Delivery
	rf         *replyFlusher
	ackedEarly bool
	unsettled  atomic.Int32 // items whose reply is not yet written (or that have none)

	mu      sync.Mutex
	waiting int              // items not yet finished
	held    []*callapi.Reply // replies held for one message
	through bool             // lingered long enough: replies go out as they come
	timer   *time.Timer
}

func newBatchDelivery(w *worker, d amqp.Delivery, rf *replyFlusher, n int) *batchDelivery {
	bd := &batchDelivery{w: w, d: d, rf: rf, waiting: n}
	bd.unsettled.Store(int32(n))
	return bd
}

// settle settles n items; the last one acks the delivery.
func (bd *batchDelivery) settle(n int) {
	if bd.unsettled.Add(-int32(n)) != 0 || bd.ackedEarly {
		return
	}
	bd.w.settle(bd.d, cmdLog{l: bd.w.log}, "ack", bd.d.Ack(false))
}

// reply hands over one item's reply (to the batch's reply_to).
func (bd *batchDelivery) reply(rep *callapi.Reply) {
	bd.mu.Lock()
	if bd.through {
		bd.mu.Unlock()
		bd.rf.add(bd.d.ReplyTo, []*callapi.Reply{rep}, bd.settle)
		return
	}
	bd.held = append(bd.held, rep)
	bd.waiting--
	if bd.waiting > 0 {
		if bd.timer == nil {
			bd.timer = time.AfterFunc(bd.w.opts.ReplyLinger, bd.linger)
		}
		bd.mu.Unlock()
		return
	}
	held := bd.takeLocked()
	bd.mu.Unlock()
	bd.rf.add(bd.d.ReplyTo, held, bd.settle)
}

// noReply settles an item that has no reply to send (expired, refused
// without an id, or answered by an event).
func (bd *batchDelivery) noReply() {
	bd.mu.Lock()
	bd.waiting--
	var held []*callapi.Reply
	if bd.waiting == 0 && !bd.through {
		held = bd.takeLocked()
	}
	bd.mu.Unlock()
	if len(held) > 0 {
		bd.rf.add(bd.d.ReplyTo, held, bd.settle)
	}
	bd.settle(1)
}

// linger sends the replies held so far; later ones go out as they come.
func (bd *batchDelivery) linger() {
	bd.mu.Lock()
	if bd.through || len(bd.held) == 0 {
		bd.mu.Unlock()
		return
	}
	bd.through = true
	held := bd.takeLocked()
	bd.mu.Unlock()
	bd.rf.add(bd.d.ReplyTo, held, bd.settle)
}

func (bd *batchDelivery) takeLocked() []*callapi.Reply {
	held := bd.held
	bd.held = nil
	if bd.timer != nil {
		bd.timer.Stop()
	}
	return held
}

// dispatchBatch decodes a batch and submits its commands in order (so
// commands of one call keep their order across batches). An undecodable
// batch is poison: dead-lettered whole. An item that is wrong on its own
// is answered invalid_argument (when it has an id) and never run.
func (w *worker) dispatchBatch(d amqp.Delivery, fromAny bool, rf *replyFlusher) {
	items, err := decodeBatch(d.Body)
	if err != nil {
		w.b.stats.poison.Add(1)
		w.log.Error("poison batch dead-lettered", zap.String("message_id", d.MessageId),
			zap.String("routing_key", d.RoutingKey), zap.Error(err))
		w.settle(d, cmdLog{l: w.log}, "nack", d.Nack(false, false))
		return
	}
	bd := newBatchDelivery(w, d, rf, len(items))
	for _, it := range items {
		if it.err == nil && it.cmd.Action.Creates() {
			bd.ackedEarly = true
		}
	}
	if bd.ackedEarly {
		// At most once, as for a creating command on its own: if the
		// ack cannot be sent nothing runs (the broker may redeliver).
		if err := d.Ack(false); err != nil {
			w.settle(d, cmdLog{l: w.log}, "ack", err)
			return
		}
	}
	for _, it := range items {
		t := &task{d: d, cmd: it.cmd, fromAny: fromAny, batch: bd}
		if it.err != nil {
			w.b.stats.poison.Add(1)
			log := cmdLog{w.log, it.cmd}
			log.Error("poison command in a batch refused", zap.String("message_id", d.MessageId), zap.Error(it.err))
			if it.cmd.ID != "" {
				w.answer(t, callapi.ErrReply(it.cmd.ID, w.node, callapi.Invalid("command", "%v", it.err)), log)
			}
			w.reject(t, log)
			continue
		}
		if w.refuseForeign(t) {
			continue
		}
		w.sch.submit(t)
	}
}

// replyFlusher publishes the replies of batched commands on a consumer's
// channel, as few messages as it can: one per requester (reply-to) for
// all replies finished while the previous message was being written. No
// goroutine of its own: the first task with a reply to send writes it at
// once, and goes on writing what the others added meanwhile (so a lone
// reply leaves without delay, and under load replies gather).
type replyFlusher struct {
	w  *worker
	ch *amqp.Channel

	mu    sync.Mutex
	q     []pendingReply
	spare []pendingReply
	busy  bool
}

type pendingReply struct {
	to     string
	reps   []*callapi.Reply
	settle func(n int) // settles n items once their replies are written
}

// maxReplyBatch bounds the replies of one reply message.
const maxReplyBatch = 256

// add queues reps for to and, unless another task is writing, writes
// everything queued.
func (f *replyFlusher) add(to string, reps []*callapi.Reply, settle func(int)) {
	f.mu.Lock()
	f.q = append(f.q, pendingReply{to: to, reps: reps, settle: settle})
	if f.busy {
		f.mu.Unlock()
		return
	}
	f.busy = true
	for len(f.q) > 0 {
		q := f.q
		f.q, f.spare = f.spare[:0], nil
		f.mu.Unlock()
		f.flush(q)
		for i := range q {
			q[i] = pendingReply{}
		}
		f.mu.Lock()
		f.spare = q[:0]
	}
	f.busy = false
	f.mu.Unlock()
}

// flush writes q, one message per reply-to (in order of first reply, at
// most maxReplyBatch replies each), then settles the items.
func (f *replyFlusher) flush(q []pendingReply) {
	for start := 0; start < len(q); {
		to := q[start].to
		var reps []*callapi.Reply
		var settles []pendingReply
		for i := start; i < len(q) && len(reps) < maxReplyBatch; i++ {
			if q[i].to != to || q[i].reps == nil || len(reps)+len(q[i].reps) > maxReplyBatch && len(reps) > 0 {
				continue
			}
			reps = append(reps, q[i].reps...)
			settles = append(settles, q[i])
			q[i].reps = nil // taken
		}
		f.publish(to, reps)
		for _, p := range settles {
			p.settle(len(p.reps))
		}
		for start < len(q) && q[start].reps == nil {
			start++
		}
	}
}

func (f *replyFlusher) publish(to string, reps []*callapi.Reply) {
	log := cmdLog{l: f.w.log}
	var msg amqp.Publishing
	var err error
	if len(reps) == 1 {
		msg, err = encodeReply(reps[0], reps[0].ID) // a version 1 reply
	} else {
		msg, err = encodeReplies(reps)
		f.w.b.stats.replyBatches.Add(1)
		f.w.b.stats.batchedReplies.Add(int64(len(reps)))
	}
	if err != nil {
		log.Error("cannot encode replies", zap.Error(err))
		return
	}
	ctx, cancel := context.WithTimeout(f.w.runCtx, 5*time.Second)
	defer cancel()
	if err := f.w.sendReply(ctx, f.ch, to, msg); err != nil {
		log.Warn("replies not sent", zap.Int("replies", len(reps)), zap.Error(err))
	}
}
