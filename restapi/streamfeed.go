package restapi

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// HistoryStart says where a HistorySource read starts: at Offset, at Time
// (the source may begin a little earlier), or at the next event written
// (both zero).
type HistoryStart struct {
	Offset int64 // >= 0: this offset
	Time   time.Time
}

// HistorySource is a tenant's event history kept outside the gateway, in
// order, each event at an offset that is the same on every gateway (cmd
// wires it to the RabbitMQ streams of amqpbus).
type HistorySource interface {
	// Ensure makes sure tenant's history exists.
	Ensure(ctx context.Context, tenant string) error
	// Read hands fn each event of tenant's history from start, in order,
	// until ctx ends (nil), fn returns an error (a stop: nil, else that
	// error) or the source fails (an error). ready is called once the
	// read is attached: an event written afterwards will come.
	Read(ctx context.Context, tenant string, start HistoryStart, ready func(), fn func(offset int64, e *callapi.Event) error) error
}

// errStop ends a Read from its callback.
var errStop = errors.New("restapi: stop reading history")

// Cursor is the resume point of an event in its tenant's history:
// "<offset>:<event id>", what the event streams send as the SSE id and the
// event's "cursor".
func Cursor(offset int64, id string) string { return strconv.FormatInt(offset, 10) + ":" + id }

// parseCursor reads a Cursor; ok is false for anything else (an event id
// from a gateway without history streams, say).
func parseCursor(s string) (offset int64, id string, ok bool) {
	o, id, found := strings.Cut(s, ":")
	if !found || id == "" || o == "" || len(o) > 19 {
		return 0, "", false
	}
	off, err := strconv.ParseInt(o, 10, 64)
	if err != nil || off < 0 || strconv.FormatInt(off, 10) != o {
		return 0, "", false
	}
	return off, id, true
}

// streamEntry is one event of a tenant's history a hub keeps.
type streamEntry struct {
	off int64
	e   *callapi.Event
}

// streamRing keeps the newest events of one tenant's history, in offset
// order, without a gap since its first entry (the feed reads the history
// on, in order).
type streamRing struct {
	size    int
	gen     uint64 // the feed's read that fills it
	entries []streamEntry
}

func (r *streamRing) add(off int64, e *callapi.Event) bool {
	if n := len(r.entries); n > 0 && off <= r.entries[n-1].off {
		return false
	}
	r.entries = append(r.entries, streamEntry{off, e})
	if len(r.entries) > 2*r.size {
		r.entries = append([]streamEntry(nil), r.entries[len(r.entries)-r.size:]...)
	}
	return true
}

// window is the kept part: at most size entries.
func (r *streamRing) window() []streamEntry {
	if len(r.entries) > r.size {
		return r.entries[len(r.entries)-r.size:]
	}
	return r.entries
}

// after returns the index in w of the first entry past off.
func after(w []streamEntry, off int64) int {
	return sort.Search(len(w), func(i int) bool { return w[i].off > off })
}

// publishAt hands e, the event at offset off of tenant's history, to the
// stream subscribers of tenant, and keeps it for resume. gen names the
// read of the history it comes from: a newer read replaces what an older
// one kept, an older one's events are ignored. Within a read, offsets
// come in increasing order without a gap in what was read (an offset not
// above the last one is ignored). e must not be modified afterwards; its
// Cursor is set here.
func (h *Hub) publishAt(tenant string, gen uint64, off int64, e *callapi.Event) {
	if e == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	r := h.streams[tenant]
	if r != nil && r.gen > gen {
		return
	}
	if r == nil || r.gen < gen {
		r = &streamRing{size: h.cfg.History, gen: gen}
		h.streams[tenant] = r
	}
	e.Cursor = Cursor(off, e.ID)
	if !r.add(off, e) {
		return
	}
	h.mPublished.Inc()
	for sub := range h.subs {
		if sub.stream && sub.catching && !sub.sending && sub.lastOff >= 0 && sub.f.Tenant == tenant {
			// The catch-up may be idle at the end of the history with
			// the kept events now continuing it: hand over here.
			h.handoverLocked(sub)
			continue
		}
		if !sub.stream || sub.catching || sub.f.Tenant != tenant || off <= sub.after || !sub.f.Match(e) {
			continue
		}
		h.offerLocked(sub, e)
	}
}

// resetStream forgets tenant's kept events of read gen (or older) and
// ends its live stream subscribers (they resume from the history with
// their cursor): the feed can no longer say that what follows continues
// what it gave.
func (h *Hub) resetStream(tenant string, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.streams[tenant]; r != nil && r.gen > gen {
		return
	}
	delete(h.streams, tenant)
	for sub := range h.subs {
		if sub.stream && !sub.catching && sub.f.Tenant == tenant {
			h.removeLocked(sub)
		}
	}
}

