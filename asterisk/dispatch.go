package asterisk

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// Event flow: the WebSocket reader decodes each ARI message and hands it to
// the shard of the channel (or bridge) it is about; one goroutine per shard
// maps it to CallAPI events and publishes them. So one call's events are
// published in ARI's order, calls on different shards do not wait for each
// other, and a slow sink stalls intake only for EnqueueTimeout per event:
// then the event is dropped, counted (Stats.EventsDropped) and logged.
//
// When the sink can publish without waiting for the broker's confirm
// (AsyncSink: amqpbus.Bus), a shard keeps up to Config.PublishWindow
// published events waiting for their confirms and blocks only when the
// window is full; a confirmer goroutine per shard waits for them in publish
// order and does the accounting. Every event ends in exactly one of
// Stats.EventsPublished (confirmed) and Stats.PublishErrors (refused,
// unconfirmed within PublishTimeout of its publishing, or its channel lost:
// logged), as with a synchronous sink. Only call.hangup is retried (for
// HangupRetryFor, in the background): it is the event a subscriber must
// not miss — without it the call stays alive in its books — and, being a
// call's last, it cannot overtake another of its events.

type itemKind uint8

const (
	kindEvent      itemKind = iota // an ARI event
	kindSeen                       // a channel read over REST after a (re)connect
	kindGone                       // a call whose channel was missing on re-read
	kindVerify                     // check over REST whether a call's channel still exists
	kindHold                       // a hold (on) or unhold command succeeded on call id
	kindBridgeGone                 // callgw destroyed bridge id (or found it missing)
	kindBarrier                    // nothing: its done closes once the items before it were processed
	kindMedia                      // a playback or recording control operation on call id was accepted
)

type item struct {
	kind itemKind
	on   bool // kindHold: hold (true) or unhold
	ev   *ariEvent
	raw  []byte
	ch   *ariChannel
	id   string            // channel id for kindGone/kindVerify/kindHold/kindMedia; "bridge:<id>" for kindBridgeGone
	typ  callapi.EventType // kindMedia: the event to publish, with data
	data any
	// done, when not nil, is closed once the item was processed and its
	// events handed to the publisher (a command waiting for an adoption).
	done chan struct{}
}

// relevant lists the ARI event types the normalizer uses: after each connect
// Asterisk is asked to send the app only these (filterEvents), and any other
// that still comes (ChannelVarset, ChannelDialplan, … from an Asterisk
// without event filters, or before the filter was set) is dropped at intake.
var relevant = map[string]bool{
	"StasisStart": true, "StasisEnd": true, "ChannelStateChange": true, "ChannelDestroyed": true,
	"ChannelHangupRequest": true, "Dial": true, "ChannelDtmfReceived": true,
	"ChannelHold": true, "ChannelUnhold": true, "PlaybackStarted": true, "PlaybackFinished": true,
	"RecordingStarted": true, "RecordingFinished": true, "RecordingFailed": true,
	"ChannelEnteredBridge": true, "ChannelLeftBridge": true, "BridgeCreated": true, "BridgeDestroyed": true,
	"TextMessageReceived": true,
	"EndpointStateChange": true, "ContactStatusChange": true, "PeerStatusChange": true, "DeviceStateChanged": true,
}

// ariEventFilter is the body of PUT /applications/{app}/eventFilter.
type ariEventFilter struct {
	Allowed    []ariEventType `json:"allowed"`
	Disallowed []ariEventType `json:"disallowed"`
}

type ariEventType struct {
	Type string `json:"type"`
}

// eventFilter allows relevant and ApplicationReplaced (Asterisk filters that
// one too: app_update sends it through the app's handler) and empties the
// disallowed list (which would win over allowed) that an earlier client of
// the app may have left.
var eventFilter = func() ariEventFilter {
	f := ariEventFilter{Allowed: []ariEventType{{Type: "ApplicationReplaced"}}, Disallowed: []ariEventType{}}
	for t := range relevant {
		f.Allowed = append(f.Allowed, ariEventType{Type: t})
	}
	slices.SortFunc(f.Allowed, func(a, b ariEventType) int { return strings.Compare(a.Type, b.Type) })
	return f
}()

func (p *PBX) shardOf(key string) chan item {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return p.shards[h.Sum32()%uint32(len(p.shards))]
}

