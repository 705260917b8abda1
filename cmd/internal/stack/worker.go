// Package stack wires callgw's processes from their packages: a Worker is
// the bus, the PBX adapter, the executor and the heartbeat announcer of one
// node; a Gateway is the bus, the node registry, the location cache, the
// domain service and the REST server. cmd/callgw and the benchmarks run the
// same wiring.
package stack

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/gateway"
)

// Worker is one worker: the bus, the PBX adapter, the executor and the
// heartbeat announcer.
type Worker struct {
	cfg *config.Worker
	log *zap.Logger
	bus *amqpbus.Bus
	pbx *asterisk.PBX
	ann *gateway.Announcer
	// metrics is the worker's registry (its ops endpoint); wm its
	// command, ARI and outcome metrics.
	metrics *prometheus.Registry
	wm      *workerMetrics
}

// NewWorker builds a worker; it does no I/O until Run.
func NewWorker(cfg *config.Worker, log *zap.Logger) (*Worker, error) {
	node := gateway.NodeID(cfg.NodeID)
	host, _ := os.Hostname()
	bus, err := amqpbus.New(amqpbus.Config{
		URLs:           cfg.AMQPURLs,
		Prefix:         cfg.Prefix,
		Batching:       cfg.Batching,
		ConnectionName: fmt.Sprintf("callgw worker %s %s", cfg.NodeID, host),
		Log:            log,
	})
	if err != nil {
		return nil, err
	}
	wm := newWorkerMetrics()
	pbx, err := asterisk.NewPBX(asterisk.Config{
		Node: node, URL: cfg.ARIURL, User: cfg.ARIUser, Password: cfg.ARIPassword,
		App: cfg.ARIApp, Tenant: cfg.Tenant, Log: log, Observer: wm,
	}, bus)
	if err != nil {
		return nil, err
	}
	exec := &gateway.Executor{Node: node, PBX: pbx}
	if err := bus.ServeCommands(node, metered{next: exec, m: wm}, amqpbus.ServeOptions{Concurrency: cfg.Concurrency}); err != nil {
		return nil, err
	}
	ann := gateway.NewAnnouncer(node, pbx, bus, cfg.HeartbeatInterval, cfg.Concurrency)
	ann.Events = bus
	ann.OnError = func(err error) { log.Warn("heartbeat not published", zap.String("node", cfg.NodeID), zap.Error(err)) }
	w := &Worker{cfg: cfg, log: log.With(zap.String("node", cfg.NodeID)), bus: bus, pbx: pbx, ann: ann, metrics: newMetrics(), wm: wm}
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
// draining and stop taking shared work, send the last heartbeat, let the
// bus finish and ack in-flight commands, and only then close ARI.
func (w *Worker) Run(ctx context.Context) error {
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBus()
	pbxCtx, stopPBX := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPBX()
	g, gctx := errgroup.WithContext(context.Background())
	annCtx, stopAnn := context.WithCancel(context.WithoutCancel(ctx)) // stopped after Drain
	defer stopAnn()
	g.Go(func() error {
		defer stopBus()
		return w.pbx.Run(pbxCtx)
	})
	g.Go(func() error {
		defer stopPBX()
		return w.bus.Run(busCtx)
	})
	g.Go(func() error {
		if err := w.bus.Ready(annCtx); err != nil {
			return nil // shutting down before the broker answered
		}
		w.log.Info("worker up", zap.String("ari", w.cfg.ARIURL), zap.String("app", w.cfg.ARIApp))
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
			stopAnn()
		case <-gctx.Done():
			stopAnn()
			stopBus()
		}
		return nil
	})
	err := g.Wait()
	w.log.Info("worker stopped", zap.Error(err))
	return err
}

// Ready reports whether the worker serves: broker connected and ARI up.
func (w *Worker) Ready() error {
	if !w.bus.State().Connected {
		return errors.New("not connected to the broker")
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
