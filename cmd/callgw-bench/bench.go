package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
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
func runBench(ctx context.Context, o options, argv0 []string, log *zap.Logger) (*Results, error) {
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
	e, err := startEnv(ctx, o, argv0, log, func(err error) { cancel(err) })
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

func (b *bench) commandPath(ctx context.Context) error {
	e := b.e
	b.log.Info("command path: placing calls", zap.Int("calls", b.o.Calls))
	ids, _, err := b.upCalls(ctx, b.o.Calls, 32)
	if err != nil {
		return err
	}
	b.ids = ids
	defer func() {
		// Long-lived calls would distort the later scenarios.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := b.downCalls(dctx, ids, 32); err != nil {
			b.fail("command path cleanup", err)
		}
	}()
	// The payloads of the bare loop: a call.get command and its reply,
	// the same sizes as those the gateway and the worker exchange.
	body, err := e.getCall(ctx, ids[0])
	if err != nil {
		return err
	}
	if err := e.setVariable(ctx, ids[0]); err != nil {
		return fmt.Errorf("PUT variable (this build of callgw must have the route): %w", err)
	}
	var call json.RawMessage = body
	cmd, _ := json.Marshal(&callapi.Command{ID: uuid.NewString(), Action: callapi.ActCallGet, Tenant: tenant, CallID: callapi.CallID(ids[0])})
	rep, _ := json.Marshal(callapi.OKReply(uuid.NewString(), node, call))
	b.res.CommandB, b.res.ReplyB = len(cmd), len(rep)
	prefetch := 64
	for _, n := range b.o.Inflight {
		prefetch = max(prefetch, n)
	}
	bare, err := newBareRPC(ctx, b.o.AMQPURL, "callgw-bench bare rpc "+e.prefix, cmd, rep, prefetch)
	if err != nil {
		return fmt.Errorf("bare rpc: %w", err)
	}
	defer bare.close()

	// Every contender spreads its requests over the same calls.
	pick := func(seq int64) string { return ids[int(seq%int64(len(ids)))] }
	putOp := func(ctx context.Context, _ int, seq int64) error { return e.setVariable(ctx, pick(seq)) }
	run := map[string]windowFunc{
		"callgw_put": local(putOp),
		"callgw_get": local(func(ctx context.Context, _ int, seq int64) error {
			_, err := e.getCall(ctx, pick(seq))
			return err
		}),
		"bare_rpc":       local(func(ctx context.Context, _ int, _ int64) error { return bare.call(ctx) }),
		"direct_ari_put": local(func(ctx context.Context, _ int, seq int64) error { return e.ariSetVariable(ctx, pick(seq)) }),
		"direct_ari_get": local(func(ctx context.Context, _ int, seq int64) error { return e.ariGet(ctx, pick(seq)) }),
	}
	b.res.AriProxySkipped = e.apxSkipped
	if e.apxSkipped == "" {
		run["ariproxy_nats"] = func(ctx context.Context, inflight int, d time.Duration) window {
			return e.apxWindow(ctx, ids, inflight, d)
		}
	}
	// Contenders alternate at each level, so that all see the same
	// machine; a point is measured only while ctx lasts.
	for _, n := range b.o.Inflight {
		for _, c := range b.res.contenders() {
			fn := run[c.tag]
			if fn == nil {
				continue // skipped, and said so at the start
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cpuTag := ""
			if n == 64 {
				cpuTag = c.tag + "@64"
			}
			p := b.point(ctx, n, cpuTag, fn)
			if ctx.Err() != nil {
				return ctx.Err() // a window cut short is not a measurement
			}
			*c.points = append(*c.points, p)
			b.logPoint(c.label, p)
			if n == 64 && c.tag == "callgw_put" && b.o.ProfileDir != "" {
				if err := b.profile(ctx, putOp, "", 64); err != nil {
					b.fail("profile", err)
				}
			}
		}
	}
	return ctx.Err()
}

func (b *bench) logPoint(what string, p Point) {
	b.log.Info(what, zap.Int("inflight", p.Inflight), zap.Float64("rate", round(p.Rate.Median)),
		zap.Float64("p50_ms", round3(p.P50.Median)), zap.Float64("p99_ms", round3(p.P99.Median)), zap.Int64("errors", p.Errors))
}

// profile takes CPU profiles of gateway and worker while op runs at
// inflight, and writes them (<label>.<process>.cpu.pprof, or without the
// label for the command path's) with their `go tool pprof -top`.
func (b *bench) profile(ctx context.Context, op opFunc, label string, inflight int) error {
	if err := os.MkdirAll(b.o.ProfileDir, 0o755); err != nil {
		return err
	}
	secs := b.o.ProfileSeconds
	b.log.Info("profiling gateway and worker", zap.String("load", label), zap.Int("inflight", inflight), zap.Int("seconds", secs))
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		closedLoop(lctx, inflight, time.Duration(secs+2)*time.Second, 0, opTimeout, op)
	}()
	defer func() { stopLoad(); wg.Wait() }()
	time.Sleep(500 * time.Millisecond)
	targets := map[string]string{"gateway": b.e.gwOps, "worker": b.e.workerOps}
	errs := make(chan error, len(targets))
	if b.res.Profiles == nil {
		b.res.Profiles = map[string]string{}
	}
	var mu sync.Mutex
	for name, base := range targets {
		go func() {
			file := name + ".cpu.pprof"
			if label != "" {
				file = label + "." + file
			}
			path := filepath.Join(b.o.ProfileDir, file)
			pctx, cancel := context.WithTimeout(ctx, time.Duration(secs+15)*time.Second)
			defer cancel()
			body, err := do(pctx, b.e.http, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil, http.StatusOK, "", "")
			if err == nil {
				err = os.WriteFile(path, body, 0o644)
			}
			if err == nil {
				mu.Lock()
				b.res.Profiles[strings.TrimSuffix(file, ".cpu.pprof")] = path
				mu.Unlock()
			}
			errs <- err
		}()
	}
	var all []error
	for range targets {
		all = append(all, <-errs)
	}
	stopLoad()
	wg.Wait()
	if err := errors.Join(all...); err != nil {
		return err
	}
	// The top of each profile, as text beside it (needs the go tool).
	for name, path := range b.res.Profiles {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(tctx, "go", "tool", "pprof", "-top", "-nodecount=40", path).Output()
		cancel()
		if err != nil {
			b.log.Warn("go tool pprof -top failed", zap.String("profile", path), zap.Error(err))
			continue
		}
		_ = os.WriteFile(strings.TrimSuffix(path, ".pprof")+".top.txt", out, 0o644)
		b.log.Info("profile written", zap.String("process", name), zap.String("path", path))
	}
	return nil
}

