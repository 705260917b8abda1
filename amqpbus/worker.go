package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/callgw/callgw/gateway"
)

// ServeCommands calls a gateway.CommandHandler (gateway.Executor in cmd/).
var _ gateway.CommandHandler = (*gateway.Executor)(nil)

// ServeOptions tune a worker.
type ServeOptions struct {
	// NoAny: do not consume the shared any queue (only the node queue).
	NoAny bool
	// Concurrency bounds the commands running at once (default 64).
	// Commands of one call (or bridge) run one at a time in any case.
	Concurrency int
	// MemorySize is how many recent command ids the worker remembers to
	// answer duplicates from (default 10000).
	MemorySize int
	// ReplyLinger is how long the replies of a batch's first items wait
	// for the rest of the batch, so that the batch is answered with one
	// message (default 2ms); past it, replies go out as they come.
	ReplyLinger time.Duration
}

// worker consumes a node's queue and the shared any queue and runs the
// commands with a gateway.CommandHandler. See doc.go for its invariants.
type worker struct {
	b    *Bus
	node gateway.NodeID
	h    gateway.CommandHandler
	opts ServeOptions
	log  *zap.Logger
	memo *memo
	sch  *scheduler

	runCtx    context.Context // handlers' parent; cancelled when the drain times out
	cancelRun context.CancelFunc

	anyStopped atomic.Bool
	stopping   atomic.Bool

	mu  sync.Mutex
	cur *workerConsumers
}

// workerConsumers are the worker's consumers on one connection.
type workerConsumers struct {
	ch          *amqp.Channel
	replies     *replyFlusher // batched replies, published on ch
	nodeTag     string
	anyTag      string
	dispatchers sync.WaitGroup
}

// ServeCommands makes this bus a worker for node: on every connection Run
// declares the node's exclusive queue (bound to cmd.<node>.# and cmd.all.#)
// and consumes it and, unless opts.NoAny, the shared any queue, running
// each command with h. Call it once, before or after Run started.
func (b *Bus) ServeCommands(node gateway.NodeID, h gateway.CommandHandler, opts ServeOptions) error {
	if !gateway.ValidNodeID(string(node)) {
		return gateway.Invalid("node", "%q is not a valid node id", node)
	}
	if h == nil {
		return errors.New("amqpbus: ServeCommands needs a handler")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.MemorySize <= 0 {
		opts.MemorySize = 10000
	}
	if opts.ReplyLinger <= 0 {
		opts.ReplyLinger = 2 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		b: b, node: node, h: h, opts: opts,
		log:       b.log.With(zap.String("node", string(node))),
		memo:      newMemo(opts.MemorySize),
		runCtx:    ctx,
		cancelRun: cancel,
	}
	w.sch = newScheduler(opts.Concurrency, w.run)
	b.mu.Lock()
	if b.worker != nil {
		b.mu.Unlock()
		cancel()
		return errors.New("amqpbus: ServeCommands called twice")
	}
	b.worker = w
	b.starters = append(b.starters, w)
	s := b.sess
	b.mu.Unlock()
	if s != nil {
		_ = w.start(s)
	}
	return nil
}

// StopAny stops taking work from the shared any queue (a draining
// worker); the node queue is still served. It is not undone.
func (b *Bus) StopAny() {
	b.mu.Lock()
	w := b.worker
	b.mu.Unlock()
	if w == nil {
		return
	}
	w.anyStopped.Store(true)
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur != nil && cur.anyTag != "" {
		if err := cur.ch.Cancel(cur.anyTag, false); err != nil {
			w.log.Warn("cancel any consumer", zap.Error(err))
		}
	}
	w.log.Info("stopped taking shared work")
}

// start supervises the worker's consumers on s: it opens them and, if
// they end while the connection lives (a channel error), opens them again.
func (w *worker) start(s *session) error {
	s.wg.Add(1)
	go func() { // owner: the session
		defer s.wg.Done()
		for {
			wc, err := w.open(s)
			if err == nil {
				wc.dispatchers.Wait()
				w.mu.Lock()
				if w.cur == wc {
					w.cur = nil
				}
				w.mu.Unlock()
			} else {
				w.log.Error("cannot serve commands", zap.Error(err))
			}
			if s.ctx.Err() != nil || w.stopping.Load() {
				return
			}
			if !gateway.Sleep(s.ctx, time.Second) {
				return
			}
		}
	}()
	return nil
}

func (w *worker) serving() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur != nil
}

