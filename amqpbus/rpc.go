package amqpbus

import (
	"context"
	"errors"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

var _ callapi.Bus = (*Bus)(nil)

// call is a request waiting for its reply (or, for Gather, replies).
type call struct {
	id      string
	pc      *pubChan // channel it was published on; guarded by pendingMap.mu
	replies chan *callapi.Reply
	multi   bool
	lost    chan error // buffered 1: the channel died before the reply
}

// pendingMap holds the requests in flight by correlation id. Several
// requests may share an id (a client retrying with the same idempotency
// key): replies go to them first come, first served.
type pendingMap struct {
	mu sync.Mutex
	m  map[string][]*call
}

func (p *pendingMap) add(id string, buf int, multi bool) *call {
	c := &call{id: id, replies: make(chan *callapi.Reply, buf), multi: multi, lost: make(chan error, 1)}
	p.mu.Lock()
	p.m[id] = append(p.m[id], c)
	p.mu.Unlock()
	return c
}

func (p *pendingMap) bind(c *call, pc *pubChan) {
	p.mu.Lock()
	c.pc = pc
	p.mu.Unlock()
}

// remove forgets c; a reply arriving later is dropped and counted.
func (p *pendingMap) remove(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.m[c.id]
	for i, x := range cs {
		if x == c {
			cs = append(cs[:i:i], cs[i+1:]...)
			break
		}
	}
	if len(cs) == 0 {
		delete(p.m, c.id)
	} else {
		p.m[c.id] = cs
	}
}

// deliver hands rep to the first request waiting for id; false when none.
// A single request is answered once: it leaves the map with its reply.
func (p *pendingMap) deliver(id string, rep *callapi.Reply) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.m[id]
	for i, c := range cs {
		if c.multi {
			select {
			case c.replies <- rep:
				return true
			default: // more replies than expected: keep the first ones
				continue
			}
		}
		c.replies <- rep // buffered 1 and answered once: never blocks
		cs = append(cs[:i:i], cs[i+1:]...)
		if len(cs) == 0 {
			delete(p.m, id)
		} else {
			p.m[id] = cs
		}
		return true
	}
	return false
}

// failWhere tells every request matching f that its reply will not come.
func (p *pendingMap) failWhere(f func(*call) bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cs := range p.m {
		for _, c := range cs {
			if f(c) {
				select {
				case c.lost <- err:
				default:
				}
			}
		}
	}
}

// deliverReply routes a direct reply (or a batch of replies) to its
// requests (pubChan loop).
func (b *Bus) deliverReply(d amqp.Delivery) {
	if d.Type == TypeBatch {
		reps, bad, err := decodeReplies(d.Body)
		if err != nil {
			b.stats.badReplies.Add(1)
			b.log.Warn("undecodable reply batch dropped", zap.Error(err))
			return
		}
		b.stats.badReplies.Add(int64(bad))
		for _, rep := range reps {
			if !b.pending.deliver(rep.ID, rep) {
				b.stats.unknownReplies.Add(1)
			}
		}
		return
	}
	rep, err := decodeReply(d.Body)
	if err != nil {
		b.stats.badReplies.Add(1)
		b.log.Warn("undecodable reply dropped", zap.String("correlation_id", d.CorrelationId), zap.Error(err))
		return
	}
	b.log.Debug("reply received", zap.String("correlation_id", d.CorrelationId))
	if !b.pending.deliver(d.CorrelationId, rep) {
		b.stats.unknownReplies.Add(1)
		b.log.Debug("reply without a waiting request dropped",
			zap.String("correlation_id", d.CorrelationId), zap.String("node", string(rep.Node)))
	}
}

// prepare validates cmd and sets its deadline from ctx (or the default
// timeout); the returned ctx carries that deadline.
func (b *Bus) prepare(ctx context.Context, op string, cmd *callapi.Command) (context.Context, context.CancelFunc, error) {
	if cmd == nil || cmd.ID == "" {
		return nil, nil, callapi.Invalid("id", "command id required")
	}
	if cmd.Action == "" {
		return nil, nil, callapi.Invalid("action", "command action required")
	}
	d, ok := ctx.Deadline()
	switch {
	case ok && (cmd.Deadline.IsZero() || !d.After(cmd.Deadline)):
		cmd.Deadline = d
	case cmd.Deadline.IsZero():
		cmd.Deadline = time.Now().Add(b.cfg.DefaultTimeout)
	}
	if !time.Now().Before(cmd.Deadline) {
		return nil, nil, callapi.Errorf(callapi.CodeTimeout, "%s: command %s expired before it was sent", op, cmd.ID)
	}
	if ok && d.Equal(cmd.Deadline) {
		return ctx, func() {}, nil // ctx already ends at the deadline
	}
	ctx, cancel := context.WithDeadline(ctx, cmd.Deadline)
	return ctx, cancel, nil
}

