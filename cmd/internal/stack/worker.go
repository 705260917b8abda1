// Package stack wires callgw's processes from their packages: a Worker is
// the bus, the PBX adapter, the executor and the heartbeat announcer of one
// node; a Gateway is the bus, the cluster view (gateway.Observer), the
// domain service and the REST server with its event feed (restapi.Feed).
// cmd/callgw and the benchmarks run the same wiring. Behaviour belongs in
// the packages it wires, with their tests; what is here is wiring and the
// order of startup and shutdown, tested here. One piece of behaviour stays
// here, with its tests (idempotency_test.go): the worker's use of its
// idempotency journal (idempotency.go), which joins the journal's file, the
// bus and the PBX and so belongs to no single one of them (gateway does no
// I/O).
package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/worker/journal"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/worker"
)

// Worker is one worker: the bus, the PBX adapter, the executor and the
// heartbeat announcer.
type Worker struct {
	cfg  *config.Worker
	log  *zap.Logger
	bus  *amqpbus.Bus
	pbx  *asterisk.PBX
	ann  *worker.Announcer
	work *worker.InFlight
	// metrics is the worker's registry (its ops endpoint); wm its
	// command, ARI and outcome metrics.
	metrics *prometheus.Registry
	wm      *workerMetrics
	keys    *keyed
	sink    *journalSink
}

// JournalPath is where a worker keeps its idempotency journal in dir:
// one file per node (and bus prefix), so that workers of several nodes
// can share a directory.
func JournalPath(dir, prefix, node string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, prefix+node+".journal")
}

// openJournal opens the worker's journal and starts pruning it until ctx
// ends, counted in wg. Run closes it once everything stopped.
func (w *Worker) openJournal(ctx context.Context, wg *sync.WaitGroup) error {
	path := JournalPath(w.cfg.StateDir, w.cfg.Prefix, w.cfg.NodeID)
	j, err := journal.Open(path, w.cfg.IdempotencyWindow, uuid.NewString())
	if err != nil {
		return err
	}
	w.keys.j = j
	if j.Durable() {
		w.log.Info("idempotency journal open", zap.String("path", path), zap.Int("records", j.Len()), zap.Duration("window", j.Window()))
	} else {
		w.log.Warn("idempotency journal in memory only (no state directory): a retry after this worker's restart may place a second call")
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		j.RunPruning(ctx, func(n int, err error) {
			if err != nil {
				w.log.Warn("idempotency journal: prune failed", zap.Error(err))
			} else {
				w.log.Info("idempotency journal pruned", zap.Int("records", n))
			}
		})
	}()
	return nil
}

// DrainTimeout bounds how long a stopping worker waits for its commands in
// flight (a wait=answered originate holds its command until answered)
// before it announces node.down and closes.
const DrainTimeout = 30 * time.Second

// NewWorker builds a worker; it does no I/O until Run.
func NewWorker(cfg *config.Worker, log *zap.Logger) (*Worker, error) {
	node := callapi.NodeID(cfg.NodeID)
	host, _ := os.Hostname()
	bus, err := amqpbus.New(amqpbus.Config{
		URLs:           cfg.AMQPURLs,
		Prefix:         cfg.Prefix,
		Batching:       cfg.Batching,
		ConnectionName: connName(fmt.Sprintf("callgw worker %s %s", cfg.NodeID, host), cfg.Prefix),
		Log:            log,
	})
	if err != nil {
		return nil, err
	}
	wm := newWorkerMetrics()
	keys := &keyed{node: node, log: log.Named("journal").With(zap.String("node", cfg.NodeID)), now: time.Now}
	sink := &journalSink{bus: bus, k: keys}
	pbx, err := asterisk.NewPBX(asterisk.Config{
		Node: node, URL: cfg.ARIURL, User: cfg.ARIUser, Password: cfg.ARIPassword,
		App: cfg.ARIApp, Tenant: cfg.Tenant, Log: log, Observer: wm,
	}, sink)
	if err != nil {
		return nil, err
	}
	rules := cfg.Rules()
	keys.pbx, keys.next, keys.rules = pbx, &worker.Executor{Node: node, PBX: pbx, Rules: rules}, rules
	work := &worker.InFlight{Next: metered{next: keys, m: wm}}
	if err := bus.ServeCommands(node, work, amqpbus.ServeOptions{Concurrency: cfg.Concurrency}); err != nil {
		return nil, err
	}
	ann := worker.NewAnnouncer(node, pbx, bus, cfg.HeartbeatInterval, cfg.Concurrency)
	ann.Events = bus
	ann.OnError = func(err error) { log.Warn("heartbeat not published", zap.String("node", cfg.NodeID), zap.Error(err)) }
	w := &Worker{cfg: cfg, log: log.With(zap.String("node", cfg.NodeID)), bus: bus, pbx: pbx, ann: ann, work: work, metrics: newMetrics(), wm: wm, keys: keys, sink: sink}
	registerBus(w.metrics, bus)
	if err := w.Register(w.metrics); err != nil {
		return nil, err
	}
	return w, nil
}