// streamResume is how a stream subscription starts.
type streamResume struct {
	cursor  bool   // resume after offset (whose event is id)
	offset  int64  // with cursor
	id      string // with cursor, or an event id to find among the kept
	catchUp bool   // out: the history must be read (from offset, or since)
}

// subscribeStream registers a stream subscription of f.Tenant: live at
// once when it starts now or its resume point is among the kept events,
// else catching (res.catchUp: the caller reads the history into it and
// hands it over with handover or ends it with endCatch).
func (h *Hub) subscribeStream(ctx context.Context, f EventFilter, res *streamResume) (*subscriber, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrHubClosed
	}
	var w []streamEntry
	last := int64(-1)
	if r := h.streams[f.Tenant]; r != nil {
		w = r.window()
		if len(w) > 0 {
			last = w[len(w)-1].off
		}
	}
	var replay []*callapi.Event
	live := func(from int) {
		for _, en := range w[from:] {
			if f.Match(en.e) {
				replay = append(replay, en.e)
			}
		}
	}
	switch {
	case res.cursor:
		i := after(w, res.offset-1)
		switch {
		case i < len(w) && w[i].off == res.offset && w[i].e.ID == res.id:
			live(i + 1)
		case i < len(w) && w[i].off == res.offset:
			replay = append(replay, resumeGap) // another event there: not this history's point
		default:
			res.catchUp = true
		}
	case res.id != "": // an event id: look for it among the kept
		i := -1
		for j, en := range w {
			if en.e.ID == res.id {
				i = j
			}
		}
		if i < 0 {
			replay = append(replay, resumeGap)
		} else {
			live(i + 1)
		}
	case !f.Since.IsZero():
		res.catchUp = true
	}
	sub := &subscriber{f: f, stream: true, after: last, lastOff: -1, c: make(chan *callapi.Event, h.cfg.Buffer+len(replay))}
	for _, e := range replay {
		sub.c <- e
	}
	if res.catchUp {
		sub.catching = true
		sub.catchCtx, sub.catchCancel = context.WithCancel(ctx)
	}
	h.subs[sub] = struct{}{}
	h.mSubscribers.Inc()
	sub.stop = context.AfterFunc(ctx, func() { h.unsubscribe(sub) })
	return sub, func() { h.unsubscribe(sub) }, nil
}

// beginSend lets the catch-up send one event on sub's channel: false
// when the catch-up is over.
func (h *Hub) beginSend(sub *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; !ok || !sub.catching {
		return false
	}
	sub.sending = true
	return true
}

// handover notes that the catch-up of sub read up to offset off (and
// sent what it sent) and makes sub live once the kept events of its
// tenant continue that (handoverLocked). It reports whether the catch-up
// is over (handed over, or the subscription ended).
func (h *Hub) handover(sub *subscriber, off int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	sub.sending = false
	sub.lastOff = max(sub.lastOff, off)
	if _, ok := h.subs[sub]; !ok || !sub.catching {
		return true
	}
	return h.handoverLocked(sub)
}

// handoverLocked makes catching sub live when the kept events of its
// tenant continue what its catch-up read (up to sub.lastOff): it gets the
// kept events past that, if they fit in its buffer, then the live ones.
// h.mu is held, and the catch-up is not sending.
func (h *Hub) handoverLocked(sub *subscriber) bool {
	off := sub.lastOff
	r := h.streams[sub.f.Tenant]
	if r == nil {
		return false
	}
	w := r.window()
	if len(w) == 0 || w[0].off > off+1 {
		return false
	}
	var more []*callapi.Event
	for _, en := range w[after(w, off):] {
		if sub.f.Match(en.e) {
			more = append(more, en.e)
		}
	}
	if len(more) > cap(sub.c)-len(sub.c) {
		return false
	}
	for _, e := range more {
		sub.c <- e
	}
	sub.after = max(off, w[len(w)-1].off)
	sub.catching = false
	sub.catchCancel()
	return true
}

// goLive makes a catching sub live from now on after the resume-gap
// marker: its point is no longer in the history.
func (h *Hub) goLive(sub *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; !ok || !sub.catching {
		return false
	}
	select {
	case sub.c <- resumeGap:
	default:
		return false
	}
	sub.after = -1
	if r := h.streams[sub.f.Tenant]; r != nil {
		if w := r.window(); len(w) > 0 {
			sub.after = w[len(w)-1].off
		}
	}
	sub.catching = false
	sub.catchCancel()
	return true
}