// route returns the exchange and routing key of a command for target.
func (b *Bus) route(t callapi.Target, a callapi.Action) (exchange, key string) {
	switch {
	case b.cfg.Tenant != "":
		return b.names.Commands, callapi.TenantCommandKey(t, b.cfg.Tenant, a)
	case !b.cfg.DirectRouting || t == callapi.TargetAll:
		return b.names.Commands, callapi.CommandKey(t, a)
	case t == callapi.TargetAny:
		return "", b.names.Any
	}
	return "", b.names.Node(callapi.NodeID(t))
}

func checkTarget(t callapi.Target, allowAll bool) error {
	switch {
	case t == callapi.TargetAny:
		return nil
	case t == callapi.TargetAll:
		if allowAll {
			return nil
		}
		return callapi.Invalid("target", "use Gather for target all")
	case callapi.ValidNodeID(string(t)):
		return nil
	}
	return callapi.Invalid("target", "%q is not a node id, any or all", t)
}

// Request publishes cmd to target and waits for its reply until ctx ends.
// The reply is returned as is (a failed reply is not a Go error; see
// callapi.Reply.Err), and only once the broker has also confirmed the
// publish (docs/protocol.md §4: a return or a nack fails the request even
// after the reply). Requests to a node that speaks protocol version 2 are
// batched with the other requests to that node (cmdRoute). Errors:
// callapi.CodeNodeUnavailable when no queue takes the command (at once), when the
// broker refuses it, is not connected or blocks publishing until the
// deadline (nothing was sent); callapi.CodeTimeout when no reply (or no confirm) came
// in time; callapi.CodeOutcomeUnknown when the connection carrying the command was
// lost after it was written and before its reply (it may have run; a
// command that creates nothing is first sent again under the same id,
// which the worker answers from its memory if it ran).
func (b *Bus) Request(ctx context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	const op = "amqpbus.Request"
	if err := checkTarget(target, false); err != nil {
		return nil, err
	}
	ctx, cancel, err := b.prepare(ctx, op, cmd)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if r := b.batchRoute(target, cmd); r != nil {
		return b.requestBatched(ctx, op, target, r, cmd)
	}
	msg, err := encodeCommand(cmd, directReplyTo, time.Now())
	if err != nil {
		return nil, err
	}
	c := b.pending.add(cmd.ID, 1, false)
	defer b.pending.remove(c)
	x, key := b.route(target, cmd.Action)
	for attempt := 0; ; attempt++ {
		_, w, err := b.publishOn(ctx, op, x, key, true, msg, c)
		if err != nil {
			return nil, err
		}
		rep, lost, err := b.await(ctx, op, target, w, c)
		if lost == nil {
			return rep, err
		}
		if err := b.afterLoss(ctx, op, cmd, attempt, lost); err != nil {
			return nil, err
		}
	}
}

// afterLoss decides what follows the loss of the channel that carried a
// request (lost) before its reply: an error, or nil to send it again. A
// command that creates nothing is sent again, under the same id: the
// worker answers it from its memory if it already ran. A creating one is
// not: it may have run, and only the caller can retry it safely (with the
// same idempotency key).
func (b *Bus) afterLoss(ctx context.Context, op string, cmd *callapi.Command, attempt int, lost error) error {
	if errors.Is(lost, ErrClosed) { // this process is stopping: no retry
		return callapi.Wrap(callapi.CodeOutcomeUnknown, op, lost, "bus closed after the command was sent: it may have run")
	}
	if cmd.Action.Creates() || attempt >= 2 || ctx.Err() != nil {
		return callapi.Wrap(callapi.CodeOutcomeUnknown, op, lost,
			"broker connection lost after the command was sent and before its reply: it may have run")
	}
	b.stats.retried.Add(1)
	b.log.Debug("request sent again after a connection loss",
		zap.String("command_id", cmd.ID), zap.String("action", string(cmd.Action)), zap.Error(lost))
	return nil
}

// requestBatched is Request through r: the request joins the route's
// next batch, then waits as a lone request does.
func (b *Bus) requestBatched(ctx context.Context, op string, target callapi.Target, r *cmdRoute, cmd *callapi.Command) (*callapi.Reply, error) {
	c := b.pending.add(cmd.ID, 1, false)
	defer b.pending.remove(c)
	for attempt := 0; ; attempt++ {
		select { // a loss already reported belongs to the previous attempt
		case <-c.lost:
		default:
		}
		q := &queued{cmd: cmd, c: c, w: &pubWaiter{msgID: cmd.ID, done: make(chan pubResult, 1), quiet: true}}
		r.enqueue(q)
		rep, lost, err := b.await(ctx, op, target, q.w, c)
		q.done()
		if lost == nil {
			if err != nil && !q.written.Load() && callapi.ErrorCode(err) == callapi.CodeTimeout {
				// Never handed to the broker (not connected, or blocked,
				// until the deadline): no worker can have it.
				return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, err, "not published before the deadline: broker not connected or blocking")
			}
			return rep, err
		}
		if !q.written.Load() {
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, lost, "not published: the bus is closing")
		}
		if err := b.afterLoss(ctx, op, cmd, attempt, lost); err != nil {
			return nil, err
		}
	}
}

