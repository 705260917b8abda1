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
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/asterisk/journal"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/gateway"
)

// Worker is one worker: the bus, the PBX adapter, the executor and the
// heartbeat announcer.
type Worker struct {
	cfg  *config.Worker
	log  *zap.Logger
	bus  *amqpbus.Bus
	pbx  *asterisk.PBX
	ann  *gateway.Announcer
	work *gateway.InFlight
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

// openJournal opens the worker's journal and starts pruning it (every
// tenth of the window, at most every 10 minutes) until ctx ends. Run closes
// it once everything stopped.
func (w *Worker) openJournal(ctx context.Context, g *errgroup.Group) error {
	window := w.cfg.IdempotencyWindow
	if window <= 0 {
		window = 24 * time.Hour
	}
	path := JournalPath(w.cfg.StateDir, w.cfg.Prefix, w.cfg.NodeID)
	j, err := journal.Open(path, window, uuid.NewString())
	if err != nil {
		return err
	}
	w.keys.j = j
	if j.Durable() {
		w.log.Info("idempotency journal open", zap.String("path", path), zap.Int("records", j.Len()), zap.Duration("window", window))
	} else {
		w.log.Warn("idempotency journal in memory only (no state directory): a retry after this worker's restart may place a second call")
	}
	g.Go(func() error {
		t := time.NewTicker(min(window/10, 10*time.Minute))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if n, err := j.Prune(); err != nil {
					w.log.Warn("idempotency journal: prune failed", zap.Error(err))
				} else if n > 0 {
					w.log.Info("idempotency journal pruned", zap.Int("records", n))
				}
			}
		}
	})
	return nil
}

// DrainTimeout bounds how long a stopping worker waits for its commands in
// flight (a wait=answered originate holds its command until answered)
// before it announces node.down and closes.
const DrainTimeout = 30 * time.Second

// NewWorker builds a worker; it does no I/O until Run.
func NewWorker(cfg *config.Worker, log *zap.Logger) (*Worker, error) {
	node := gateway.NodeID(cfg.NodeID)
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
	keys.pbx, keys.next = pbx, &gateway.Executor{Node: node, PBX: pbx, Rules: cfg.Rules()}
	work := &gateway.InFlight{Next: metered{next: keys, m: wm}}
	if err := bus.ServeCommands(node, work, amqpbus.ServeOptions{Concurrency: cfg.Concurrency}); err != nil {
		return nil, err
	}
	ann := gateway.NewAnnouncer(node, pbx, bus, cfg.HeartbeatInterval, cfg.Concurrency)
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

// Run runs the worker until ctx ends, then shuts down in order: announce
// draining and stop taking shared work, wait for the commands in flight
// (bounded by DrainTimeout) while still serving the node's own queue (its
// calls stay controllable: the gateway routes to a draining node), then
// announce node.down with the last heartbeat, let the bus finish and ack
// what is left, and only then close ARI.
func (w *Worker) Run(ctx context.Context) error {
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBus()
	pbxCtx, stopPBX := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPBX()
	g, gctx := errgroup.WithContext(context.Background())
	annCtx, stopAnn := context.WithCancel(context.WithoutCancel(ctx)) // stopped after Drain
	defer stopAnn()
	if err := w.openJournal(pbxCtx, g); err != nil {
		return err
	}
	g.Go(func() error {
		defer stopBus()
		return w.pbx.Run(pbxCtx)
	})
	g.Go(func() error {
		defer stopPBX()
		return w.bus.Run(busCtx)
	})
	g.Go(func() error {
		if err := w.bus.Ready(annCtx); err != nil || !w.awaitServing(annCtx) {
			stopBus() // shutting down before the broker answered
			return nil
		}
		w.log.Info("worker up", zap.String("ari", w.cfg.ARIURL), zap.String("app", w.cfg.ARIApp))
		g.Go(func() error {
			if w.pbx.Ready(annCtx) == nil {
				w.keys.closeLost(annCtx, w.sink)
			}
			return nil
		})
		err := w.ann.Run(annCtx)
		stopBus() // after the last heartbeat: drain in-flight commands, close
		return err
	})
	g.Go(func() error {
		return serveOps(pbxCtx, w.cfg.MetricsAddr, w.metrics, w.Ready, w.log)
	})
	g.Go(func() error {
		select {
		case <-ctx.Done():
			w.log.Info("worker draining")
			w.ann.Drain()
			w.bus.StopAny()
			dctx, cancel := context.WithTimeout(gctx, DrainTimeout)
			if !w.work.Wait(dctx) && gctx.Err() == nil {
				w.log.Warn("commands still running after the drain timeout", zap.Int64("commands", w.work.Running()))
			}
			cancel()
			stopAnn()
		case <-gctx.Done():
			stopAnn()
			stopBus()
		}
		return nil
	})
	err := g.Wait()
	if cerr := w.keys.j.Close(); cerr != nil {
		w.log.Warn("idempotency journal not closed cleanly", zap.Error(cerr))
	}
	w.log.Info("worker stopped", zap.Error(err))
	return err
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
