package worker

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/internal/ops"
)

var uuidString = uuid.NewString

// Run runs the worker until ctx ends (or one of its parts fails), then
// stops it in order (see stop). Run owns every part's context and is the
// only one to cancel them, in the stop's order; no part stops another.
// The parts run in three stages, one errgroup each, which the stop ends in
// turn: the announcer, the bus, then ARI (with the ops endpoint and the
// journal's pruning).
func (w *Worker) Run(ctx context.Context) error {
	j, err := w.openJournal()
	if err != nil {
		return err
	}
	// failed ends when a part fails: the worker stops at once.
	failed, fail := context.WithCancelCause(context.Background())
	defer fail(nil)
	base := context.WithoutCancel(ctx) // each part lives until the stop ends it
	ann, bus, pbx := newStage(base, fail), newStage(base, fail), newStage(base, fail)
	defer ann.stop()
	defer bus.stop()
	defer pbx.stop()
	pbx.goPart(false, func(ctx context.Context) error { w.prune(ctx, j); return nil })
	pbx.goPart(true, w.p.PBX.Run)
	pbx.goPart(false, func(ctx context.Context) error { return ops.Serve(ctx, w.p.OpsAddr, w.ops, w.Ready, w.log) })
	bus.goPart(true, w.p.Bus.Run)
	ann.goPart(false, func(ctx context.Context) error { return w.announce(ctx, &ann.eg) })

	graceful := true
	select {
	case <-ctx.Done():
	case <-failed.Done():
		graceful = false
	}
	var errs [3]error
	stop(failed, stopSteps{
		log:              w.log,
		drainTimeout:     DrainTimeout,
		announceDraining: w.p.Announcer.Drain,
		stopAny:          w.p.Bus.StopAny,
		waitInFlight:     w.p.InFlight.Wait,
		running:          w.p.InFlight.Running,
		announceDown:     func() { errs[0] = ann.end() },
		closeBus:         func() { errs[1] = bus.end() },
		closeARI:         func() { errs[2] = pbx.end() },
	}, graceful)
	if cerr := j.Close(); cerr != nil {
		w.log.Warn("idempotency journal not closed cleanly", zap.Error(cerr))
	}
	err = firstErr(failed, errs[:])
	w.log.Info("worker stopped", zap.Error(err))
	return err
}

// firstErr is the error Run returns: the failure that stopped the worker,
// else the first error of a part during the stop; none when a part only
// ended early (errStopped).
func firstErr(failed context.Context, errs []error) error {
	if err := context.Cause(failed); failed.Err() != nil && !errors.Is(err, errStopped) {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prune prunes the journal until ctx ends.
func (w *Worker) prune(ctx context.Context, j interface {
	RunPruning(ctx context.Context, report func(int, error))
}) {
	j.RunPruning(ctx, func(n int, err error) {
		if err != nil {
			w.log.Warn("idempotency journal: prune failed", zap.Error(err))
		} else {
			w.log.Info("idempotency journal pruned", zap.Int("records", n))
		}
	})
}

// announce sends the heartbeats once the node queue is consumed, and
// closes the calls lost while the worker was down once ARI is up.
func (w *Worker) announce(ctx context.Context, eg *errgroup.Group) error {
	if err := w.p.Bus.Ready(ctx); err != nil || !w.awaitServing(ctx) {
		return nil // stopping before the broker answered
	}
	w.log.Info("worker up", zap.String("ari", w.p.ARIURL), zap.String("app", w.p.App))
	eg.Go(func() error {
		if w.p.PBX.Ready(ctx) == nil {
			w.p.Keyed.closeLost(ctx, w.p.PBX)
		}
		return nil
	})
	return w.p.Announcer.Run(ctx)
}

// errStopped marks a part that ended before the stop: the worker stops at
// once, without draining (its commands cannot complete).
var errStopped = errors.New("worker: a part stopped")

// stage is the parts a step of the stop ends together: they run under ctx
// until stop cancels it, and a part's end before that is a failure.
type stage struct {
	ctx  context.Context
	stop context.CancelFunc
	eg   errgroup.Group
	fail context.CancelCauseFunc
}

func newStage(base context.Context, fail context.CancelCauseFunc) *stage {
	ctx, stop := context.WithCancel(base)
	return &stage{ctx: ctx, stop: stop, fail: fail}
}

// goPart runs part in the stage; when it fails, or (lives) ends while the
// stage lives, the worker fails.
func (s *stage) goPart(lives bool, part func(ctx context.Context) error) {
	s.eg.Go(func() error {
		err := part(s.ctx)
		if err != nil {
			s.fail(err)
		} else if lives && s.ctx.Err() == nil {
			s.fail(errStopped)
		}
		return err
	})
}

// end cancels the stage and waits for its parts.
func (s *stage) end() error {
	s.stop()
	return s.eg.Wait()
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

// awaitServing waits until the node queue is consumed: the first heartbeat
// ("up") must not precede it, or the gateways' first commands for this node
// would find no queue (node_unavailable).
func (w *Worker) awaitServing(ctx context.Context) bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !w.p.Bus.State().Serving {
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
	if st := w.p.Bus.State(); !st.Connected {
		return errors.New("not connected to the broker")
	} else if !st.Serving {
		return errors.New("not consuming its node queue")
	}
	info, err := w.p.PBX.Info(context.Background())
	if err != nil {
		return err
	}
	if !info.Healthy {
		return errors.New(info.Reason)
	}
	return nil
}

// PBX returns the worker's ARI adapter.
func (w *Worker) PBX() *asterisk.PBX { return w.p.PBX }

// Bus returns the worker's bus.
func (w *Worker) Bus() *amqpbus.Bus { return w.p.Bus }