func (w *worker) open(s *session) (*workerConsumers, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*workerConsumers, error) {
		_ = ch.Close()
		return nil, err
	}
	if err := ch.Qos(w.b.cfg.Prefetch, 0, false); err != nil {
		return fail(err)
	}
	q, err := declareNodeQueue(ch, w.b.names, w.b.cfg, w.node)
	if err != nil {
		return fail(err)
	}
	wc := &workerConsumers{ch: ch, nodeTag: "node-" + uuid.NewString()}
	wc.replies = &replyFlusher{w: w, ch: ch}
	nodeDs, err := ch.Consume(q, wc.nodeTag, false, true, false, false, nil)
	if err != nil {
		return fail(err)
	}
	var anyDs <-chan amqp.Delivery
	if !w.opts.NoAny && !w.anyStopped.Load() {
		wc.anyTag = "any-" + uuid.NewString()
		if anyDs, err = ch.Consume(w.b.names.Any, wc.anyTag, false, false, false, false, nil); err != nil {
			return fail(err)
		}
	}
	w.mu.Lock()
	w.cur = wc
	w.mu.Unlock()
	wc.dispatchers.Add(1)
	go func() { // owner: start's supervisor
		defer wc.dispatchers.Done()
		w.dispatch(nodeDs, false, wc.replies)
		if !w.stopping.Load() && !ch.IsClosed() {
			// The node consumer was cancelled under us (its queue was
			// deleted): close the channel so that the supervisor
			// declares and consumes everything again.
			w.log.Warn("node queue consumer cancelled by the broker: serving again")
			_ = ch.Close()
		}
	}()
	if anyDs != nil {
		wc.dispatchers.Add(1)
		go func() { defer wc.dispatchers.Done(); w.dispatch(anyDs, true, wc.replies) }()
	}
	w.log.Info("serving commands", zap.String("queue", q), zap.Bool("any", anyDs != nil))
	return wc, nil
}

// stop is the graceful shutdown: cancel the consumers, let the deliveries
// already received run, wait for every command (cancelling them when ctx
// ends), then close the channel.
func (w *worker) stop(ctx context.Context, s *session) {
	w.stopping.Store(true)
	w.mu.Lock()
	wc := w.cur
	w.mu.Unlock()
	if wc != nil {
		for _, tag := range []string{wc.nodeTag, wc.anyTag} {
			if tag != "" {
				_ = wc.ch.Cancel(tag, false)
			}
		}
		wc.dispatchers.Wait()
	}
	if !w.sch.wait(ctx) {
		w.log.Warn("commands still running at shutdown timeout: cancelling them")
		w.cancelRun()
		w.sch.wait(context.Background())
	}
	w.cancelRun()
	if wc != nil {
		s.closeChannel(wc.ch)
	}
}

type task struct {
	d       amqp.Delivery
	cmd     *gateway.Command
	fromAny bool
	// batch is the batch the command came in (protocol version 2); nil
	// for a command in a message of its own.
	batch *batchDelivery
	// replied: the reply went to the batch's reply flusher, which
	// settles the item once the reply is published.
	replied bool
}