func (it *item) key() string {
	switch it.kind {
	case kindEvent:
		ch, br := it.ev.subject()
		if ch != "" {
			return ch
		}
		return "bridge:" + br
	case kindSeen:
		return it.ch.ID
	}
	return it.id
}

// enqueue hands it to its shard, waiting at most EnqueueTimeout when the
// shard is full; it reports whether it was queued.
func (p *PBX) enqueue(ctx context.Context, it item) bool {
	q := p.shardOf(it.key())
	select {
	case q <- it:
		return true
	default:
	}
	t := time.NewTimer(p.cfg.EnqueueTimeout)
	defer t.Stop()
	select {
	case q <- it:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	p.stats.dropped.Add(1)
	f := []zap.Field{zap.String("call_id", it.key()), zap.Int("kind", int(it.kind))}
	if it.ev != nil {
		f = append(f, zap.String("ari_event", it.ev.Type))
	}
	if ctx.Err() != nil {
		p.log.Warn("stopping: ARI event not processed", f...)
	} else {
		p.log.Error("event queue full, ARI event dropped", f...)
	}
	return false
}

// flush waits until every shard processed the items queued before it was
// called (or ctx ended).
func (p *PBX) flush(ctx context.Context) {
	dones := make([]chan struct{}, 0, len(p.shards))
	for _, q := range p.shards {
		done := make(chan struct{})
		select {
		case q <- item{kind: kindBarrier, done: done}:
			dones = append(dones, done)
		case <-ctx.Done():
			return
		}
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return
		}
	}
}

// runShards starts one worker per shard; they stop when ctx ends.
func (p *PBX) runShards(ctx context.Context, wg *sync.WaitGroup) {
	async, _ := p.sink.(AsyncSink)
	if p.cfg.PublishWindow <= 1 {
		async = nil
	}
	for _, q := range p.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			publish := func(e *callapi.Event) { p.publish(ctx, e) }
			if async != nil {
				w := p.newWindow(ctx, async)
				defer w.close() // after the loop: waits for the confirms still due
				publish = w.publish
			}
			for {
				select {
				case <-ctx.Done():
					if n := len(q); n > 0 {
						p.log.Warn("stopping with unprocessed ARI events", zap.Int("events", n))
					}
					return
				case it := <-q:
					for _, e := range p.process(ctx, it) {
						publish(e)
					}
					if it.done != nil {
						close(it.done)
					}
				}
			}
		}()
	}
}

// process maps one item to the CallAPI events to publish, in order.
func (p *PBX) process(ctx context.Context, it item) []*callapi.Event {
	var evs []*callapi.Event
	switch it.kind {
	case kindEvent:
		if it.ev.Type == "TextMessageReceived" {
			return p.messageEvent(it.ev, it.raw)
		}
		if evs, ok := p.extMediaEvent(it.ev); ok {
			return evs
		}
		if it.ev.Type == "StasisStart" && it.ev.Channel != nil && isMediaChannel(it.ev.Channel.Name) {
			return nil // external media of another worker or before a restart: no call
		}
		if nodeEventTypes[it.ev.Type] {
			return p.nodeEvent(it.ev.Type, it.raw)
		}
		var m *meta
		if it.ev.Type == "StasisStart" && it.ev.Channel != nil && !p.calls.known(callapi.CallID(it.ev.Channel.ID)) {
			m = p.lookupMeta(ctx, it.ev.Channel)
		}
		evs = p.calls.handleEvent(it.ev, it.raw, m)
		p.hangupMediaOf(evs)
	case kindSeen:
		if isMediaChannel(it.ch.Name) {
			p.orphanMedia(it.ch.ID)
			return nil
		}
		var m *meta
		if !p.calls.known(callapi.CallID(it.ch.ID)) && it.ch.stasisApp() == p.cfg.App {
			m = p.lookupMeta(ctx, it.ch)
		}
		evs = p.calls.handleSeen(it.ch, m)
	case kindGone:
		evs = p.calls.handleGone(callapi.CallID(it.id))
	case kindVerify:
		err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(it.id), nil, nil, nil)
		if ariStatus(err) == http.StatusNotFound {
			evs = p.calls.handleGone(callapi.CallID(it.id))
		}
	case kindHold:
		evs = p.calls.handleHold(callapi.CallID(it.id), it.on)
	case kindBridgeGone:
		evs = p.bridges.handleGone(callapi.BridgeID(strings.TrimPrefix(it.id, "bridge:")))
	case kindMedia:
		evs = p.calls.handleMedia(callapi.CallID(it.id), it.typ, it.data)
	}
	return evs
}

