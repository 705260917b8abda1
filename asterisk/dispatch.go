package asterisk

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/gateway"
)

// Event flow: the WebSocket reader decodes each ARI message and hands it to
// the shard of the channel (or bridge) it is about; one goroutine per shard
// maps it to CallAPI events and publishes them. So one call's events are
// published in ARI's order, calls on different shards do not wait for each
// other, and a slow sink stalls intake only for EnqueueTimeout per event:
// then the event is dropped, counted (Stats.EventsDropped) and logged.

type itemKind uint8

const (
	kindEvent      itemKind = iota // an ARI event
	kindSeen                       // a channel read over REST after a (re)connect
	kindGone                       // a call whose channel was missing on re-read
	kindVerify                     // check over REST whether a call's channel still exists
	kindHold                       // a hold (on) or unhold command succeeded on call id
	kindBridgeGone                 // callgw destroyed bridge id (or found it missing)
)

type item struct {
	kind itemKind
	on   bool // kindHold: hold (true) or unhold
	ev   *ariEvent
	raw  []byte
	ch   *ariChannel
	id   string // channel id for kindGone/kindVerify/kindHold; "bridge:<id>" for kindBridgeGone
}

// relevant lists the ARI event types the normalizer uses; the others
// (ChannelVarset, ChannelDialplan, …) are dropped at intake.
var relevant = map[string]bool{
	"StasisStart": true, "StasisEnd": true, "ChannelStateChange": true, "ChannelDestroyed": true,
	"ChannelHangupRequest": true, "Dial": true, "ChannelDtmfReceived": true,
	"ChannelHold": true, "ChannelUnhold": true, "PlaybackStarted": true, "PlaybackFinished": true,
	"RecordingStarted": true, "RecordingFinished": true, "RecordingFailed": true,
	"ChannelEnteredBridge": true, "ChannelLeftBridge": true, "BridgeCreated": true, "BridgeDestroyed": true,
}

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

// runShards starts one worker per shard; they stop when ctx ends.
func (p *PBX) runShards(ctx context.Context, wg *sync.WaitGroup) {
	for _, q := range p.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					if n := len(q); n > 0 {
						p.log.Warn("stopping with unprocessed ARI events", zap.Int("events", n))
					}
					return
				case it := <-q:
					p.process(ctx, it)
				}
			}
		}()
	}
}

// process maps one item to CallAPI events and publishes them in order.
func (p *PBX) process(ctx context.Context, it item) {
	var evs []*gateway.Event
	switch it.kind {
	case kindEvent:
		var m *meta
		if it.ev.Type == "StasisStart" && it.ev.Channel != nil && !p.calls.known(gateway.CallID(it.ev.Channel.ID)) {
			m = p.lookupMeta(ctx, it.ev.Channel)
		}
		evs = p.calls.handleEvent(it.ev, it.raw, m)
	case kindSeen:
		var m *meta
		if !p.calls.known(gateway.CallID(it.ch.ID)) && it.ch.stasisApp() == p.cfg.App {
			m = p.lookupMeta(ctx, it.ch)
		}
		evs = p.calls.handleSeen(it.ch, m)
	case kindGone:
		evs = p.calls.handleGone(gateway.CallID(it.id))
	case kindVerify:
		err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(it.id), nil, nil, nil)
		if ariStatus(err) == http.StatusNotFound {
			evs = p.calls.handleGone(gateway.CallID(it.id))
		}
	case kindHold:
		evs = p.calls.handleHold(gateway.CallID(it.id), it.on)
	case kindBridgeGone:
		evs = p.calls.handleBridgeGone(gateway.BridgeID(strings.TrimPrefix(it.id, "bridge:")))
	}
	for _, e := range evs {
		p.publish(ctx, e)
	}
}

func (p *PBX) publish(ctx context.Context, e *gateway.Event) {
	pctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
	defer cancel()
	if err := p.sink.PublishEvent(pctx, e); err != nil {
		p.stats.publishErr.Add(1)
		p.log.Error("publishing event failed", zap.String("call_id", string(e.CallID)), zap.String("bridge_id", string(e.BridgeID)),
			zap.String("type", string(e.Type)), zap.Uint64("seq", e.Seq), zap.Error(err))
		return
	}
	p.stats.published.Add(1)
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
	m := &meta{tenant: get(VarTenant), dir: gateway.Inbound}
	if m.tenant == "" { // callgw sets CALLGW_TENANT on every call it originates
		m.tenant = p.cfg.Tenant
		return m
	}
	if !gateway.ValidTenant(m.tenant) {
		p.log.Warn("invalid CALLGW_TENANT on channel, using the default", zap.String("call_id", ch.ID), zap.String("value", m.tenant))
		m.tenant = p.cfg.Tenant
	}
	if get(VarDirection) == string(gateway.Outbound) {
		m.dir = gateway.Outbound
		if tags := get(VarTags); tags != "" {
			for _, t := range strings.Split(tags, ",") {
				if gateway.ValidTag(t) {
					m.tags = append(m.tags, t)
				}
			}
		}
	}
	return m
}
