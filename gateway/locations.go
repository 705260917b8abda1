package gateway

import (
	"github.com/callgw/callgw/callapi"
	"sync"
)

// Locations is a bounded cache of which node owns which call, bridge,
// playback or recording (keys from callKey, bridgeKey, playbackKey, recordingKey). It is learnt
// from replies and events and is only a hint: a not_found from the cached
// node evicts the entry.
type Locations struct {
	mu    sync.Mutex
	max   int
	m     map[string]callapi.NodeID
	order []string // FIFO of insertions, for eviction
}

// NewLocations returns a cache of at most max entries (<= 0: 100000).
func NewLocations(max int) *Locations {
	if max <= 0 {
		max = 100000
	}
	return &Locations{max: max, m: make(map[string]callapi.NodeID)}
}

// Put records that node owns id.
func (l *Locations) Put(id string, node callapi.NodeID) {
	if id == "" || node == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.m[id]; !ok {
		l.order = append(l.order, id)
	}
	l.m[id] = node
	for len(l.m) > l.max && len(l.order) > 0 {
		old := l.order[0]
		l.order = l.order[1:]
		delete(l.m, old)
	}
	l.compactLocked()
}

// compactLocked drops forgotten ids from the eviction order once they
// outnumber the live ones, so the order's memory follows the live calls,
// not every call ever seen.
func (l *Locations) compactLocked() {
	if len(l.order) <= 2*len(l.m)+1024 {
		return
	}
	keep := make([]string, 0, 2*len(l.m)+16)
	seen := make(map[string]bool, len(l.m))
	for _, k := range l.order {
		if _, ok := l.m[k]; ok && !seen[k] {
			seen[k] = true
			keep = append(keep, k)
		}
	}
	l.order = keep
}

// Get returns the node of id, if cached.
func (l *Locations) Get(id string) (callapi.NodeID, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.m[id]
	return n, ok
}

// Forget drops id.
func (l *Locations) Forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
	l.compactLocked()
}

// Len returns the number of cached locations.
func (l *Locations) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Location keys: one namespace per tenant and kind of resource. The tenant
// leads every key, so that a location learnt for one tenant is never found
// by another: another tenant's id misses the cache and goes to a locate
// broadcast, which the workers answer per tenant (not_found), the same as
// for an id that does not exist. Without it an async request would answer
// 202 with the owner's node for another tenant's call.
func callKey(tenant string, id callapi.CallID) string { return locKey(tenant, "call", string(id)) }

// bridgeKey is the location key of a bridge of tenant.
func bridgeKey(tenant string, id callapi.BridgeID) string {
	return locKey(tenant, "bridge", string(id))
}

// playbackKey is the location key of a playback of tenant.
func playbackKey(tenant, id string) string { return locKey(tenant, "playback", id) }

// recordingKey is the location key of a live recording of tenant.
func recordingKey(tenant, name string) string { return locKey(tenant, "recording", name) }

// storedKey is the location key of a stored recording of tenant.
func storedKey(tenant, name string) string { return locKey(tenant, "stored", name) }

func locKey(tenant, kind, id string) string {
	return tenant + "\x00" + kind + "\x00" + id
}
