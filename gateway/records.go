package gateway

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Records keeps the calls a gateway saw end, so that a call stays readable
// with its outcome (who or what ended it, cause, durations, node, tags)
// after its worker forgot it: for TTL and at most Max of each tenant,
// oldest dropped first, and at most Total of all tenants together (past
// it, the tenant holding the most loses its oldest), so that one tenant's
// burst of short calls cannot push out another tenant's records. It is
// fed with the events every gateway receives (call.created,
// call.answered, call.hangup), so every gateway holds the same records
// for the calls that ended while it ran; with a Loader (the tenant's
// event history, kept by the broker), a gateway rebuilds a tenant's
// records of the calls that ended before it started the first time they
// are read (Warm), so that they survive a restart and read the same on
// every gateway. Safe for concurrent use; an event delivered twice (two
// subscriptions, or the history and the live events) counts once.
type Records struct {
	max   int // per tenant
	total int // all tenants
	ttl   time.Duration

	mu    sync.Mutex
	open  map[callapi.CallID]*callapi.Call // seen created, not yet ended
	opens tenantQueues                     // order of open, to bound it (with ids of calls ended since)
	openN map[string]int                   // open calls per tenant
	ended map[callapi.CallID]*callapi.Call
	ends  tenantQueues // order of ended

	// Loader, when set before use, reads a tenant's past events (Warm).
	Loader RecordsLoader
	warmMu sync.Mutex
	warm   map[string]*warming
}

// RecordsLoader hands observe every event of tenant from since on that
// the live events may have missed (those before the gateway listened),
// and returns once it did.
type RecordsLoader func(ctx context.Context, tenant string, since time.Time, observe func(*callapi.Event)) error

// WarmTimeout bounds the loading of one tenant's records.
const WarmTimeout = 5 * time.Second

type warming struct {
	done chan struct{}
	err  error
}

