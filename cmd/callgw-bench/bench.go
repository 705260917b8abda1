package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"
)

// opTimeout bounds every single request of the load loops.
const opTimeout = 15 * time.Second

// bench runs the scenarios on one env.
type bench struct {
	e   *env
	o   options
	log *zap.Logger
	res *Results
	ids []string // calls kept up for the command path
}

func (b *bench) fail(scenario string, err error) {
	b.log.Error("scenario failed", zap.String("scenario", scenario), zap.Error(err))
	b.res.Errors = append(b.res.Errors, scenario+": "+err.Error())
}

// runBench starts the system, runs every scenario and stops the system.
// It returns what it measured even when a scenario failed.
func runBench(ctx context.Context, o options, argv0, self []string, log *zap.Logger) (*Results, error) {
	mode := "full"
	if o.Quick {
		mode = "quick"
	}
	res := &Results{Started: time.Now().UTC(), Mode: mode, Options: o, Machine: machine(), CPU: map[string]CPUSplit{}}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e, err := startEnv(ctx, o, argv0, self, log, func(err error) { cancel(err) })
	if err != nil {
		return nil, err // startEnv stopped what it started
	}
	res.Prefix = e.prefix
	res.Machine.RabbitMQ = e.rabbitVersion
	b := &bench{e: e, o: o, log: log, res: res}
	runErr := b.all(ctx)
	if c := context.Cause(ctx); c != nil && runErr == nil && !errors.Is(c, context.Canceled) {
		runErr = c
	}
	if runErr == nil && len(res.Errors) > 0 {
		runErr = fmt.Errorf("%d scenario(s) failed: %s", len(res.Errors), strings.Join(res.Errors, "; "))
	}
	if err := e.close(runErr == nil); err != nil {
		runErr = errors.Join(runErr, err)
	}
	res.Machine.LoadAvg[1] = loadavg()
	evaluate(res)
	return res, runErr
}

// all runs the scenarios in order; it stops at the first error that
// leaves the system unusable (ctx ended), else records and goes on.
func (b *bench) all(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"command path", b.commandPath},
		{"churn", b.churn},
		{"events", b.events},
		{"scale", b.scale},
		{"soak", b.soak},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", s.name, context.Cause(ctx))
		}
		if err := s.fn(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w (%v)", s.name, context.Cause(ctx), err)
			}
			b.fail(s.name, err)
		}
	}
	return nil
}

// windowFunc runs one closed-loop window of inflight requests for d.
type windowFunc func(ctx context.Context, inflight int, d time.Duration) window

// local runs op in the harness's own closed loop.
func local(op opFunc) windowFunc {
	return func(ctx context.Context, inflight int, d time.Duration) window {
		return closedLoop(ctx, inflight, d, 0, opTimeout, op)
	}
}

// point measures one closed-loop level: warm-up, then o.Reps windows.
// When cpu is set, the CPU split of the measured windows is recorded.
func (b *bench) point(ctx context.Context, inflight int, cpu string, run windowFunc) Point {
	run(ctx, inflight, b.o.Warmup)
	var rates, p50, p90, p99 []float64
	p := Point{Inflight: inflight}
	var meter *cpuMeter
	if cpu != "" {
		meter = newCPUMeter(b.e.pids())
	}
	for range b.o.Reps {
		w := run(ctx, inflight, b.o.Duration)
		rates = append(rates, w.Rate())
		p50 = append(p50, ms(percentile(w.Lat, 50)))
		p90 = append(p90, ms(percentile(w.Lat, 90)))
		p99 = append(p99, ms(percentile(w.Lat, 99)))
		p.Requests += w.OK
		p.Errors += w.Errors
		if w.FirstErr != nil && p.FirstError == "" {
			p.FirstError = w.FirstErr.Error()
		}
	}
	if meter != nil && ctx.Err() == nil {
		b.res.CPU[cpu] = meter.stop(p.Requests, runtime.NumCPU())
	}
	p.Rate, p.P50, p.P90, p.P99 = spread(rates), spread(p50), spread(p90), spread(p99)
	return p
}

// upCalls originates n calls through REST, inflight at a time, and
// returns their ids (in no particular order) and the originate rate.
func (b *bench) upCalls(ctx context.Context, n, inflight int) ([]string, float64, error) {
	ids := make([]string, n)
	w := closedLoop(ctx, min(inflight, n), 24*time.Hour, int64(n), opTimeout, func(ctx context.Context, _ int, seq int64) error {
		id, err := b.e.originate(ctx)
		ids[seq] = id
		return err
	})
	if w.Errors > 0 {
		return nil, 0, fmt.Errorf("%d of %d originates failed; first: %v", w.Errors, n, w.FirstErr)
	}
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	return ids, w.Rate(), nil
}

// downCalls hangs up ids through REST and returns the hang-up rate.
func (b *bench) downCalls(ctx context.Context, ids []string, inflight int) (float64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	w := closedLoop(ctx, min(inflight, len(ids)), 24*time.Hour, int64(len(ids)), opTimeout, func(ctx context.Context, _ int, seq int64) error {
		return b.e.hangup(ctx, ids[seq])
	})
	if w.Errors > 0 {
		return 0, fmt.Errorf("%d of %d hangups failed; first: %v", w.Errors, len(ids), w.FirstErr)
	}
	return w.Rate(), ctx.Err()
}

// liveCalls is the worker's count of live calls.
func (b *bench) liveCalls(ctx context.Context) (float64, error) {
	m, err := scrape(ctx, b.e.http, b.e.workerOps+"/metrics", mCalls)
	return m[mCalls], err
}

// waitCalls waits until the worker reports want live calls.
func (b *bench) waitCalls(ctx context.Context, want float64, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		n, err := b.liveCalls(ctx)
		if err == nil && n == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker reports %v live calls, want %v (%v)", n, want, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func round(x float64) float64  { return float64(int64(x + 0.5)) }
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