// await waits for the outcome of a request published on pc (w) until ctx
// ends. The reply and the publish's confirm are awaited concurrently, and
// the reply is returned only once the broker confirmed the publish (ack)
// without returning it: a return or a nack fails the request
// (callapi.CodeNodeUnavailable) whether it comes before or after the reply. In the
// usual order (confirm, then reply) nothing wakes the caller but its reply:
// the confirm is recorded on w and read when the reply is in. lost (not
// nil) means the channel carrying the reply was lost before the reply.
func (b *Bus) await(ctx context.Context, op string, target callapi.Target, w *pubWaiter, c *call) (rep *callapi.Reply, lost, err error) {
	res := (<-chan pubResult)(w.done)
	var got *callapi.Reply
	for {
		select {
		case r := <-c.replies:
			v, ok := w.check()
			if !ok {
				got = r // a reply before the confirm: wait for it
				continue
			}
			if v.lost() {
				return r, nil, nil // the worker's reply says what happened
			}
			if err := v.error(op); err != nil {
				return nil, nil, err
			}
			return r, nil, nil
		case r := <-res:
			if r.lost() {
				if got != nil {
					return got, nil, nil
				}
				return nil, r.err, nil
			}
			if err := r.error(op); err != nil {
				return nil, nil, err
			}
			if got != nil {
				return got, nil, nil
			}
			res = nil
		case err := <-c.lost:
			if got == nil {
				return nil, err, nil
			}
			// The reply came but the confirm cannot come any more: the
			// reply is the worker's own account of the command.
			return got, nil, nil
		case <-ctx.Done():
			if got != nil {
				return nil, nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "publish not confirmed before the deadline")
			}
			return nil, nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "no reply from "+string(target)+" before the deadline")
		}
	}
}

// Gather publishes cmd to every worker (cmd.all.<action>) and collects
// replies until every node in expect answered or ctx ends; then it returns
// what arrived. It fails only when the broadcast could not be delivered
// (callapi.CodeNodeUnavailable when no worker is bound at all).
func (b *Bus) Gather(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
	const op = "amqpbus.Gather"
	ctx, cancel, err := b.prepare(ctx, op, cmd)
	if err != nil {
		return nil, err
	}
	defer cancel()
	msg, err := encodeCommand(cmd, directReplyTo, time.Now())
	if err != nil {
		return nil, err
	}
	c := b.pending.add(cmd.ID, len(expect)+64, true)
	defer b.pending.remove(c)
	x, key := b.route(callapi.TargetAll, cmd.Action)
	res, err := b.publish(ctx, op, x, key, true, msg, c)
	if err != nil {
		return nil, err
	}
	want := make(map[callapi.NodeID]bool, len(expect))
	for _, n := range expect {
		want[n] = true
	}
	var out []*callapi.Reply
	seen := make(map[callapi.NodeID]bool)
	for {
		if len(expect) > 0 && len(want) == 0 {
			return out, nil
		}
		select {
		case rep := <-c.replies:
			if seen[rep.Node] {
				continue // a node answers once (a redelivery may answer twice)
			}
			seen[rep.Node] = true
			delete(want, rep.Node)
			out = append(out, rep)
		case r := <-res:
			if err := r.error(op); err != nil {
				return nil, err
			}
			res = nil
		case err := <-c.lost:
			if len(out) == 0 {
				return nil, callapi.Wrap(callapi.CodeTimeout, op, err, "connection lost before any reply")
			}
			return out, nil
		case <-ctx.Done():
			if res != nil && len(out) == 0 {
				return nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "broadcast not confirmed before the deadline")
			}
			return out, nil
		}
	}
}

// Send publishes cmd to target without waiting for its reply; it returns
// once the broker confirmed that a queue took it. The worker publishes the
// outcome as a command.completed event.
func (b *Bus) Send(ctx context.Context, target callapi.Target, cmd *callapi.Command) error {
	const op = "amqpbus.Send"
	if err := checkTarget(target, true); err != nil {
		return err
	}
	ctx, cancel, err := b.prepare(ctx, op, cmd)
	if err != nil {
		return err
	}
	defer cancel()
	msg, err := encodeCommand(cmd, "", time.Now())
	if err != nil {
		return err
	}
	x, key := b.route(target, cmd.Action)
	return b.publishConfirmed(ctx, op, x, key, true, msg)
}
