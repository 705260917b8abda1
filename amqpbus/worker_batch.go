package amqpbus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/gateway"
)

// batchDelivery is one delivery carrying a batch of commands (protocol
// version 2). It is settled whole: acked once every item is settled (each
// reply published), or, when the batch holds a command that creates
// something, acked before any item runs (at most once for all of them).
type batchDelivery struct {
	w          *worker
	d          amqp.Delivery
	rf         *replyFlusher
	left       atomic.Int32
	ackedEarly bool
}

// itemDone settles one item; the last one acks the delivery.
func (bd *batchDelivery) itemDone() {
	if bd.left.Add(-1) != 0 || bd.ackedEarly {
		return
	}
	bd.w.settle(bd.d, cmdLog{l: bd.w.log}, "ack", bd.d.Ack(false))
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
	bd := &batchDelivery{w: w, d: d, rf: rf}
	bd.left.Store(int32(len(items)))
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
				w.answer(t, gateway.ErrReply(it.cmd.ID, w.node, gateway.Invalid("command", "%v", it.err)), log)
			}
			w.reject(t, log)
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
	to   string
	rep  *gateway.Reply
	done func() // settles the item once its reply is written
}

// maxReplyBatch bounds the replies of one reply message.
const maxReplyBatch = 256

func (f *replyFlusher) add(to string, rep *gateway.Reply, done func()) {
	f.mu.Lock()
	f.q = append(f.q, pendingReply{to: to, rep: rep, done: done})
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

// flush writes q, one message per reply-to (in order of first reply),
// then settles each item.
func (f *replyFlusher) flush(q []pendingReply) {
	for start := 0; start < len(q); {
		to := q[start].to
		var reps []*gateway.Reply
		var dones []func()
		for i := start; i < len(q) && len(reps) < maxReplyBatch; i++ {
			if q[i].to == to && q[i].rep != nil {
				reps = append(reps, q[i].rep)
				dones = append(dones, q[i].done)
				q[i].rep = nil // taken
			}
		}
		f.publish(to, reps)
		for _, d := range dones {
			d()
		}
		for start < len(q) && q[start].rep == nil {
			start++
		}
	}
}

func (f *replyFlusher) publish(to string, reps []*gateway.Reply) {
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
	// As for a single reply (worker.reply): not confirmed, not mandatory,
	// waiting only while the broker blocks us.
	ctx, cancel := context.WithTimeout(f.w.runCtx, 5*time.Second)
	defer cancel()
	if _, err := f.w.b.waitSession(ctx, "amqpbus.reply"); err != nil {
		log.Warn("replies not sent", zap.Int("replies", len(reps)), zap.Error(err))
		return
	}
	if err := f.ch.Publish("", to, false, false, msg); err != nil {
		log.Warn("replies not sent", zap.Int("replies", len(reps)), zap.Error(err))
	}
}