func (w *worker) dispatch(ds <-chan amqp.Delivery, fromAny bool, rf *replyFlusher) {
	for d := range ds {
		if d.Type == TypeBatch {
			w.dispatchBatch(d, fromAny, rf)
			continue
		}
		cmd, err := decodeCommand(d.Body, d.MessageId, d.Headers)
		if err != nil {
			w.b.stats.poison.Add(1)
			w.log.Error("poison command dead-lettered",
				zap.String("command_id", d.MessageId), zap.String("correlation_id", d.CorrelationId),
				zap.String("routing_key", d.RoutingKey), zap.Error(err))
			w.settle(d, cmdLog{l: w.log}, "nack", d.Nack(false, false))
			continue
		}
		w.sch.submit(&task{d: d, cmd: cmd, fromAny: fromAny})
	}
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
			w.answer(t, gateway.ErrReply(cmd.ID, w.node,
				gateway.Errorf(gateway.EConflict, "command id %s was already used for %s", cmd.ID, e.action)), log)
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

func (w *worker) deadlineCtx(cmd *gateway.Command) (context.Context, context.CancelFunc) {
	if cmd.Deadline.IsZero() {
		return context.WithCancel(w.runCtx)
	}
	return context.WithDeadline(w.runCtx, cmd.Deadline)
}

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
func (w *worker) answer(t *task, rep *gateway.Reply, log cmdLog) {
	if t.batch == nil || t.d.ReplyTo == "" {
		w.respond(t.d, t.cmd, rep, log)
		return
	}
	t.replied = true
	t.batch.reply(rep)
}

// answerDuplicate is answer for a command answered from memory.
func (w *worker) answerDuplicate(t *task, rep *gateway.Reply, log cmdLog) {
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
func (w *worker) handle(ctx context.Context, cmd *gateway.Command, log cmdLog) (rep *gateway.Reply, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			log.Error("command handler panicked", zap.Any("panic", r), zap.Stack("stack"))
			rep = gateway.ErrReply(cmd.ID, w.node, gateway.Errorf(gateway.EInternal, "command %s crashed the worker", cmd.ID))
		}
	}()
	rep = w.h.Handle(ctx, cmd)
	if rep == nil {
		rep = gateway.ErrReply(cmd.ID, w.node, gateway.Errorf(gateway.EInternal, "command %s produced no reply", cmd.ID))
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
func (w *worker) respond(d amqp.Delivery, cmd *gateway.Command, rep *gateway.Reply, log cmdLog) {
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

func (w *worker) respondDuplicate(d amqp.Delivery, cmd *gateway.Command, rep *gateway.Reply, log cmdLog) {
	if d.ReplyTo == "" {
		return // its command.completed event was published the first time
	}
	ctx, cancel := context.WithTimeout(w.runCtx, replyTimeout(cmd))
	defer cancel()
	w.reply(ctx, d, rep, log)
}

func (w *worker) reply(ctx context.Context, d amqp.Delivery, rep *gateway.Reply, log cmdLog) {
	msg, err := encodeReply(rep, d.CorrelationId)
	if err != nil {
		log.Error("cannot encode reply", zap.Error(err))
		return
	}
	// Published on the channel the command came from (not in confirm
	// mode), like any direct reply-to server: a direct reply cannot be
	// stored or rerouted, so a confirm would say nothing useful; a reply
	// lost with the connection is answered again from the memory when
	// the requester retries. Not mandatory: a requester that went away
	// is not an error here. Still waits while the broker blocks us.
	if _, err := w.b.waitSession(ctx, "amqpbus.reply"); err != nil {
		log.Warn("reply not sent", zap.Error(err))
		return
	}
	if ch, ok := d.Acknowledger.(*amqp.Channel); ok {
		err = ch.Publish("", d.ReplyTo, false, false, msg)
	} else {
		_, err = w.b.publish(ctx, "amqpbus.reply", "", d.ReplyTo, false, msg, nil)
	}
	if err != nil {
		log.Warn("reply not sent", zap.Error(err))
	}
}

func replyTimeout(cmd *gateway.Command) time.Duration {
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

func (w *worker) completedEvent(cmd *gateway.Command, rep *gateway.Reply) *gateway.Event {
	data, err := json.Marshal(gateway.CommandCompletedData{CommandID: cmd.ID, Action: cmd.Action, Reply: rep})
	if err != nil {
		data = []byte(fmt.Sprintf(`{"command_id":%q,"action":%q}`, cmd.ID, cmd.Action))
	}
	return &gateway.Event{
		ID:       uuid.NewString(),
		Type:     gateway.EvCommandCompleted,
		Time:     time.Now().UTC(),
		Node:     w.node,
		Tenant:   cmd.Tenant,
		CallID:   cmd.CallID,
		BridgeID: cmd.BridgeID,
		Data:     data,
	}
}

// scheduler runs tasks with bounded concurrency; tasks of one call (or
// bridge) run one at a time in submission order, each call in its lane.
// Lanes run on a pool of runner goroutines that stay alive for a while
// when idle (their stacks already grown), so a command does not pay for a
// new goroutine.
type scheduler struct {
	mu      sync.Mutex
	lanes   map[string]*lane
	sem     chan struct{}
	active  sync.WaitGroup // tasks submitted and not finished
	runners sync.WaitGroup // runner goroutines
	work    chan job       // hand-off to an idle runner
	quit    chan struct{}
	once    sync.Once
	run     func(*task)
}

type lane struct{ q []*task }

type job struct {
	t   *task
	l   *lane // nil: no lane
	key string
}

// runnerIdle is how long an idle runner waits for work before it exits.
const runnerIdle = 10 * time.Second

func newScheduler(n int, run func(*task)) *scheduler {
	return &scheduler{lanes: make(map[string]*lane), sem: make(chan struct{}, n),
		work: make(chan job), quit: make(chan struct{}), run: run}
}

func laneKey(cmd *gateway.Command) string {
	switch {
	case cmd.CallID != "":
		return "call\x00" + cmd.Tenant + "\x00" + string(cmd.CallID)
	case cmd.BridgeID != "":
		return "bridge\x00" + cmd.Tenant + "\x00" + string(cmd.BridgeID)
	}
	return ""
}

// submit queues t behind the running tasks of its call, or starts it when
// a slot is free (blocking the caller, a dispatcher, until then: with the
// prefetch this is the back-pressure to the broker).
func (s *scheduler) submit(t *task) {
	j := job{t: t, key: laneKey(t.cmd)}
	if j.key != "" {
		s.mu.Lock()
		if cur, ok := s.lanes[j.key]; ok {
			cur.q = append(cur.q, t)
			s.mu.Unlock()
			return
		}
		j.l = &lane{}
		s.lanes[j.key] = j.l
		s.active.Add(1) // counted at once so wait sees the lane
		s.mu.Unlock()
	} else {
		s.active.Add(1)
	}
	s.sem <- struct{}{}
	select {
	case s.work <- j: // an idle runner took it
	default:
		s.runners.Add(1)
		go s.runner(j) // owner: the scheduler (close waits for it)
	}
}

func (s *scheduler) runner(j job) {
	defer s.runners.Done()
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		s.do(j)
		idle.Reset(runnerIdle)
		select {
		case j = <-s.work:
		case <-idle.C:
			return
		case <-s.quit:
			return
		}
	}
}

// do runs j's task, then the rest of its lane.
func (s *scheduler) do(j job) {
	defer s.active.Done()
	defer func() { <-s.sem }()
	s.run(j.t)
	if j.l == nil {
		return
	}
	for {
		s.mu.Lock()
		if len(j.l.q) == 0 {
			delete(s.lanes, j.key)
			s.mu.Unlock()
			return
		}
		next := j.l.q[0]
		j.l.q[0] = nil
		j.l.q = j.l.q[1:]
		s.mu.Unlock()
		s.run(next)
	}
}

// wait waits for every task, or until ctx ends (false).
func (s *scheduler) wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }() // ends when the tasks end
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// close stops the idle runners and waits for them (after wait).
func (s *scheduler) close() {
	s.once.Do(func() { close(s.quit) })
	s.runners.Wait()
}

// cmdLog logs with the command's id and action, building the fields only
// for the entries actually written (no per-command logger on the hot path).
type cmdLog struct {
	l   *zap.Logger
	cmd *gateway.Command
}

func (c cmdLog) write(lvl zapcore.Level, msg string, fs []zap.Field) {
	ce := c.l.Check(lvl, msg)
	if ce == nil {
		return
	}
	if c.cmd != nil {
		fs = append([]zap.Field{zap.String("command_id", c.cmd.ID), zap.String("action", string(c.cmd.Action))}, fs...)
	}
	ce.Write(fs...)
}

func (c cmdLog) Debug(msg string, fs ...zap.Field) { c.write(zapcore.DebugLevel, msg, fs) }
func (c cmdLog) Info(msg string, fs ...zap.Field)  { c.write(zapcore.InfoLevel, msg, fs) }
func (c cmdLog) Warn(msg string, fs ...zap.Field)  { c.write(zapcore.WarnLevel, msg, fs) }
func (c cmdLog) Error(msg string, fs ...zap.Field) { c.write(zapcore.ErrorLevel, msg, fs) }
