package asterisk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// PBX drives one Asterisk over ARI: REST calls for commands, the events
// WebSocket for what happens. It implements callapi.PBX, and
// callapi.CallControl, callapi.BridgeControl and callapi.MediaControl.
type PBX struct {
	cfg     Config
	log     *zap.Logger
	sink    callapi.EventSink
	rest    *restClient
	placing *placer      // originates being placed (Config.MaxPlacing)
	calls   *callTable   // the live calls; maps the ARI events
	bridges *bridgeTable // the bridges created through callgw (calls.bridges)
	shards  []chan item

	// endpointStates is the last state seen of each endpoint
	// (EndpointStateChange is sent on any change of the endpoint).
	nodeMu         sync.Mutex
	endpointStates map[string]string

	running   atomic.Bool
	connected atomic.Bool
	onHealth  atomic.Pointer[func()] // OnHealthChange
	readyOnce sync.Once
	ready     chan struct{}

	mu       sync.Mutex // guards the fields below
	replaced string     // why the app was taken over, "" if it was not
	astID    string
	astVer   string

	stats stats

	// bgCtx and bgWG own the background retries of call.hangup (set by
	// Run before any event is processed).
	bgCtx context.Context
	bgWG  *sync.WaitGroup

	extm extTable // live external media channels (extmedia.go)
}

var _ callapi.PBX = (*PBX)(nil)

// OnHealthChange sets fn to be called (it must not block) each time the
// node's health as Info reports it may have changed: the events WebSocket
// connected or lost, the app replaced. A worker beats at once then
// (worker.Announcer.BeatNow), so that gateways route to a PBX within
// moments of its return instead of at the next heartbeat.
func (p *PBX) OnHealthChange(fn func()) { p.onHealth.Store(&fn) }

func (p *PBX) healthChanged() {
	if fn := p.onHealth.Load(); fn != nil && *fn != nil {
		(*fn)()
	}
}

// NewPBX builds a PBX. It does no I/O: Run connects.
func NewPBX(cfg Config, events callapi.EventSink) (*PBX, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("asterisk: %w", err)
	}
	if events == nil {
		return nil, fmt.Errorf("asterisk: %w", callapi.Invalid("events", "an EventSink is required"))
	}
	p := &PBX{
		endpointStates: map[string]string{},
		cfg:            cfg,
		log:            cfg.Log.Named("asterisk").With(zap.String("node", string(cfg.Node)), zap.String("app", cfg.App)),
		sink:           events,
		rest:           newRESTClient(cfg.URL, cfg.User, cfg.Password, cfg.RequestTimeout, cfg.MaxConns),
		placing:        newPlacer(cfg.MaxPlacing, cfg.MaxPlacingWait),
		calls:          newCallTable(cfg.Node, cfg.Tenant),
		ready:          make(chan struct{}),
	}
	p.bridges = p.calls.bridges
	if cfg.Observer != nil {
		p.rest.observe = cfg.Observer.ARIRequest
		p.calls.onEnded = cfg.Observer.CallEnded
	}
	p.shards = make([]chan item, cfg.Shards)
	for i := range p.shards {
		p.shards[i] = make(chan item, cfg.QueueSize)
	}
	return p, nil
}

// Ready waits until the events WebSocket connected for the first time and
// the channels already in the app were adopted.
func (p *PBX) Ready(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return callapi.Wrap(callapi.CodeNodeUnavailable, "asterisk.Ready", ctx.Err(), "ARI not connected")
	}
}

// serving reports why the PBX cannot take new calls: the events WebSocket
// is down, the first re-read is not done, or the app was taken over. The
// error is node_unavailable (nothing was done: retry, elsewhere or later).
func (p *PBX) serving() error {
	switch {
	case p.isReplaced():
		return callapi.Errorf(callapi.CodeNodeUnavailable, "node %s is unhealthy: its ARI application was taken over by another connection", p.cfg.Node)
	case !p.connected.Load():
		return callapi.Errorf(callapi.CodeNodeUnavailable, "node %s is unhealthy: ARI events not connected", p.cfg.Node)
	}
	select {
	case <-p.ready:
		return nil
	default:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "node %s is starting: the calls on its PBX are not re-read yet", p.cfg.Node)
	}
}

// findCall returns the live call id of tenant. A call this worker does not
// track is not declared absent on its own word: a command waits until the
// first re-read has adopted the PBX's calls, then Asterisk is asked, and a
// channel in the app that the worker missed (created by an earlier worker
// and not yet adopted, or whose StasisStart was lost) is adopted through
// its event shard, in order with its events. A call of another tenant, or
// one that ended here, is not_found without asking Asterisk.
func (p *PBX) findCall(ctx context.Context, op, tenant string, id callapi.CallID) (*call, error) {
	if c := p.calls.get(tenant, id); c != nil {
		return c, nil
	}
	notFound := callapi.Errorf(callapi.CodeNotFound, "call %s not found", id)
	if p.calls.known(id) {
		return nil, notFound
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, ctx.Err(), "node "+string(p.cfg.Node)+" has not re-read its PBX's calls yet: retry")
	}
	if c := p.calls.get(tenant, id); c != nil {
		return c, nil
	}
	if p.calls.known(id) {
		return nil, notFound
	}
	var ch ariChannel
	err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(string(id)), nil, nil, &ch)
	if ariStatus(err) == http.StatusNotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, mapErr(op, err, "call "+string(id), "")
	}
	if ch.stasisApp() != p.cfg.App {
		return nil, notFound
	}
	done := make(chan struct{})
	if !p.enqueue(ctx, item{kind: kindSeen, ch: &ch, done: done}) {
		return nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "call "+string(id)+" could not be adopted in time")
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "call "+string(id)+" could not be adopted in time")
	}
	if c := p.calls.get(tenant, id); c != nil {
		p.log.Info("adopted a call the worker did not track, on a command", zap.String("call_id", string(id)))
		return c, nil
	}
	return nil, notFound
}