func (b *bench) churn(ctx context.Context) error {
	sub, err := b.e.subscribe(ctx, tenant+".#")
	if err != nil {
		return err
	}
	defer sub.close()
	n := b.o.ChurnInflight
	b.log.Info("churn", zap.Int("inflight", n))
	op := func(ctx context.Context, _ int, _ int64) error { return b.e.lifecycle(ctx, sub) }
	closedLoop(ctx, n, b.o.Warmup, 0, opTimeout, op)
	c := &Churn{Inflight: n}
	var rates, p50, p99 []float64
	ev0 := sub.events.Load()
	for range b.o.Reps {
		w := closedLoop(ctx, n, b.o.Duration, 0, opTimeout, op)
		rates = append(rates, w.Rate())
		p50 = append(p50, ms(percentile(w.Lat, 50)))
		p99 = append(p99, ms(percentile(w.Lat, 99)))
		c.Calls += w.OK
		c.Errors += w.Errors
		if w.FirstErr != nil && c.FirstError == "" {
			c.FirstError = w.FirstErr.Error()
		}
	}
	if err := ctx.Err(); err != nil {
		return err // a window cut short is not a measurement
	}
	c.EventsPerCall = ratio(float64(sub.events.Load()-ev0), float64(c.Calls))
	c.CallsPerS, c.P50, c.P99 = spread(rates), spread(p50), spread(p99)
	b.res.Churn = c
	b.log.Info("churn", zap.Float64("calls_per_s", round(c.CallsPerS.Median)), zap.Float64("events_per_call", round3(c.EventsPerCall)), zap.Int64("errors", c.Errors))
	return b.waitCalls(ctx, 0, 30*time.Second)
}