// endCatch ends a sub whose catch-up stopped without a handover: its
// channel closes (the client reconnects with its cursor).
func (h *Hub) endCatch(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !sub.catching {
		return
	}
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		h.mSubscribers.Dec()
		if sub.stop != nil {
			sub.stop()
		}
	}
	sub.catching = false
	sub.catchCancel()
	close(sub.c)
}

// StreamFeed implements Events over a Hub fed from each tenant's history
// (HistorySource), so that a stream resumes on any gateway, after
// restarts: every event carries its Cursor, and a stream that resumes
// from a point the hub does not keep (or from a time, Since) first reads
// the history from there on, then goes on with the hub's live events
// without a gap or a repeat. A tenant's history is read only while HTTP
// streams of the tenant exist: the first opens the read (Subscribe
// returns once it is attached), the last lets it go after Linger.
type StreamFeed struct {
	hub    *Hub
	src    HistorySource
	linger time.Duration
	log    *zap.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tenants map[string]*tenantFeed
	gen     uint64
	closed  bool
}

type tenantFeed struct {
	gen    uint64 // of its read, for the hub
	users  int
	cancel context.CancelFunc
	idle   *time.Timer
	ready  chan struct{} // closed once the first read is attached
	err    error         // why the first read failed, when ready closed so
}

var _ Events = (*StreamFeed)(nil)

// AttachTimeout bounds how long opening a stream waits for its tenant's
// history to be read (the broker away: node_unavailable).
const AttachTimeout = 10 * time.Second

// NewStreamFeed builds a StreamFeed. log nil is a no-op logger.
func NewStreamFeed(hub *Hub, src HistorySource, linger time.Duration, log *zap.Logger) *StreamFeed {
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &StreamFeed{hub: hub, src: src, linger: linger, log: log.Named("history"), ctx: ctx, cancel: cancel,
		tenants: map[string]*tenantFeed{}}
}

// Tenants reports how many tenants' histories the feed reads.
func (sf *StreamFeed) Tenants() int {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return len(sf.tenants)
}

// Subscribe opens one stream of f.Tenant.
func (sf *StreamFeed) Subscribe(ctx context.Context, f EventFilter) (<-chan *callapi.Event, func(), error) {
	if f.Tenant == "" {
		f.Tenant = callapi.DefaultTenant
	}
	if err := sf.acquire(ctx, f.Tenant); err != nil {
		return nil, nil, err
	}
	var once sync.Once
	release := func() { once.Do(func() { sf.release(f.Tenant) }) }
	res := &streamResume{}
	if f.LastEventID != "" {
		if off, id, ok := parseCursor(f.LastEventID); ok {
			res.cursor, res.offset, res.id = true, off, id
		} else {
			res.id = f.LastEventID
		}
	}
	sub, cancel, err := sf.hub.subscribeStream(ctx, f, res)
	if err != nil {
		release()
		return nil, nil, err
	}
	if res.catchUp {
		sf.wg.Add(1)
		go func() { // owner: the feed (Close waits); ends with the subscription
			defer sf.wg.Done()
			sf.catchUp(sub, res)
		}()
	}
	stop := context.AfterFunc(ctx, release)
	return sub.c, func() {
		stop()
		cancel()
		release()
	}, nil
}

