package gateway

import (
	"encoding/json"
	"github.com/callgw/callgw/callapi"
	"sort"
	"sync"
	"time"
)

// Records keeps the calls a gateway saw end, so that a call stays readable
// with its outcome (who or what ended it, cause, durations, node, tags)
// after its worker forgot it: for TTL and at most Max of them, oldest
// dropped first. It is fed with the events every gateway receives
// (call.created, call.answered, call.hangup), so every gateway holds the
// same records for the calls that ended while it ran; they do not survive
// a restart. Safe for concurrent use; an event delivered twice (two
// subscriptions) counts once.
type Records struct {
	max int
	ttl time.Duration

	mu        sync.Mutex
	open      map[callapi.CallID]*callapi.Call // seen created, not yet ended
	openOrder []callapi.CallID                 // FIFO of open, to bound it
	ended     map[callapi.CallID]*callapi.Call
	endOrder  []callapi.CallID // FIFO of ended
}

// NewRecords returns a store of at most max ended calls kept for ttl
// (max <= 0: records off, every method is a no-op).
func NewRecords(max int, ttl time.Duration) *Records {
	return &Records{max: max, ttl: ttl, open: map[callapi.CallID]*callapi.Call{}, ended: map[callapi.CallID]*callapi.Call{}}
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
		r.openOrder = append(r.openOrder, e.CallID)
		r.trimOpenLocked()
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
		delete(r.open, e.CallID)
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
		r.endOrder = append(r.endOrder, e.CallID)
		r.trimEndedLocked(end)
	}
}

func (r *Records) trimOpenLocked() {
	for len(r.open) > r.max && len(r.openOrder) > 0 {
		delete(r.open, r.openOrder[0])
		r.openOrder = r.openOrder[1:]
	}
	if len(r.openOrder) > 2*r.max+16 { // ids of calls that ended: compact
		kept := r.openOrder[:0]
		for _, id := range r.openOrder {
			if _, ok := r.open[id]; ok {
				kept = append(kept, id)
			}
		}
		r.openOrder = kept
	}
}

// trimEndedLocked drops the oldest records past max or older than ttl
// (by the end time of the newest event, so a slow clock cannot keep them).
func (r *Records) trimEndedLocked(now time.Time) {
	for len(r.endOrder) > 0 {
		c := r.ended[r.endOrder[0]]
		if len(r.endOrder) <= r.max && (r.ttl <= 0 || c == nil || now.Sub(*c.EndedAt) <= r.ttl) {
			return
		}
		delete(r.ended, r.endOrder[0])
		r.endOrder = r.endOrder[1:]
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

// List returns the kept records of tenant's ended calls that match node
// (empty: any) and a, by creation time.
func (r *Records) List(tenant string, node callapi.NodeID, a callapi.ListArgs, now time.Time) []*callapi.Call {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*callapi.Call
	for _, id := range r.endOrder {
		c := r.ended[id]
		if c.Tenant != tenant || (node != "" && c.Node != node) || !r.fresh(c, now) {
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
