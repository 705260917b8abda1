package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// opFunc is one request of a closed loop. worker is the index of the
// goroutine running it (0..inflight-1) and seq the global sequence number
// of the request. ctx bounds the request.
type opFunc func(ctx context.Context, worker int, seq int64) error

// window is what one closed-loop measurement window saw.
type window struct {
	OK       int64
	Errors   int64
	Elapsed  time.Duration
	Lat      []time.Duration // of the successful requests, sorted
	FirstErr error
}

// Rate is successful requests per second.
func (w window) Rate() float64 {
	if w.Elapsed <= 0 {
		return 0
	}
	return float64(w.OK) / w.Elapsed.Seconds()
}

// closedLoop keeps inflight requests going for d (or until maxOps were
// started, when maxOps > 0): each of inflight goroutines starts a request
// as soon as its previous one finished. No request is started after d;
// those in flight finish (each bounded by opTimeout) before it returns, so
// no goroutine outlives the call. It stops early when ctx ends.
func closedLoop(ctx context.Context, inflight int, d time.Duration, maxOps int64, opTimeout time.Duration, op opFunc) window {
	var (
		seq, errs atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstErr  error
		lats      = make([][]time.Duration, inflight)
	)
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	start := time.Now()
	for w := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			for !stop.Load() && ctx.Err() == nil {
				n := seq.Add(1) - 1
				if maxOps > 0 && n >= maxOps {
					break
				}
				octx, cancel := context.WithTimeout(ctx, opTimeout)
				t0 := time.Now()
				err := op(octx, w, n)
				took := time.Since(t0)
				cancel()
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				lat = append(lat, took)
			}
			lats[w] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	return window{OK: int64(len(all)), Errors: errs.Load(), Elapsed: elapsed, Lat: all, FirstErr: firstErr}
}