// Warm loads tenant's records from its history once in the gateway's
// life (Loader; nothing without one) and waits for the load until ctx
// ends. The load runs on its own goroutine, bounded by WarmTimeout, so
// that the caller that starts it waits no longer than its own deadline,
// as later callers do; they all share its outcome. A load that failed is
// tried again by the next caller; the records answer meanwhile with what
// they hold.
func (r *Records) Warm(ctx context.Context, tenant string, now time.Time) error {
	if !r.on() || r.Loader == nil {
		return nil
	}
	r.warmMu.Lock()
	if r.warm == nil {
		r.warm = map[string]*warming{}
	}
	w := r.warm[tenant]
	if w == nil {
		w = &warming{done: make(chan struct{})}
		r.warm[tenant] = w
		go r.load(context.WithoutCancel(ctx), tenant, now, w)
	}
	r.warmMu.Unlock()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load runs one load of tenant's records for w (Warm), within WarmTimeout.
func (r *Records) load(ctx context.Context, tenant string, now time.Time, w *warming) {
	lctx, cancel := context.WithTimeout(ctx, WarmTimeout)
	w.err = r.Loader(lctx, tenant, now.Add(-r.ttl), r.Observe)
	cancel()
	if w.err != nil {
		r.warmMu.Lock()
		delete(r.warm, tenant)
		r.warmMu.Unlock()
	}
	close(w.done)
}

// AllTenants, as the tenant of Records.List, lists every tenant's
// records: for admin tokens, which the REST layer checks. No tenant can be
// named so (callapi.ValidTenant refuses it).
const AllTenants = callapi.AllTenants

// RecordsTotalFactor bounds all tenants' records together at this many
// times the per-tenant bound.
const RecordsTotalFactor = 10

// NewRecords returns a store of at most max ended calls per tenant (and
// RecordsTotalFactor times max in all) kept for ttl (max <= 0: records
// off, every method is a no-op).
func NewRecords(max int, ttl time.Duration) *Records {
	return &Records{max: max, total: max * RecordsTotalFactor, ttl: ttl,
		open: map[callapi.CallID]*callapi.Call{}, ended: map[callapi.CallID]*callapi.Call{},
		opens: newTenantQueues(), openN: map[string]int{}, ends: newTenantQueues()}
}

// on reports whether records are kept.
func (r *Records) on() bool { return r != nil && r.max > 0 }

// Observe updates the records from one event.
func (r *Records) Observe(e *callapi.Event) {
	if r == nil || r.max <= 0 || e.CallID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, done := r.ended[e.CallID]; done {
		return
	}
	switch e.Type {
	case callapi.EvCallCreated:
		if _, ok := r.open[e.CallID]; ok {
			return
		}
		var d callapi.CreatedData
		_ = json.Unmarshal(e.Data, &d)
		c := d.Call
		c.ID, c.Node, c.Tenant = e.CallID, e.Node, e.Tenant
		if len(c.Tags) == 0 {
			c.Tags = e.Tags
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = e.Time
		}
		r.open[e.CallID] = &c
		r.openN[c.Tenant]++
		r.opens.push(c.Tenant, e.CallID)
		r.trimOpenLocked(c.Tenant)
	case callapi.EvCallAnswered:
		if c, ok := r.open[e.CallID]; ok && c.AnsweredAt == nil {
			var d callapi.StateData
			_ = json.Unmarshal(e.Data, &d)
			at := e.Time
			if d.AnsweredAt != nil {
				at = *d.AnsweredAt
			}
			c.AnsweredAt, c.State = &at, callapi.StateUp
		}
	case callapi.EvCallBridged:
		if c, ok := r.open[e.CallID]; ok {
			var d callapi.BridgedData
			_ = json.Unmarshal(e.Data, &d)
			c.BridgeID = d.BridgeID
		}
	case callapi.EvCallUnbridged:
		if c, ok := r.open[e.CallID]; ok {
			c.BridgeID = ""
		}
	case callapi.EvCallHangup:
		c, ok := r.open[e.CallID]
		if !ok { // created before this gateway listened: what the hangup says
			c = &callapi.Call{ID: e.CallID, Node: e.Node, Tenant: e.Tenant, Tags: e.Tags}
		}
		r.forgetOpenLocked(e.CallID)
		var d callapi.HangupData
		_ = json.Unmarshal(e.Data, &d)
		end := e.Time
		h := d.Hangup
		c.State, c.Hangup, c.EndedAt, c.EndReason, c.BridgeID = callapi.StateEnded, &h, &end, d.Reason, ""
		if !c.CreatedAt.IsZero() {
			ms := end.Sub(c.CreatedAt).Milliseconds()
			c.DurationMS = &ms
		}
		if c.AnsweredAt != nil {
			ms := end.Sub(*c.AnsweredAt).Milliseconds()
			if c.DurationMS != nil && ms > *c.DurationMS {
				ms = *c.DurationMS // answered_at has ms precision, created_at ns
			}
			c.TalkMS = &ms
		}
		r.ended[e.CallID] = c
		r.ends.push(c.Tenant, e.CallID)
		r.trimEndedLocked(c.Tenant, end)
	}
}

// forgetOpenLocked drops an open call (its id stays queued until the
// queue is compacted or trimmed).
func (r *Records) forgetOpenLocked(id callapi.CallID) {
	c, ok := r.open[id]
	if !ok {
		return
	}
	delete(r.open, id)
	if r.openN[c.Tenant]--; r.openN[c.Tenant] <= 0 {
		delete(r.openN, c.Tenant)
	}
}

// trimOpenLocked bounds the open calls of tenant, then of all tenants
// (the tenant with the most loses its oldest).
func (r *Records) trimOpenLocked(tenant string) {
	live := func(id callapi.CallID) bool { _, ok := r.open[id]; return ok }
	r.opens.compact(tenant, live, 2*r.max+16)
	for r.openN[tenant] > r.max && r.opens.len(tenant) > 0 {
		r.forgetOpenLocked(r.opens.pop(tenant))
	}
	for len(r.open) > r.total {
		most, n := "", 0
		for t, k := range r.openN {
			if k > n {
				most, n = t, k
			}
		}
		if n == 0 || r.opens.len(most) == 0 {
			return
		}
		for r.openN[most] == n && r.opens.len(most) > 0 {
			r.forgetOpenLocked(r.opens.pop(most))
		}
	}
}

// trimEndedLocked drops tenant's records older than ttl (by the end time
// of the newest event, so a slow clock cannot keep them) or past max, then
// the oldest of the tenant holding the most while all are past total.
func (r *Records) trimEndedLocked(tenant string, now time.Time) {
	for r.ends.len(tenant) > 0 {
		c := r.ended[r.ends.first(tenant)]
		if r.ends.len(tenant) <= r.max && (c == nil || r.fresh(c, now)) {
			break
		}
		delete(r.ended, r.ends.pop(tenant))
	}
	for r.ends.n > r.total {
		delete(r.ended, r.ends.pop(r.ends.largest()))
	}
}

func (r *Records) fresh(c *callapi.Call, now time.Time) bool {
	return r.ttl <= 0 || now.Sub(*c.EndedAt) <= r.ttl
}

// Ended returns the record of an ended call of tenant (a copy), if kept.
func (r *Records) Ended(tenant string, id callapi.CallID, now time.Time) (*callapi.Call, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.ended[id]
	if !ok || c.Tenant != tenant || !r.fresh(c, now) {
		return nil, false
	}
	cp := *c
	return &cp, true
}

// List returns the kept records of tenant's ended calls (every tenant's
// when tenant is AllTenants) that match node (empty: any) and a, by
// creation time.
func (r *Records) List(tenant string, node callapi.NodeID, a callapi.ListArgs, now time.Time) []*callapi.Call {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*callapi.Call
	ids := r.ends.q[tenant]
	if tenant == AllTenants {
		ids = nil
		for _, q := range r.ends.q {
			ids = append(ids, q...)
		}
	}
	for _, id := range ids {
		c := r.ended[id]
		if c == nil || (tenant != AllTenants && c.Tenant != tenant) || (node != "" && c.Node != node) || !r.fresh(c, now) {
			continue
		}
		if a.Tag != "" && !(callapi.ListArgs{Tag: a.Tag}).Matches(c) {
			continue
		}
		cp := *c
		out = append(out, &cp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}
