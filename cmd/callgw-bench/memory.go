package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// scale holds --scale-calls calls up at once and measures what each live
// call costs the worker and the gateway.
func (b *bench) scale(ctx context.Context) error {
	n := b.o.ScaleCalls
	if n == 0 {
		return nil
	}
	e := b.e
	if err := b.waitCalls(ctx, 0, 30*time.Second); err != nil {
		return err
	}
	s := &Scale{Calls: n}
	b.res.Scale = s
	var err error
	if s.Worker.Before, s.Gateway.Before, err = b.snapshot(ctx, ""); err != nil {
		return err
	}
	simRSS0, _ := rssBytes(e.sim.pid())
	b.log.Info("scale: placing calls", zap.Int("calls", n))
	ids, rate, err := b.upCalls(ctx, n, 64)
	if err != nil {
		return err
	}
	s.OriginatePerS = rate
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		r, err := b.downCalls(dctx, ids, 64)
		s.HangupPerS = r
		if err != nil {
			b.fail("scale cleanup", err)
		}
	}()
	if s.LiveAtPeak, err = b.liveCalls(ctx); err != nil {
		return err
	}
	if s.Worker.After, s.Gateway.After, err = b.snapshot(ctx, ""); err != nil {
		return err
	}
	simRSS1, _ := rssBytes(e.sim.pid())
	per := func(p *PerCall) {
		p.HeapBytes = (p.After.HeapBytes - p.Before.HeapBytes) / float64(n)
		p.RSSBytes = (p.After.RSSBytes - p.Before.RSSBytes) / float64(n)
		p.Goroutines = (p.After.Goroutines - p.Before.Goroutines) / float64(n)
	}
	per(&s.Worker)
	per(&s.Gateway)
	s.SimulatorRSS = (simRSS1 - simRSS0) / float64(n)
	b.log.Info("scale", zap.Float64("live", s.LiveAtPeak), zap.Float64("worker_heap_per_call", round(s.Worker.HeapBytes)),
		zap.Float64("worker_goroutines_per_call", round3(s.Worker.Goroutines)), zap.Float64("gateway_heap_per_call", round(s.Gateway.HeapBytes)))
	return nil
}

// snapshot reads worker's and gateway's heap, RSS and goroutines after a
// GC. The harness's idle keep-alive connections are closed first: each
// holds a goroutine in the gateway, which is not the gateway's own state.
// With a profile directory and a name, heap profiles are saved too.
func (b *bench) snapshot(ctx context.Context, name string) (worker, gw MemSnap, err error) {
	e := b.e
	e.http.CloseIdleConnections()
	select { // let the servers see the closed connections
	case <-ctx.Done():
		return worker, gw, ctx.Err()
	case <-time.After(300 * time.Millisecond):
	}
	if worker, err = memSnap(ctx, e.http, e.workerOps); err != nil {
		return worker, gw, err
	}
	if gw, err = memSnap(ctx, e.http, e.gwOps); err != nil {
		return worker, gw, err
	}
	if b.o.ProfileDir != "" && name != "" {
		for proc, base := range map[string]string{"worker": e.workerOps, "gateway": e.gwOps} {
			for _, x := range []struct{ path, file string }{
				{"/debug/pprof/heap", ".heap.pprof"},
				{"/debug/pprof/goroutine?debug=1", ".goroutines.txt"},
			} {
				body, err := do(ctx, e.http, http.MethodGet, base+x.path, nil, http.StatusOK, "", "")
				if err == nil {
					err = os.WriteFile(filepath.Join(b.o.ProfileDir, proc+"."+name+x.file), body, 0o644)
				}
				if err != nil {
					b.log.Warn("profile not saved", zap.String("process", proc), zap.String("path", x.path), zap.Error(err))
				}
			}
		}
		e.http.CloseIdleConnections()
	}
	return worker, gw, nil
}

// soakSettle is how long the soak waits after its last call before the
// final snapshot: the worker's idle runners exit after 10 s (amqpbus).
const soakSettle = 11 * time.Second

// soakWarmup is how many lifecycles precede the soak's first snapshot:
// 12,000 commands, more than the worker's memory of 10,000 command ids.
const soakWarmup = 6000

