package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// churn measures complete call lifecycles through the REST API, each
// ending with its call.hangup consumed from a bound queue.
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

// events measures the event path: short calls straight over ARI, then
// playbacks on live calls, beside the bare fanout twin.
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
	ids, w := b.ariUpCalls(ctx, sub, n)
	defer b.ariDownCalls(ctx, ids)
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
	return b.bareFanoutRun(ctx, ev)
}

// ariUpCalls places n calls straight over ARI, 32 at a time, and returns
// their ids (empty where placing failed) and the window that placed them.
func (b *bench) ariUpCalls(ctx context.Context, sub *subscriber, n int) ([]string, window) {
	ids := make([]string, n)
	w := closedLoop(ctx, min(n, 32), 24*time.Hour, int64(n), opTimeout, func(ctx context.Context, _ int, seq int64) error {
		id, err := b.e.ariUp(ctx, sub)
		ids[seq] = id
		return err
	})
	return ids, w
}

// ariDownCalls hangs up the calls of ariUpCalls, also after ctx ended, and
// waits until the worker has none left.
func (b *bench) ariDownCalls(ctx context.Context, ids []string) {
	n := len(ids)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	closedLoop(dctx, min(n, 32), 24*time.Hour, int64(n), opTimeout, func(ctx context.Context, _ int, seq int64) error {
		if ids[seq] == "" {
			return nil
		}
		return b.e.ariDown(ctx, ids[seq])
	})
	if err := b.waitCalls(dctx, 0, 30*time.Second); err != nil {
		b.fail("events cleanup", err)
	}
}

// bareFanoutRun measures the bare twin of the event path: the same body
// size as the playbacks' events and their key shape, publish → fanout →
// consume, on the same broker.
func (b *bench) bareFanoutRun(ctx context.Context, ev *Events) error {
	e := b.e
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
