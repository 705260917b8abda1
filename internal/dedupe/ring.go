// Package dedupe remembers the most recent ids seen, so that a consumer
// can drop a message it has already handled: an event reaching an AMQP
// subscriber through two bindings (a pattern and a tag copy), or replayed
// to an SSE client by a resume, or announced by several gateways.
//
// The memory is bounded: a Ring of size n forgets the oldest id when the
// n+1th distinct id arrives. The zero value of K means "no id" and is
// never remembered, so messages without an id are never dropped.
package dedupe

import "sync"

// Ring is a bounded set of recently seen ids, safe for concurrent use.
type Ring[K comparable] struct {
	mu   sync.Mutex
	set  map[K]struct{}
	ring []K // insertion order; ring[pos] is the oldest once full
	pos  int
}

// NewRing returns a Ring that remembers the last n distinct ids (n ≥ 1).
func NewRing[K comparable](n int) *Ring[K] {
	n = max(n, 1)
	return &Ring[K]{set: make(map[K]struct{}, n), ring: make([]K, n)}
}

// Seen reports whether id is remembered, without remembering it.
func (r *Ring[K]) Seen(id K) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[id]
	return ok
}

// Add reports whether id is new (or the zero id), remembering it and
// forgetting the oldest id when the ring is full.
func (r *Ring[K]) Add(id K) bool {
	var zero K
	if id == zero {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.pos]; old != zero {
		delete(r.set, old)
	}
	r.ring[r.pos] = id
	r.set[id] = struct{}{}
	r.pos = (r.pos + 1) % len(r.ring)
	return true
}