// publish publishes e and waits for the sink's verdict.
func (p *PBX) publish(ctx context.Context, e *callapi.Event) {
	pctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
	defer cancel()
	if err := p.sink.PublishEvent(pctx, e); err != nil {
		p.publishFailed(newSent(e), err)
		return
	}
	p.stats.published.Add(1)
}

// HangupRetryFor is how long a call.hangup the sink refused (or did not
// confirm: the broker connection was lost) is retried in the background.
const HangupRetryFor = time.Minute

func newSent(e *callapi.Event) sent {
	s := sent{callID: e.CallID, bridgeID: e.BridgeID, typ: e.Type, seq: e.Seq}
	if e.Type == callapi.EvCallHangup {
		s.ev = e
	}
	return s
}

// publishFailed counts and logs an event the sink refused or did not
// confirm; a call.hangup is retried.
func (p *PBX) publishFailed(s sent, err error) {
	p.stats.publishErr.Add(1)
	if s.ev != nil && p.retryHangup(s.ev, err) {
		return
	}
	p.log.Error("publishing event failed", zap.String("call_id", string(s.callID)), zap.String("bridge_id", string(s.bridgeID)),
		zap.String("type", string(s.typ)), zap.Uint64("seq", s.seq), zap.Error(err))
}

// retryHangup republishes e in the background until the sink takes it,
// HangupRetryFor passed or the PBX stops; false when the PBX is stopping.
func (p *PBX) retryHangup(e *callapi.Event, first error) bool {
	ctx, wg := p.bgCtx, p.bgWG
	if ctx == nil || ctx.Err() != nil {
		return false
	}
	log := p.log.With(zap.String("call_id", string(e.CallID)), zap.Uint64("seq", e.Seq))
	log.Warn("call.hangup not published, retrying", zap.Error(first))
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(HangupRetryFor)
		for attempt := 0; ; attempt++ {
			if !retry.Sleep(ctx, retry.Backoff(attempt, 100*time.Millisecond, 2*time.Second)) {
				log.Error("stopping: call.hangup not published", zap.Error(first))
				return
			}
			pctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
			err := p.sink.PublishEvent(pctx, e)
			cancel()
			if err == nil {
				p.stats.published.Add(1)
				p.stats.republished.Add(1)
				log.Info("call.hangup published on retry")
				return
			}
			if time.Now().After(deadline) {
				log.Error("call.hangup not published: giving up", zap.Duration("retried_for", HangupRetryFor), zap.Error(err))
				return
			}
		}
	}()
	return true
}

// Confirm is the broker's pending verdict on an event published
// asynchronously: Wait returns nil once the broker confirmed every message
// of the event, an error when it refused one, when one was returned
// unroutable, when the channel or the connection was lost first, or when
// ctx ends first (then Wait may be called again). After a verdict Wait
// keeps returning it.
//
// It is declared here, by its consumer, and nowhere else. It is an alias
// of an unnamed interface type because the publisher (amqpbus.Bus) must not
// import this package: amqpbus spells the same literal as the result of
// PublishEventAsync, and Go's identical-type rule makes *amqpbus.Bus an
// AsyncSink. worker.JournalSink asserts that at compile time (worker/sink.go).
type Confirm = interface {
	Wait(ctx context.Context) error
}

// AsyncSink is an EventSink that can publish an event without waiting for
// the broker's confirm (amqpbus.Bus). Events of one call published one
// after the other must reach subscribers in that order, confirmed or not.
// NewPBX detects it on its EventSink with a type assertion.
type AsyncSink interface {
	PublishEventAsync(ctx context.Context, e *callapi.Event) (Confirm, error)
}

// sent is an event waiting for its confirm: what accounting and the log
// line of a failure need, not the event (nor its raw ARI payload).
type sent struct {
	c        Confirm
	deadline time.Time
	callID   callapi.CallID
	bridgeID callapi.BridgeID
	typ      callapi.EventType
	seq      uint64
	ev       *callapi.Event // call.hangup only: retried when it fails
}