// eventRun drives events with op at n in flight: warm-up, then o.Reps
// windows, counting what arrives on sub's queue and what the worker read
// from its ARI WebSocket.
func (b *bench) eventRun(ctx context.Context, driver string, sub *subscriber, n int, op opFunc) (EventRun, error) {
	e := b.e
	r := EventRun{Driver: driver, Inflight: n}
	closedLoop(ctx, n, b.o.Warmup, 0, opTimeout, op)
	meter := newCPUMeter(e.pids())
	c00 := sub.events.Load()
	defer func() {
		if ctx.Err() == nil {
			b.res.CPU["events_"+strings.ReplaceAll(driver, " ", "_")] = meter.stop(sub.events.Load()-c00, runtime.NumCPU())
		}
	}()
	var rates, ari, ops []float64
	var nEvents, nBytes, nOps int64
	for range b.o.Reps {
		m0, err := scrape(ctx, e.http, e.workerOps+"/metrics", mEventsIn)
		if err != nil {
			return r, err
		}
		c0, b0 := sub.events.Load(), sub.bytes.Load()
		w := closedLoop(ctx, n, b.o.Duration, 0, opTimeout, op)
		c1, b1 := sub.events.Load(), sub.bytes.Load()
		m1, err := scrape(ctx, e.http, e.workerOps+"/metrics", mEventsIn)
		if err != nil {
			return r, err
		}
		secs := w.Elapsed.Seconds()
		rates = append(rates, float64(c1-c0)/secs)
		ari = append(ari, (m1[mEventsIn]-m0[mEventsIn])/secs)
		ops = append(ops, w.Rate())
		nEvents += c1 - c0
		nBytes += b1 - b0
		nOps += w.OK
		r.Errors += w.Errors
		if w.FirstErr != nil && r.FirstError == "" {
			r.FirstError = w.FirstErr.Error()
		}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.EventsPerS, r.ARIEventsPerS, r.OpsPerS = spread(rates), spread(ari), spread(ops)
	r.EventsPerOp = ratio(float64(nEvents), float64(nOps))
	r.EventBytes = int(ratio(float64(nBytes), float64(nEvents)))
	b.log.Info("events", zap.String("driver", driver), zap.Float64("events_per_s", round(r.EventsPerS.Median)),
		zap.Float64("ari_events_per_s", round(r.ARIEventsPerS.Median)), zap.Float64("ops_per_s", round(r.OpsPerS.Median)),
		zap.Int("mean_event_bytes", r.EventBytes), zap.Int64("errors", r.Errors))
	if r.Errors > 0 {
		return r, fmt.Errorf("%s: %d errors; first: %s", driver, r.Errors, r.FirstError)
	}
	return r, nil
}

func (b *bench) events(ctx context.Context) error {
	e := b.e
	sub, err := e.subscribe(ctx, tenant+".#")
	if err != nil {
		return err
	}
	defer sub.close()
	n := b.o.EventInflight
	ev := &Events{}
	b.res.Events = ev

	// 1. Short calls straight over ARI, as calls entering Stasis from
	// the dialplan: many ARI events per CallAPI event.
	b.log.Info("events: short calls straight over ARI", zap.Int("inflight", n))
	ev.ShortCalls, err = b.eventRun(ctx, "short ARI calls", sub, n, func(ctx context.Context, _ int, _ int64) error { return e.ariCall(ctx, sub) })
	if err != nil {
		return err
	}
	if err := b.waitCalls(ctx, 0, 30*time.Second); err != nil {
		return err
	}

	// 2. Playbacks on n live calls: one ARI event per CallAPI event, the
	// event path's own ceiling.
	b.log.Info("events: playbacks on live calls", zap.Int("calls", n))
	ids := make([]string, n)
	w := closedLoop(ctx, min(n, 32), 24*time.Hour, int64(n), opTimeout, func(ctx context.Context, _ int, seq int64) error {
		id, err := e.ariUp(ctx, sub)
		ids[seq] = id
		return err
	})
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		closedLoop(dctx, min(n, 32), 24*time.Hour, int64(n), opTimeout, func(ctx context.Context, _ int, seq int64) error {
			if ids[seq] == "" {
				return nil
			}
			return e.ariDown(ctx, ids[seq])
		})
		if err := b.waitCalls(dctx, 0, 30*time.Second); err != nil {
			b.fail("events cleanup", err)
		}
	}()
	if w.Errors > 0 {
		return fmt.Errorf("placing calls: %d errors; first: %v", w.Errors, w.FirstErr)
	}
	play := func(ctx context.Context, worker int, _ int64) error { return e.ariPlay(ctx, sub, ids[worker]) }
	ev.Playbacks, err = b.eventRun(ctx, "playbacks", sub, n, play)
	if err != nil {
		return err
	}
	if b.o.ProfileDir != "" {
		if err := b.profile(ctx, play, "events", n); err != nil {
			b.fail("profile events", err)
		}
	}

	// The bare twin: the same body size and key shape, publish → fanout →
	// consume, on the same broker.
	body := make([]byte, max(ev.Playbacks.EventBytes, 64))
	for i := range body {
		body[i] = 'x'
	}
	key := tenant + "." + node + ".call.playback_finished." + uuid.NewString()
	f, err := newBareFanout(ctx, b.o.AMQPURL, "callgw-bench bare fanout "+e.prefix, e.prefix+"bench.fanout", body, key, 2048)
	if err != nil {
		return fmt.Errorf("bare fanout: %w", err)
	}
	defer f.close()
	window := func(d time.Duration) (float64, error) {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		c0, t0 := f.consumed.Load(), time.Now()
		err := f.publish(pctx)
		return float64(f.consumed.Load()-c0) / time.Since(t0).Seconds(), err
	}
	if _, err := window(b.o.Warmup); err != nil {
		return err
	}
	var bare []float64
	meter, c0 := newCPUMeter(e.pids()), f.consumed.Load()
	for range b.o.Reps {
		r, err := window(b.o.Duration)
		if err != nil {
			return err
		}
		bare = append(bare, r)
	}
	b.res.CPU["events_bare_fanout"] = meter.stop(f.consumed.Load()-c0, runtime.NumCPU())
	ev.BareFanoutPerS = spread(bare)
	b.log.Info("bare fanout", zap.Float64("events_per_s", round(ev.BareFanoutPerS.Median)), zap.Int("body_bytes", len(body)))
	return ctx.Err()
}

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