// verify asks the call's event worker to check that the channel still
// exists, and to end the call if it does not.
func (p *PBX) verify(ctx context.Context, id callapi.CallID) {
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindVerify, id: string(id)})
}

// Call returns a live call of tenant.
func (p *PBX) Call(ctx context.Context, tenant string, id callapi.CallID) (*callapi.Call, error) {
	c, err := p.findCall(ctx, "asterisk.Call", tenant, id)
	if err != nil {
		return nil, err
	}
	return p.calls.snapshot(c), nil
}

// Calls returns the live calls of tenant, oldest first (not those whose
// originate is still waiting for Asterisk's answer).
func (p *PBX) Calls(ctx context.Context, tenant string) ([]*callapi.Call, error) {
	return p.calls.list(tenant), nil
}

// Hangup hangs a call of tenant up with an ARI reason (default normal). The
// reason is one of callapi.HangupReasons (the executor checked it; Asterisk
// refuses any other).
func (p *PBX) Hangup(ctx context.Context, tenant string, id callapi.CallID, reason string) error {
	const op = "asterisk.Hangup"
	if reason == "" {
		reason = "normal"
	}
	c, err := p.findCall(ctx, op, tenant, id)
	if err != nil {
		return err
	}
	// The reason is ours only once Asterisk took the DELETE: a call whose
	// DELETE failed and that is later found gone (lost with the PBX) ends
	// with the PBX's reason, not "api". Events the DELETE causes may be
	// processed before its answer: they see the reason in flight.
	p.calls.setTry(c, reason)
	err = p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(string(id)), url.Values{"reason": {reason}}, nil, nil)
	switch {
	case err == nil:
		p.calls.hungUp(c, reason)
	case ariStatus(err) == http.StatusNotFound:
		p.calls.setTry(c, "")
		p.verify(ctx, id) // gone already: make sure subscribers hear of it
	default:
		p.calls.setTry(c, "")
	}
	return mapErr(op, err, "call "+string(id), notInStasis)
}

// Info describes the node for heartbeats. It answers even when Asterisk is
// unreachable (Healthy false, with the reason).
func (p *PBX) Info(ctx context.Context) (callapi.PBXInfo, error) {
	var ai ari.AsteriskInfo
	err := p.rest.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, &ai)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.astID, p.astVer = ai.SystemInfo.EntityID, ai.SystemInfo.Version
	}
	info := callapi.PBXInfo{
		AsteriskID: p.astID, AsteriskVersion: p.astVer, App: p.cfg.App,
		Calls: p.calls.count(), Healthy: true,
	}
	switch {
	case p.replaced != "":
		info.Healthy, info.Reason = false, p.replaced
	case err != nil:
		info.Healthy, info.Reason = false, "asterisk unreachable: "+callapi.ErrorMessage(mapErr("asterisk.Info", err, "asterisk info", ""))
	case !p.connected.Load():
		info.Healthy, info.Reason = false, "ARI events websocket not connected"
	}
	return info, nil
}

// Stats are counters for tests, logs and metrics.
type Stats struct {
	EventsIn          int64 // ARI events received
	EventsPublished   int64 // CallAPI events published
	EventsDropped     int64 // ARI events dropped because a call queue stayed full
	PublishErrors     int64 // CallAPI events the sink refused (logged)
	DecodeErrors      int64 // undecodable ARI messages (logged)
	EventsSkipped     int64 // ARI events of types callgw ignores, dropped before decoding
	RequestsAbandoned int64 // ARI REST calls given up because their ctx ended
	Connects          int64 // successful events WebSocket connections
	Republished       int64 // call.hangup events published on retry (also in EventsPublished)
	Calls             int   // live calls
}

type stats struct {
	in, published, dropped, publishErr, decodeErr, connects, skipped, republished atomic.Int64
}

// Stats returns the PBX's counters.
func (p *PBX) Stats() Stats {
	return Stats{
		EventsIn: p.stats.in.Load(), EventsPublished: p.stats.published.Load(),
		EventsDropped: p.stats.dropped.Load(), PublishErrors: p.stats.publishErr.Load(),
		DecodeErrors: p.stats.decodeErr.Load(), RequestsAbandoned: p.rest.abandoned.Load(),
		Connects: p.stats.connects.Load(), Calls: p.calls.count(), EventsSkipped: p.stats.skipped.Load(),
		Republished: p.stats.republished.Load(),
	}
}

var errRunning = errors.New("asterisk: Run called twice")