// soak runs --soak-calls lifecycles in two halves and snapshots the
// worker's and the gateway's memory before, between and after, in steady
// states.
func (b *bench) soak(ctx context.Context) error {
	n := b.o.SoakCalls
	if n == 0 {
		return nil
	}
	e := b.e
	if err := b.waitCalls(ctx, 0, time.Minute); err != nil {
		return err
	}
	s := &Soak{}
	b.res.Soak = s
	sub, err := e.subscribe(ctx, tenant+".#")
	if err != nil {
		return err
	}
	defer sub.close()
	// A leak test compares steady states: first a warm-up that fills the
	// worker's bounded memory of recent commands (10,000 ids, two per
	// lifecycle), then the settle time that lets the command runners of
	// the scenarios before exit; only then the "before" snapshot.
	warm := min(soakWarmup, n/4)
	b.log.Info("soak warm-up", zap.Int("lifecycles", warm))
	if w := b.lifecycles(ctx, sub, warm); w.Errors > 0 {
		return fmt.Errorf("soak warm-up: %d of %d lifecycles failed; first: %v", w.Errors, warm, w.FirstErr)
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	if s.Worker[0], s.Gateway[0], err = b.snapshot(ctx, "soak-before"); err != nil {
		return err
	}
	b.log.Info("soak", zap.Int("lifecycles", n), zap.Int("inflight", b.o.ChurnInflight))
	start := time.Now()
	first, err := b.soakHalves(ctx, sub, s, n)
	if err != nil {
		return err
	}
	s.CallsPerS = float64(s.Calls) / time.Since(start).Seconds()
	if err := b.settle(ctx); err != nil {
		return err
	}
	if s.Worker[1], s.Gateway[1], err = b.snapshot(ctx, "soak-after"); err != nil {
		return err
	}
	b.heapDiff("soak-before", "soak-after")
	b.heapDiff("soak-mid", "soak-after")
	b.log.Info("soak done", zap.Int64("calls", s.Calls), zap.Float64("calls_per_s", round(s.CallsPerS)), zap.Int64("errors", s.Errors),
		zap.Float64("worker_goroutines_delta", s.Worker[1].Goroutines-s.Worker[0].Goroutines),
		zap.Float64("worker_heap_ratio", round3(ratio(s.Worker[1].HeapBytes, s.Worker[0].HeapBytes))))
	if s.Errors > 0 {
		return fmt.Errorf("%d of %d lifecycles failed; first: %v", s.Errors, n, first)
	}
	return nil
}

// soakHalves runs the soak's n lifecycles in two halves with a snapshot
// between: growth in the first half that stops in the second is a
// bounded cache filling up, not a leak. It counts into s and returns the
// first lifecycle error.
func (b *bench) soakHalves(ctx context.Context, sub *subscriber, s *Soak, n int) (first, err error) {
	for half, ops := range []int{n / 2, n - n/2} {
		w := b.lifecycles(ctx, sub, ops)
		s.Calls, s.Errors = s.Calls+w.OK, s.Errors+w.Errors
		if w.FirstErr != nil && first == nil {
			first = w.FirstErr
		}
		if err := ctx.Err(); err != nil {
			return first, err
		}
		if half == 0 {
			if err := b.waitCalls(ctx, 0, time.Minute); err != nil {
				return first, err
			}
			if s.WorkerMid, s.GatewayMid, err = b.snapshot(ctx, "soak-mid"); err != nil {
				return first, err
			}
		}
	}
	return first, nil
}

// lifecycles runs ops call lifecycles, --churn-inflight at a time.
func (b *bench) lifecycles(ctx context.Context, sub *subscriber, ops int) window {
	return closedLoop(ctx, b.o.ChurnInflight, 24*time.Hour, int64(ops), opTimeout, func(ctx context.Context, _ int, _ int64) error {
		return b.e.lifecycle(ctx, sub)
	})
}

// settle waits for the calls to end and the worker's idle command
// runners to exit (they outlive a burst by runnerIdle, 10 s, by design:
// a warm pool): the steady state a reading is about.
func (b *bench) settle(ctx context.Context) error {
	if err := b.waitCalls(ctx, 0, time.Minute); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(soakSettle):
		return nil
	}
}