// catchUp reads sub's tenant's history from its resume point (or Since)
// into it until the hub's kept events continue it.
func (sf *StreamFeed) catchUp(sub *subscriber, res *streamResume) {
	defer sf.hub.endCatch(sub)
	ctx := sub.catchCtx // set before the goroutine started, never changed
	defer context.AfterFunc(sf.ctx, sub.catchCancel)()
	start := HistoryStart{Offset: -1, Time: sub.f.Since}
	if res.cursor {
		start = HistoryStart{Offset: res.offset}
	}
	first := res.cursor
	err := sf.src.Read(ctx, sub.f.Tenant, start, nil, func(off int64, e *callapi.Event) error {
		if first {
			// RabbitMQ starts a reader at the offset asked for (or at the
			// first one kept, after it): an earlier one means another
			// history (the stream declared anew).
			first = false
			if off != res.offset || e.ID != res.id { // gone from the history, or another history
				sf.hub.goLive(sub)
				return errStop
			}
			if sf.hub.handover(sub, off) { // the client has it
				return errStop
			}
			return nil
		}
		if !res.cursor && e.Time.Before(sub.f.Since) {
			return nil
		}
		if sub.f.Match(e) {
			if !sf.hub.beginSend(sub) {
				return errStop
			}
			e.Cursor = Cursor(off, e.ID)
			select {
			case sub.c <- e:
			case <-ctx.Done():
				sf.hub.handover(sub, -1)
				return errStop
			}
		}
		if sf.hub.handover(sub, off) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) && ctx.Err() == nil {
		sf.log.Warn("history read for a resuming stream failed; the stream ends and the client resumes", zap.String("tenant", sub.f.Tenant), zap.Error(err))
	}
}

func (sf *StreamFeed) acquire(ctx context.Context, tenant string) error {
	sf.mu.Lock()
	if sf.closed {
		sf.mu.Unlock()
		return ErrHubClosed
	}
	tf := sf.tenants[tenant]
	if tf == nil {
		sf.gen++
		tf = &tenantFeed{ready: make(chan struct{}), gen: sf.gen}
		sf.tenants[tenant] = tf
		rctx, cancel := context.WithCancel(sf.ctx)
		tf.cancel = cancel
		sf.wg.Add(1)
		go func() { // owner: the feed; ends when the tenant's last stream lingered out, or Close
			defer sf.wg.Done()
			sf.follow(rctx, tenant, tf)
		}()
	}
	if tf.idle != nil {
		tf.idle.Stop()
		tf.idle = nil
	}
	tf.users++
	sf.mu.Unlock()
	wait := time.NewTimer(AttachTimeout)
	defer wait.Stop()
	select {
	case <-tf.ready:
		if tf.err != nil {
			sf.release(tenant)
			return tf.err
		}
		return nil
	case <-wait.C:
		sf.release(tenant)
		return callapi.Errorf(callapi.CodeNodeUnavailable, "event history not reachable within %v", AttachTimeout)
	case <-ctx.Done():
		sf.release(tenant)
		return ctx.Err()
	}
}

func (sf *StreamFeed) release(tenant string) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	tf := sf.tenants[tenant]
	if tf == nil {
		return
	}
	tf.users--
	if tf.users > 0 || sf.closed {
		return
	}
	stop := func() {
		tf.cancel()
		delete(sf.tenants, tenant)
	}
	select {
	case <-tf.ready:
		if tf.err != nil {
			stop()
			return
		}
	default:
	}
	tf.idle = time.AfterFunc(sf.linger, func() {
		sf.mu.Lock()
		defer sf.mu.Unlock()
		if sf.tenants[tenant] == tf && tf.users == 0 {
			stop()
			sf.log.Info("no stream of the tenant left: its history is no longer read", zap.String("tenant", tenant))
		}
	})
}

// follow reads tenant's history into the hub from the next event on,
// again from where it stopped after a failure, until ctx ends.
func (sf *StreamFeed) follow(ctx context.Context, tenant string, tf *tenantFeed) {
	defer sf.hub.resetStream(tenant, tf.gen)
	var once sync.Once
	attached := func() { once.Do(func() { close(tf.ready) }) }
	last := int64(-1)
	for fails := 0; ctx.Err() == nil; {
		start := HistoryStart{Offset: -1}
		if last >= 0 {
			start.Offset = last + 1
		}
		first := true
		err := sf.src.Ensure(ctx, tenant)
		if err == nil {
			err = sf.src.Read(ctx, tenant, start, attached, func(off int64, e *callapi.Event) error {
				if first && start.Offset >= 0 && off < start.Offset {
					// The history begins again (its stream was deleted
					// and declared anew): what the hub keeps is another
					// history's.
					sf.log.Warn("the tenant's history begins again; its streams resume from it", zap.String("tenant", tenant))
					sf.hub.resetStream(tenant, tf.gen)
					last = -1
				}
				first = false
				if off <= last {
					return nil
				}
				last = off
				fails = 0
				sf.hub.publishAt(tenant, tf.gen, off, e)
				return nil
			})
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-tf.ready:
		default:
			tf.err = callapi.Wrap(callapi.CodeNodeUnavailable, "restapi.StreamFeed", err, "event history unavailable")
			attached()
			return
		}
		sf.log.Warn("reading the tenant's history failed; reading on", zap.String("tenant", tenant), zap.Int64("from", last+1), zap.Error(err))
		if last < 0 {
			// Nothing read yet: where it stopped is unknown, so the live
			// streams start over (they resume with their cursor).
			sf.hub.resetStream(tenant, tf.gen)
		}
		fails++
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(fails)*200*time.Millisecond, 2*time.Second)):
		}
	}
}

// Close stops every read and ends the streams' subscriptions; later
// Subscribe calls fail with ErrHubClosed.
func (sf *StreamFeed) Close() {
	sf.mu.Lock()
	sf.closed = true
	for _, tf := range sf.tenants {
		if tf.idle != nil {
			tf.idle.Stop()
		}
	}
	sf.mu.Unlock()
	sf.cancel()
	sf.wg.Wait()
}