// window is a shard's published events waiting for their confirms, at
// most Config.PublishWindow. The shard publishes; the confirmer goroutine
// waits for the confirms in publish order and counts them.
type window struct {
	p     *PBX
	ctx   context.Context // the shard's: publishing stops with it
	base  context.Context // ctx without its cancellation: confirms due at shutdown are still awaited
	sink  AsyncSink
	slots chan struct{} // one per unconfirmed event
	sent  chan sent
	done  chan struct{} // closed when the confirmer has ended
}

func (p *PBX) newWindow(ctx context.Context, sink AsyncSink) *window {
	w := &window{
		p: p, ctx: ctx, base: context.WithoutCancel(ctx), sink: sink,
		slots: make(chan struct{}, p.cfg.PublishWindow),
		sent:  make(chan sent, p.cfg.PublishWindow),
		done:  make(chan struct{}),
	}
	go w.confirmer() // owner: the shard, which ends it with close
	return w
}

// publish publishes e, first waiting for a free slot while the window is
// full. Like a synchronous publish, e has PublishTimeout from here to be
// published and confirmed.
func (w *window) publish(e *callapi.Event) {
	w.slots <- struct{}{} // freed by the confirmer, each wait bounded by a deadline
	s := newSent(e)
	s.deadline = time.Now().Add(w.p.cfg.PublishTimeout)
	pctx, cancel := context.WithDeadline(w.ctx, s.deadline)
	c, err := w.sink.PublishEventAsync(pctx, e)
	cancel()
	if err != nil {
		<-w.slots
		w.p.publishFailed(s, err)
		return
	}
	if c == nil { // nothing to wait for: the sink took it
		<-w.slots
		w.p.stats.published.Add(1)
		return
	}
	s.c = c
	w.sent <- s // never blocks: slots bounds it
}

func (w *window) confirmer() {
	defer close(w.done)
	for s := range w.sent {
		ctx, cancel := context.WithDeadline(w.base, s.deadline)
		err := s.c.Wait(ctx)
		cancel()
		<-w.slots
		if err != nil {
			w.p.publishFailed(s, err)
			continue
		}
		w.p.stats.published.Add(1)
	}
}

// close waits for the confirms still due (each within its deadline) and
// ends the confirmer. The shard calls it once it no longer publishes.
func (w *window) close() {
	if n := len(w.sent); n > 0 {
		w.p.log.Debug("stopping: waiting for event confirms", zap.Int("events", n))
	}
	close(w.sent)
	<-w.done
}

// lookupMeta learns the tenant, tags and direction of a channel callgw did
// not originate in this process: from the channel's channelvars when
// ari.conf exports them, else by reading the variables over REST.
func (p *PBX) lookupMeta(ctx context.Context, ch *ariChannel) *meta {
	get := func(name string) string {
		if v, ok := ch.Channelvars[name]; ok {
			return v
		}
		var out struct {
			Value string `json:"value"`
		}
		err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(ch.ID)+"/variable", url.Values{"variable": {name}}, nil, &out)
		if err != nil && ariStatus(err) != http.StatusNotFound {
			p.log.Warn("reading channel variable failed", zap.String("call_id", ch.ID), zap.String("variable", name), zap.Error(err))
		}
		return out.Value
	}
	m := &meta{tenant: get(VarTenant), dir: callapi.Inbound}
	if m.tenant == "" { // callgw sets CALLGW_TENANT on every call it originates
		m.tenant = p.cfg.Tenant
		return m
	}
	if !callapi.ValidTenant(m.tenant) {
		p.log.Warn("invalid CALLGW_TENANT on channel, using the default", zap.String("call_id", ch.ID), zap.String("value", m.tenant))
		m.tenant = p.cfg.Tenant
	}
	if get(VarDirection) == string(callapi.Outbound) {
		m.dir = callapi.Outbound
		if tags := get(VarTags); tags != "" {
			for _, t := range strings.Split(tags, ",") {
				if callapi.ValidTag(t) {
					m.tags = append(m.tags, t)
				}
			}
		}
	}
	return m
}
