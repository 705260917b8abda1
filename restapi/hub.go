package restapi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// EventFilter selects the events of a stream. Empty fields match all.
type EventFilter struct {
	// Types are exact types ("call.hangup") or prefixes ending in "." or
	// ".*" ("call.", "call.*", "call.playback."); an event matching any
	// one passes.
	Types  []string
	Node   callapi.NodeID
	CallID callapi.CallID
	Tag    string
	// Tenant confines the stream to one tenant's events (empty: every
	// tenant's). The server sets it from the request's principal, and
	// empties it only for an admin token that asks tenant=*.
	Tenant string
	// LastEventID resumes a stream: buffered events after this id that
	// match the filter are delivered first. An id no longer buffered (or
	// never seen) resumes nothing: the stream starts live, and its first
	// value is the resume-gap marker (IsResumeGap), so that the client
	// learns that it may have missed events.
	LastEventID string
	// Since replays the kept events from this time on before going live
	// (when LastEventID is empty): only a stream feed (StreamFeed) has
	// them.
	Since time.Time
}

// Match reports whether e passes f (LastEventID aside).
func (f EventFilter) Match(e *callapi.Event) bool {
	// Node events belong to no tenant (their key starts with "_"): every
	// tenant's streams carry them, as docs/events.md promises.
	if f.Tenant != "" && e.Tenant != f.Tenant && (e.Tenant != "" || e.Type.Resource() != "node") {
		return false
	}
	if f.Node != "" && e.Node != f.Node {
		return false
	}
	if f.CallID != "" && e.CallID != f.CallID {
		return false
	}
	if f.Tag != "" {
		found := false
		for _, t := range e.Tags {
			if t == f.Tag {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if typeMatches(t, string(e.Type)) {
			return true
		}
	}
	return false
}

func typeMatches(pattern, typ string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		pattern = p
	}
	if strings.HasSuffix(pattern, ".") {
		return strings.HasPrefix(typ, pattern)
	}
	return pattern == typ
}

// HubConfig configures a Hub.
type HubConfig struct {
	// Buffer is how many events one subscriber may have waiting; a
	// subscriber that falls further behind is dropped: 256.
	Buffer int
	// History is how many recent events of each tenant are kept for
	// Last-Event-ID resume (node events count as one more tenant; at most
	// 256 tenants are kept): 1024.
	History int
	Log     *zap.Logger
	// Registerer receives the hub's metrics; nil: not registered.
	Registerer prometheus.Registerer
}

// resumeGap is the value a subscription starts with when its LastEventID
// is not in the history: evicted, from before this gateway's history
// began, or never this tenant's. It is never published.
var resumeGap = &callapi.Event{Type: "stream.resume_gap"}

// IsResumeGap reports whether e is the marker a subscription starts with
// when it could not resume from its LastEventID: events may have been
// missed, and the client should resynchronise (list the calls).
func IsResumeGap(e *callapi.Event) bool { return e == resumeGap }

// forgetHistory drops the events kept for resume: the hub missed events
// (its feed stopped taking them), so no resume point before now is whole.
func (h *Hub) forgetHistory() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hist = newHistory(h.cfg.History)
}

// ErrHubClosed is returned by Subscribe after Close.
var ErrHubClosed = errors.New("restapi: event hub closed")

// Hub fans events out to stream subscribers. It is fed by one function,
// Publish (amqpbus calls it for every event it consumes), never blocks the
// publisher, and bounds its memory: History events for resume plus at most
// Buffer events per subscriber. A subscriber whose buffer is full is
// dropped: its channel is closed, which the stream handlers report to the
// client. The Hub runs no goroutine of its own.
type Hub struct {
	cfg HubConfig
	log *zap.Logger

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	hist    *history
	streams map[string]*streamRing // per tenant, fed by PublishAt
	closed  bool
	dropped uint64

	mPublished   prometheus.Counter
	mDropped     prometheus.Counter
	mSubscribers prometheus.Gauge
}

type subscriber struct {
	f    EventFilter
	c    chan *callapi.Event
	stop func() bool // stops the ctx watcher

	// Stream subscribers (StreamFeed) take the events PublishAt gives
	// for their tenant only, with an offset past after. While catching
	// a subscriber reads the history stream on its own goroutine, which
	// alone sends on c and closes it if it ends still catching.
	stream      bool
	after       int64
	catching    bool
	sending     bool  // the catch-up is sending on c
	lastOff     int64 // the catch-up read up to here (-1: nothing yet)
	catchCtx    context.Context
	catchCancel context.CancelFunc
}

