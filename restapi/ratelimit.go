package restapi

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket per key (a client id, an address), for
// failed token requests: every attempt is charged up front and a
// successful one gets its charge back; a key whose bucket is empty is
// refused before its credentials are even checked. Buckets that refilled completely are
// dropped, and at most maxKeys are kept (the oldest idle ones go first),
// so that a flood of made-up client ids cannot grow memory without bound.
type keyedLimiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newKeyedLimiter(perMinute, burst, maxKeys int) *keyedLimiter {
	return &keyedLimiter{limit: rate.Limit(float64(perMinute) / 60), burst: burst, maxKeys: maxKeys, keys: map[string]*bucket{}}
}

// take charges one attempt to key's bucket before the attempt runs, so
// that concurrent attempts cannot all pass a check made before any of them
// failed. It returns how long key must wait (> 0: refused, nothing
// charged), or an undo func that gives the charge back (for an attempt
// that succeeded).
func (l *keyedLimiter) take(key string, now time.Time) (undo func(), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.pruneLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = b
	}
	if tokens := b.lim.TokensAt(now); tokens < 1 {
		return nil, time.Duration(math.Ceil((1 - tokens) / float64(l.limit) * float64(time.Second)))
	}
	res := b.lim.ReserveN(now, 1)
	b.last = now
	return func() { res.CancelAt(now) }, 0
}

// pruneLocked drops full buckets, then, if still too many, those whose
// last failure is older than halfway between the oldest and the newest.
func (l *keyedLimiter) pruneLocked(now time.Time) {
	for k, b := range l.keys {
		if b.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.maxKeys {
		return
	}
	times := make([]time.Time, 0, len(l.keys))
	for _, b := range l.keys {
		times = append(times, b.last)
	}
	cut := midTime(times)
	for k, b := range l.keys {
		if !b.last.After(cut) {
			delete(l.keys, k)
		}
	}
}

// midTime is halfway between the oldest and the newest of ts.
func midTime(ts []time.Time) time.Time {
	lo, hi := ts[0], ts[0]
	for _, t := range ts {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	return lo.Add(hi.Sub(lo) / 2)
}