// heapDiff writes `go tool pprof -top -base <before> <after>` of the heap
// profiles beside them (needs the go tool).
func (b *bench) heapDiff(before, after string) {
	if b.o.ProfileDir == "" {
		return
	}
	for _, proc := range []string{"worker", "gateway"} {
		p0 := filepath.Join(b.o.ProfileDir, proc+"."+before+".heap.pprof")
		p1 := filepath.Join(b.o.ProfileDir, proc+"."+after+".heap.pprof")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-inuse_space", "-nodecount=30", "-base", p0, p1).Output()
		cancel()
		if err != nil {
			b.log.Warn("go tool pprof -base failed", zap.String("process", proc), zap.Error(err))
			continue
		}
		path := filepath.Join(b.o.ProfileDir, proc+"."+before+"-to-"+after+".heap-diff.txt")
		_ = os.WriteFile(path, out, 0o644)
		b.log.Info("heap growth over the soak written", zap.String("process", proc), zap.String("path", path))
	}
}

// soakSettle is how long the soak waits after its last call before the
// final snapshot: the worker's idle runners exit after 10 s (amqpbus).
const soakSettle = 11 * time.Second

// soakWarmup is how many lifecycles precede the soak's first snapshot:
// 12,000 commands, more than the worker's memory of 10,000 command ids.
const soakWarmup = 6000

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
	lifecycles := func(ops int) window {
		return closedLoop(ctx, b.o.ChurnInflight, 24*time.Hour, int64(ops), opTimeout, func(ctx context.Context, _ int, _ int64) error {
			return e.lifecycle(ctx, sub)
		})
	}
	// settle waits for the calls to end and the worker's idle command
	// runners to exit (they outlive a burst by runnerIdle, 10 s, by design:
	// a warm pool): the steady state a reading is about.
	settle := func() error {
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
	b.log.Info("soak warm-up", zap.Int("lifecycles", warm))
	if w := lifecycles(warm); w.Errors > 0 {
		return fmt.Errorf("soak warm-up: %d of %d lifecycles failed; first: %v", w.Errors, warm, w.FirstErr)
	}
	if err := settle(); err != nil {
		return err
	}
	if s.Worker[0], s.Gateway[0], err = b.snapshot(ctx, "soak-before"); err != nil {
		return err
	}
	b.log.Info("soak", zap.Int("lifecycles", n), zap.Int("inflight", b.o.ChurnInflight))
	// Two halves with a snapshot between: growth in the first half that
	// stops in the second is a bounded cache filling up, not a leak.
	var first error
	start := time.Now()
	for half, ops := range []int{n / 2, n - n/2} {
		w := lifecycles(ops)
		s.Calls, s.Errors = s.Calls+w.OK, s.Errors+w.Errors
		if w.FirstErr != nil && first == nil {
			first = w.FirstErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if half == 0 {
			if err := b.waitCalls(ctx, 0, time.Minute); err != nil {
				return err
			}
			if s.WorkerMid, s.GatewayMid, err = b.snapshot(ctx, "soak-mid"); err != nil {
				return err
			}
		}
	}
	s.CallsPerS = float64(s.Calls) / time.Since(start).Seconds()
	if err := settle(); err != nil {
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

func round(x float64) float64  { return float64(int64(x + 0.5)) }
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
