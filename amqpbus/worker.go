package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// ServeCommands calls a callapi.CommandHandler (worker.Executor in cmd/).

// ServeOptions tune a worker.
type ServeOptions struct {
	// NoAny: do not consume the shared any queue (only the node queue).
	NoAny bool
	// Concurrency bounds the commands running at once
	// (callapi.DefaultConcurrency).
	// Commands of one call (or bridge) run one at a time in any case.
	Concurrency int
	// MemorySize is how many recent command ids the worker remembers to
	// answer duplicates from (default 10000).
	MemorySize int
	// ReplyLinger is how long the replies of a batch's first items wait
	// for the rest of the batch, so that the batch is answered with one
	// message (default 2ms); past it, replies go out as they come.
	ReplyLinger time.Duration
	// Tenants are the tenants' node resource patterns (CALLGW_TENANTS_FILE).
	// A node resource command published by a tenant's own AMQP user (its
	// routing key names the tenant) runs with its tenant's scope, whatever
	// scope its arguments claim: none when the tenant has no patterns.
	Tenants callapi.TenantScopes
	// OnPing is called (it must not block) when a nodes.ping
	// (callapi.KeyNodesPing, Bus.PingNodes) reaches the node queue, and
	// each time the node queue is consumed on a new connection: the
	// worker should beat now (worker.Announcer.BeatNow, which coalesces
	// and rate-limits). nil: pings are acknowledged and ignored.
	OnPing func()
}

// worker consumes a node's queue and the shared any queue and runs the
// commands with a callapi.CommandHandler. See doc.go for its invariants.
type worker struct {
	b    *Bus
	node callapi.NodeID
	h    callapi.CommandHandler
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
func (b *Bus) ServeCommands(node callapi.NodeID, h callapi.CommandHandler, opts ServeOptions) error {
	if !callapi.ValidNodeID(string(node)) {
		return callapi.Invalid("node", "%q is not a valid node id", node)
	}
	if h == nil {
		return errors.New("amqpbus: ServeCommands needs a handler")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = callapi.DefaultConcurrency
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
	// The first open is synchronous: serve declares the bus ready after
	// its starters started, and a worker announces itself once ready, so
	// its node queue must be consumed by then (a command routed to it at
	// once must not come back unroutable).
	wc, err := w.open(s)
	s.wg.Add(1)
	go func() { // owner: the session
		defer s.wg.Done()
		for fails := 0; ; fails++ {
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
			if err == nil {
				fails = 0
			}
			if !retry.Sleep(s.ctx, retry.Backoff(fails, reopenMin, reopenMax)) {
				return
			}
			wc, err = w.open(s)
		}
	}()
	return err
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
	w.ping() // (re)connected: gateways that swept this node meanwhile hear it at once
	return wc, nil
}

// ping asks the worker to beat now (ServeOptions.OnPing).
func (w *worker) ping() {
	if w.opts.OnPing != nil {
		w.opts.OnPing()
	}
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

func (w *worker) dispatch(ds <-chan amqp.Delivery, fromAny bool, rf *replyFlusher) {
	for d := range ds {
		if d.RoutingKey == callapi.KeyNodesPing {
			w.ping()
			w.settle(d, cmdLog{l: w.log}, "ack", d.Ack(false))
			continue
		}
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
		t := &task{d: d, cmd: cmd, fromAny: fromAny}
		if w.refuseForeign(t) {
			continue
		}
		w.sch.submit(t)
	}
}

// refuseForeign refuses a command whose routing key names a tenant
// (callapi.TenantCommandKey: a tenant's own AMQP user published it) other
// than the command's: answered forbidden, never run, dead-lettered. The
// broker's topic permissions make a tenant's user name its own tenant in
// the key; this makes the body agree with it, and a node resource command
// keep to its tenant's names (confineScope). So a tenant's user can never
// list every tenant's calls (callapi.AllTenants, which names no tenant of
// a key). A key without tenant (a gateway, an operator's client) is
// trusted as before.
func (w *worker) refuseForeign(t *task) bool {
	kt, ok := callapi.KeyTenant(t.d.RoutingKey)
	if !ok {
		return false
	}
	if kt == t.cmd.Tenant && callapi.ValidTenant(kt) {
		confineScope(t.cmd, w.opts.Tenants.Of(kt))
		return false
	}
	log := cmdLog{w.log, t.cmd}
	log.Warn("command for another tenant than its routing key refused", zap.String("routing_key", t.d.RoutingKey))
	w.answer(t, callapi.ErrReply(t.cmd.ID, w.node, callapi.Errorf(callapi.CodeForbidden,
		"the command's tenant %q is not its publisher's (%q)", t.cmd.Tenant, kt)), log)
	w.reject(t, log)
	return true
}

// confineScope makes a node resource command (callapi.PortNodeRes) carry
// scope as its NameScope, replacing whatever its arguments said (nil: no
// scope, so the command sees no name). Other commands, and arguments that
// are not a JSON object (the executor refuses them), are left alone.
func confineScope(cmd *callapi.Command, scope *callapi.NameScope) {
	spec, ok := callapi.SpecOf(cmd.Action)
	if !ok || spec.Port != callapi.PortNodeRes {
		return
	}
	m := map[string]json.RawMessage{}
	if len(cmd.Args) > 0 {
		if err := json.Unmarshal(cmd.Args, &m); err != nil || m == nil {
			return
		}
	}
	delete(m, "scope")
	if scope != nil {
		b, err := json.Marshal(scope)
		if err != nil {
			return
		}
		m["scope"] = b
	}
	if b, err := json.Marshal(m); err == nil {
		cmd.Args = b
	}
}
