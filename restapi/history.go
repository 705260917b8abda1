package restapi

import (
	"cmp"
	"slices"

	"github.com/callgw/callgw/callapi"
)

// historyTenants bounds how many tenants' rings a hub's history keeps:
// past it, the ring of the tenant that published least recently goes.
const historyTenants = 256

// history keeps recent events for Last-Event-ID resume, in one ring per
// tenant (node events, which belong to no tenant, in their own). One ring
// for all tenants would let a tenant time how fast its own events leave
// it, and so read how many events the others make. Its memory is bounded
// by size events per ring and historyTenants rings. The hub's mutex
// guards it.
type history struct {
	size  int
	seq   uint64 // order of events across rings
	rings map[string]*histRing
}

type histEntry struct {
	seq uint64
	e   *callapi.Event
}

type histRing struct {
	buf  []histEntry // circular, len == size once full
	next int
	last uint64 // seq of the newest entry
}

func newHistory(size int) *history {
	return &history{size: size, rings: map[string]*histRing{}}
}

// add keeps e in its tenant's ring.
func (h *history) add(e *callapi.Event) {
	h.seq++
	r := h.rings[e.Tenant]
	if r == nil {
		if len(h.rings) > historyTenants {
			h.evictOldest()
		}
		r = &histRing{buf: make([]histEntry, 0, min(h.size, 64))}
		h.rings[e.Tenant] = r
	}
	r.last = h.seq
	if len(r.buf) < h.size {
		r.buf = append(r.buf, histEntry{h.seq, e})
	} else {
		r.buf[r.next] = histEntry{h.seq, e}
	}
	r.next = (r.next + 1) % h.size
}

// evictOldest drops the tenant ring published to least recently (never
// the node events' ring).
func (h *history) evictOldest() {
	var oldest string
	var at uint64
	for t, r := range h.rings {
		if t != "" && (at == 0 || r.last < at) {
			oldest, at = t, r.last
		}
	}
	delete(h.rings, oldest)
}

// after returns the kept events after the one with id that a stream of
// tenant may see (its own and node events; every tenant's when tenant is
// empty), oldest first, and whether id was found among them.
func (h *history) after(tenant, id string) ([]*callapi.Event, bool) {
	var entries []histEntry
	for t, r := range h.rings {
		if tenant == "" || t == tenant || t == "" {
			entries = append(entries, r.buf...)
		}
	}
	var from uint64
	for _, en := range entries {
		if en.e.ID == id && en.seq > from {
			from = en.seq
		}
	}
	if from == 0 {
		return nil, false
	}
	entries = slices.DeleteFunc(entries, func(en histEntry) bool { return en.seq <= from })
	slices.SortFunc(entries, func(a, b histEntry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]*callapi.Event, len(entries))
	for i, en := range entries {
		out[i] = en.e
	}
	return out, true
}

// len is the number of events kept, all rings together.
func (h *history) len() int {
	n := 0
	for _, r := range h.rings {
		n += len(r.buf)
	}
	return n
}