// NewHub returns a hub; zero config fields take their defaults.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.History <= 0 {
		cfg.History = 1024
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	h := &Hub{
		cfg: cfg, log: log.Named("hub"), subs: map[*subscriber]struct{}{},
		hist: newHistory(cfg.History), streams: map[string]*streamRing{},
		mPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "callgw", Subsystem: "events", Name: "hub_published_total",
			Help: "Events published to the HTTP stream hub.",
		}),
		mDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "callgw", Subsystem: "events", Name: "hub_dropped_subscribers_total",
			Help: "Stream subscribers disconnected because their buffer was full.",
		}),
		mSubscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "callgw", Subsystem: "events", Name: "hub_subscribers",
			Help: "Current stream subscribers.",
		}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(h.mPublished, h.mDropped, h.mSubscribers)
	}
	return h
}

// Publish hands e to every matching subscriber without blocking and keeps
// it for resume. e must not be modified afterwards.
func (h *Hub) Publish(e *callapi.Event) {
	if e == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.mPublished.Inc()
	h.hist.add(e)
	for sub := range h.subs {
		if sub.stream || !sub.f.Match(e) {
			continue
		}
		h.offerLocked(sub, e)
	}
}

// offerLocked hands e to sub without blocking; a subscriber whose buffer
// is full has fallen behind and is disconnected (its channel closed).
func (h *Hub) offerLocked(sub *subscriber, e *callapi.Event) {
	select {
	case sub.c <- e:
	default:
		h.dropped++
		h.mDropped.Inc()
		h.log.Warn("slow event subscriber disconnected", zap.Int("buffer", cap(sub.c)),
			zap.String("tenant", sub.f.Tenant), zap.Uint64("dropped_total", h.dropped))
		h.removeLocked(sub)
	}
}

// Subscribe starts a subscription. Events matching f arrive on the channel
// until the returned func is called, ctx ends, the subscriber falls behind
// by more than Buffer events, or the hub closes; in the last three cases
// the channel is closed.
func (h *Hub) Subscribe(ctx context.Context, f EventFilter) (<-chan *callapi.Event, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrHubClosed
	}
	var replay []*callapi.Event
	if f.LastEventID != "" {
		later, found := h.hist.after(f.Tenant, f.LastEventID)
		if !found {
			replay = append(replay, resumeGap)
		}
		for _, e := range later {
			if f.Match(e) {
				replay = append(replay, e)
			}
		}
	}
	sub := &subscriber{f: f, c: make(chan *callapi.Event, h.cfg.Buffer+len(replay))}
	for _, e := range replay {
		sub.c <- e
	}
	h.subs[sub] = struct{}{}
	h.mSubscribers.Inc()
	sub.stop = context.AfterFunc(ctx, func() { h.unsubscribe(sub) })
	return sub.c, func() { h.unsubscribe(sub) }, nil
}

func (h *Hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(sub)
}

// removeLocked ends sub once. h.mu is held.
func (h *Hub) removeLocked(sub *subscriber) {
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	h.mSubscribers.Dec()
	if sub.stop != nil {
		sub.stop()
	}
	if sub.catching {
		sub.catchCancel() // its goroutine closes c as it ends
		return
	}
	close(sub.c)
}

// Close ends every subscription; later Publish calls are ignored and
// Subscribe fails with ErrHubClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.subs {
		h.removeLocked(sub)
	}
}

// HubStats is a snapshot of a hub's state.
type HubStats struct {
	Subscribers int    // current subscribers
	Dropped     uint64 // subscribers dropped for being slow, ever
	Buffered    int    // events waiting in subscriber buffers, all together
	History     int    // events kept for resume
}

// Stats returns a snapshot.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := HubStats{Subscribers: len(h.subs), Dropped: h.dropped, History: h.hist.len()}
	for _, r := range h.streams {
		st.History += len(r.entries)
	}
	for sub := range h.subs {
		st.Buffered += len(sub.c)
	}
	return st
}