// Register adds the worker's own metrics (commands per action, ARI
// requests and counters, call outcomes; not the bus's, which a gateway in
// the same process exports under the same names) to r: callgw dev serves
// them on the gateway's ops endpoint.
func (w *Worker) Register(r prometheus.Registerer) error {
	for _, c := range w.wm.collectors() {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return registerPBX(r, w.pbx)
}

// Run runs the worker until ctx ends (or one of its parts fails), then
// stops it in order (see stop). Run owns every part's context and is the
// only one to cancel them, in the stop's order; no part stops another.
func (w *Worker) Run(ctx context.Context) error {
	// Each part lives until the stop ends it; none inherits ctx.
	base := context.WithoutCancel(ctx)
	annCtx, stopAnn := context.WithCancel(base)
	busCtx, stopBus := context.WithCancel(base)
	pbxCtx, stopPBX := context.WithCancel(base) // also the ops endpoint and the journal's pruning
	defer stopAnn()
	defer stopBus()
	defer stopPBX()
	// failed ends when a part fails: the worker stops at once, without
	// draining (its commands cannot complete).
	failed, fail := context.WithCancelCause(context.Background())
	defer fail(nil)
	var (
		errMu    sync.Mutex
		firstErr error
	)
	report := func(err error) {
		if err == nil {
			return
		}
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		fail(err)
	}
	var pbxParts, busPart, annParts sync.WaitGroup
	if err := w.openJournal(pbxCtx, &pbxParts); err != nil {
		return err
	}
	pbxParts.Add(2)
	go func() {
		defer pbxParts.Done()
		err := w.pbx.Run(pbxCtx)
		report(err)
		fail(errors.New("ARI adapter stopped")) // before the stop: a failure
	}()
	go func() {
		defer pbxParts.Done()
		report(serveOps(pbxCtx, w.cfg.MetricsAddr, w.metrics, w.Ready, w.log))
	}()
	busPart.Add(1)
	go func() {
		defer busPart.Done()
		err := w.bus.Run(busCtx)
		report(err)
		fail(errors.New("bus stopped"))
	}()
	annParts.Add(1)
	go func() {
		defer annParts.Done()
		if err := w.bus.Ready(annCtx); err != nil || !w.awaitServing(annCtx) {
			return // stopping before the broker answered
		}
		w.log.Info("worker up", zap.String("ari", w.cfg.ARIURL), zap.String("app", w.cfg.ARIApp))
		annParts.Add(1)
		go func() {
			defer annParts.Done()
			if w.pbx.Ready(annCtx) == nil {
				w.keys.closeLost(annCtx, w.sink)
			}
		}()
		report(w.ann.Run(annCtx))
	}()

	graceful := true
	select {
	case <-ctx.Done():
	case <-failed.Done():
		graceful = false
	}
	stop(failed, stopSteps{
		log:              w.log,
		drainTimeout:     DrainTimeout,
		announceDraining: w.ann.Drain,
		stopAny:          w.bus.StopAny,
		waitInFlight:     w.work.Wait,
		running:          w.work.Running,
		announceDown:     func() { stopAnn(); annParts.Wait() },
		closeBus:         func() { stopBus(); busPart.Wait() },
		closeARI:         func() { stopPBX(); pbxParts.Wait() },
	}, graceful)
	if cerr := w.keys.j.Close(); cerr != nil {
		w.log.Warn("idempotency journal not closed cleanly", zap.Error(cerr))
	}
	errMu.Lock()
	err := firstErr
	errMu.Unlock()
	w.log.Info("worker stopped", zap.Error(err))
	return err
}

// stopSteps are the steps of a worker's stop; each returns once done.
type stopSteps struct {
	log          *zap.Logger
	drainTimeout time.Duration
	// announceDraining makes the heartbeats say draining: gateways send
	// the node no new calls but still route commands for its calls.
	announceDraining func()
	// stopAny stops taking shared work (the any-node queue).
	stopAny func()
	// waitInFlight waits for the commands in flight (false: ctx ended
	// first); running counts them.
	waitInFlight func(ctx context.Context) bool
	running      func() int64
	// announceDown stops the announcer, which publishes node.down with
	// the last heartbeat.
	announceDown func()
	// closeBus stops the bus: it finishes and acks what is left, then
	// closes its connection.
	closeBus func()
	// closeARI stops the ARI adapter (and the ops endpoint).
	closeARI func()
}

// stop runs a worker's stop in order: announce draining, stop taking
// shared work, wait for the commands in flight (bounded by
// s.drainTimeout, or until failed ends) while the node's own queue is still
// served (its calls stay controllable), then announce node.down, close the
// bus, and only then close ARI. A stop after a failure (graceful false)
// skips the drain: the commands in flight cannot complete.
func stop(failed context.Context, s stopSteps, graceful bool) {
	if graceful {
		s.log.Info("worker draining")
		s.announceDraining()
		s.stopAny()
		dctx, cancel := context.WithTimeout(failed, s.drainTimeout)
		if !s.waitInFlight(dctx) && failed.Err() == nil {
			s.log.Warn("commands still running after the drain timeout", zap.Int64("commands", s.running()))
		}
		cancel()
	}
	s.announceDown()
	s.closeBus()
	s.closeARI()
}

// connName is an AMQP connection name, with the deployment's prefix when
// it has one: several deployments on one broker (and fault tests, which
// close their own connections by name) tell theirs apart.
func connName(name, prefix string) string {
	if prefix == "" {
		return name
	}
	return name + " " + strings.TrimSuffix(prefix, ".")
}

// awaitServing waits until the node queue is consumed: the first heartbeat
// ("up") must not precede it, or the gateways' first commands for this node
// would find no queue (node_unavailable).
func (w *Worker) awaitServing(ctx context.Context) bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !w.bus.State().Serving {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// Ready reports whether the worker serves: broker connected, node queue
// consumed and ARI up.
func (w *Worker) Ready() error {
	if st := w.bus.State(); !st.Connected {
		return errors.New("not connected to the broker")
	} else if !st.Serving {
		return errors.New("not consuming its node queue")
	}
	info, err := w.pbx.Info(context.Background())
	if err != nil {
		return err
	}
	if !info.Healthy {
		return errors.New(info.Reason)
	}
	return nil
}

// PBX returns the worker's ARI adapter.
func (w *Worker) PBX() *asterisk.PBX { return w.pbx }

// Bus returns the worker's bus.
func (w *Worker) Bus() *amqpbus.Bus { return w.bus }
