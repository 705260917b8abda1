package asterisk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"

	"github.com/callgw/callgw/gateway"
)

// Channel variables callgw reads and sets.
const (
	VarTenant    = "CALLGW_TENANT"    // tenant of the call (inbound: set in the dialplan to override Config.Tenant)
	VarTags      = "CALLGW_TAGS"      // comma-separated tags of an originated call
	VarDirection = "CALLGW_DIRECTION" // "outbound" on originated calls
)

// Config configures a PBX. Node, URL, User, Password and App are required.
type Config struct {
	Node     gateway.NodeID
	URL      string // http://host:8088/ari
	User     string
	Password string
	App      string // Stasis application, e.g. "callgw"
	// Tenant is the default tenant of inbound calls; the channel variable
	// CALLGW_TENANT overrides it. Empty means gateway.DefaultTenant.
	Tenant string
	Log    *zap.Logger // nil = nop

	// Optional tuning; zero values take the defaults in brackets.
	RequestTimeout time.Duration // per ARI REST call whose ctx has no deadline [5s]
	MaxConns       int           // ARI REST connection pool per host [64]
	ReconnectMin   time.Duration // first reconnect delay [100ms]
	ReconnectMax   time.Duration // longest reconnect delay [500ms: recovery within 1 s of the PBX's return]
	PublishTimeout time.Duration // per EventSink.PublishEvent [5s]
	EnqueueTimeout time.Duration // how long ARI intake waits for a full call queue before dropping [2s]
	Shards         int           // event workers; a call's events always go to the same one [32]
	QueueSize      int           // ARI events buffered per worker [256]
	// PublishWindow is how many published CallAPI events a worker may have
	// waiting for the broker's confirm when the sink confirms
	// asynchronously (amqpbus.Bus does); it waits only when the window is
	// full. 1 publishes synchronously, one confirm at a time [256].
	PublishWindow int
	// Observer, when set, is told of every ARI REST request and every call
	// that ended (metrics: see cmd/internal/stack).
	Observer Observer
}

// Observer receives the adapter's measurements. Its methods are called
// from the request and event paths and must return promptly.
type Observer interface {
	// ARIRequest is one ARI REST call: its method, the route with ids
	// replaced by {id} (a bounded label), the HTTP status (0 when no
	// answer came) and how long it took.
	ARIRequest(method, route string, status int, d time.Duration)
	// CallEnded is a call's end: its Q.850 cause and who or what ended it
	// (the reason of call.hangup).
	CallEnded(cause int, reason string)
}

func (c *Config) validate() error {
	switch {
	case !gateway.ValidNodeID(string(c.Node)):
		return gateway.Invalid("node", "%q is not a valid node id", c.Node)
	case c.URL == "":
		return gateway.Invalid("url", "ARI URL required (http://host:8088/ari)")
	case c.App == "":
		return gateway.Invalid("app", "Stasis application name required")
	case c.User == "":
		return gateway.Invalid("user", "ARI user required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return gateway.Invalid("url", "%q is not an http(s) URL", c.URL)
	}
	if c.Tenant == "" {
		c.Tenant = gateway.DefaultTenant
	}
	if !gateway.ValidTenant(c.Tenant) {
		return gateway.Invalid("tenant", "%q is not a valid tenant", c.Tenant)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.ReconnectMin, 100*time.Millisecond)
	def(&c.ReconnectMax, 500*time.Millisecond)
	def(&c.PublishTimeout, 5*time.Second)
	def(&c.EnqueueTimeout, 2*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 64
	}
	if c.Shards <= 0 {
		c.Shards = 32
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.PublishWindow <= 0 {
		c.PublishWindow = 256
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	return nil
}

// PBX drives one Asterisk over ARI: REST calls for commands, the events
// WebSocket for what happens. It implements gateway.PBX, and
// gateway.CallControl, gateway.BridgeControl and gateway.MediaControl.
type PBX struct {
	cfg     Config
	log     *zap.Logger
	sink    gateway.EventSink
	rest    *restClient
	calls   *callTable   // the live calls; maps the ARI events
	bridges *bridgeTable // the bridges created through callgw (calls.bridges)
	shards  []chan item

	running   atomic.Bool
	connected atomic.Bool
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
}

var _ gateway.PBX = (*PBX)(nil)

// NewPBX builds a PBX. It does no I/O: Run connects.
func NewPBX(cfg Config, events gateway.EventSink) (*PBX, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("asterisk: %w", err)
	}
	if events == nil {
		return nil, fmt.Errorf("asterisk: %w", gateway.Invalid("events", "an EventSink is required"))
	}
	p := &PBX{
		cfg:   cfg,
		log:   cfg.Log.Named("asterisk").With(zap.String("node", string(cfg.Node)), zap.String("app", cfg.App)),
		sink:  events,
		rest:  newRESTClient(cfg.URL, cfg.User, cfg.Password, cfg.RequestTimeout, cfg.MaxConns),
		calls: newCallTable(cfg.Node, cfg.Tenant),
		ready: make(chan struct{}),
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
		return gateway.Wrap(gateway.ENodeUnavailable, "asterisk.Ready", ctx.Err(), "ARI not connected")
	}
}

func (p *PBX) tenantOr(t string) string {
	if t == "" {
		return gateway.DefaultTenant
	}
	return t
}

// Originate places a call with channelId = id, into Stasis(app) under API
// control or into the dialplan when args.Context is set.
func (p *PBX) Originate(ctx context.Context, tenant string, id gateway.CallID, args gateway.OriginateArgs) (*gateway.Call, error) {
	const op = "asterisk.Originate"
	tenant = p.tenantOr(tenant)
	if err := p.serving(); err != nil {
		// Without the events WebSocket the call could be placed but never
		// followed (no call.created, no call.hangup, wait=answered blind):
		// refuse it, retryable, before anything is created.
		return nil, err
	}
	log := p.log.With(zap.String("call_id", string(id)), zap.String("tenant", tenant))
	c := &call{
		id: id, tenant: tenant, tags: args.Tags, dir: gateway.Outbound, from: args.From, to: args.To,
		state: gateway.StateDown, createdAt: time.Now(), vars: args.Variables, pending: true,
		toStasis: args.Context == "",
	}
	if args.Wait == gateway.WaitAnswered {
		c.done = make(chan struct{})
	}
	if !p.calls.register(c) {
		return nil, gateway.Errorf(gateway.EConflict, "call %s already exists", id)
	}
	vars := make(map[string]string, len(args.Variables)+3)
	for k, v := range args.Variables {
		vars[k] = v
	}
	vars[VarTenant] = tenant
	vars[VarDirection] = string(gateway.Outbound)
	if len(args.Tags) > 0 {
		vars[VarTags] = strings.Join(args.Tags, ",")
	}
	req := ari.OriginateRequest{
		Endpoint: args.To, CallerID: args.From, Timeout: args.Timeout,
		ChannelID: string(id), Variables: vars,
	}
	if args.Context != "" {
		req.Context, req.Extension, req.Priority = args.Context, args.Extension, int64(args.Priority)
		if req.Priority == 0 {
			req.Priority = 1
		}
	} else {
		req.App = p.cfg.App
	}
	var ch ariChannel
	err := p.rest.do(ctx, http.MethodPost, "/channels", nil, req, &ch)
	if err != nil {
		if st := ariStatus(err); st >= 400 && st < 500 {
			// Asterisk refused: nothing was created (409 = the id is in use
			// on Asterisk by a channel this worker does not track).
			p.calls.forget(id)
			return nil, mapErr(op, err, "endpoint "+args.To, "call id "+string(id)+" is already in use on the PBX")
		}
		// Transport failure or deadline: the channel may exist. Hang it up
		// and let the re-read settle what subscribers saw.
		log.Warn("originate failed, cleaning up", zap.Error(err))
		p.calls.abandon(c)
		p.cleanup(ctx, c)
		return nil, mapErr(op, err, "endpoint "+args.To, "")
	}
	p.calls.settle(c, ch.Name)
	log.Debug("originated", zap.String("to", args.To), zap.String("channel", ch.Name))
	if args.Context != "" {
		// A channel sent to the dialplan is not subscribed to the app:
		// subscribe so that its state and hangup are seen.
		q := url.Values{"eventSource": {"channel:" + string(id)}}
		if err := p.rest.do(ctx, http.MethodPost, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
			log.Warn("subscribing to dialplan call failed", zap.Error(err))
			p.verify(ctx, id)
		} else if err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(string(id)), nil, nil, &ch); err == nil {
			// What happened before the subscription is read once.
			p.enqueue(context.WithoutCancel(ctx), item{kind: kindSeen, ch: &ch})
		} else {
			p.verify(ctx, id)
		}
	}
	if c.done == nil {
		return p.calls.snapshot(c), nil
	}
	select {
	case <-c.done:
		return p.calls.snapshot(c), nil
	case <-ctx.Done():
		select {
		case <-c.done: // answered or ended just in time
			return p.calls.snapshot(c), nil
		default:
		}
	}
	log.Info("call not answered before the deadline, hanging up")
	p.calls.timedOut(c)
	p.calls.abandon(c)
	p.cleanup(ctx, c)
	return nil, gateway.Wrap(gateway.ETimeout, op, ctx.Err(), "call "+string(id)+" was not answered in time and was hung up")
}

// cleanup hangs c up after a failed or timed-out originate, on a short ctx
// of its own, so that no call is left behind.
func (p *PBX) cleanup(ctx context.Context, c *call) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.RequestTimeout)
	defer cancel()
	p.calls.cleaningUp(c)
	err := p.rest.do(hctx, http.MethodDelete, "/channels/"+seg(string(c.id)), url.Values{"reason": {"normal"}}, nil, nil)
	if ariStatus(err) == http.StatusNotFound {
		p.verify(hctx, c.id)
		return
	}
	if err != nil {
		p.log.Warn("hangup after failed originate failed", zap.String("call_id", string(c.id)), zap.Error(err))
	}
}

// hangupAbandoned hangs up the channel of a call whose originate failed and
// whose cleanup did not reach Asterisk, found still up by a re-read.
func (p *PBX) hangupAbandoned(ctx context.Context, id gateway.CallID) {
	err := p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(string(id)), url.Values{"reason": {"normal"}}, nil, nil)
	switch {
	case ariStatus(err) == http.StatusNotFound:
		p.verify(ctx, id)
	case err != nil:
		p.log.Warn("hanging up the channel of a failed originate failed", zap.String("call_id", string(id)), zap.Error(err))
	default:
		p.log.Info("hung up the channel of a failed originate found on re-read", zap.String("call_id", string(id)))
	}
}

// serving reports why the PBX cannot take new calls: the events WebSocket
// is down, the first re-read is not done, or the app was taken over. The
// error is node_unavailable (nothing was done: retry, elsewhere or later).
func (p *PBX) serving() error {
	switch {
	case p.isReplaced():
		return gateway.Errorf(gateway.ENodeUnavailable, "node %s is unhealthy: its ARI application was taken over by another connection", p.cfg.Node)
	case !p.connected.Load():
		return gateway.Errorf(gateway.ENodeUnavailable, "node %s is unhealthy: ARI events not connected", p.cfg.Node)
	}
	select {
	case <-p.ready:
		return nil
	default:
		return gateway.Errorf(gateway.ENodeUnavailable, "node %s is starting: the calls on its PBX are not re-read yet", p.cfg.Node)
	}
}

// findCall returns the live call id of tenant. A call this worker does not
// track is not declared absent on its own word: a command waits until the
// first re-read has adopted the PBX's calls, then Asterisk is asked, and a
// channel in the app that the worker missed (created by an earlier worker
// and not yet adopted, or whose StasisStart was lost) is adopted through
// its event shard, in order with its events. A call of another tenant, or
// one that ended here, is not_found without asking Asterisk.
func (p *PBX) findCall(ctx context.Context, op, tenant string, id gateway.CallID) (*call, error) {
	tenant = p.tenantOr(tenant)
	if c := p.calls.get(tenant, id); c != nil {
		return c, nil
	}
	notFound := gateway.Errorf(gateway.ENotFound, "call %s not found", id)
	if p.calls.known(id) {
		return nil, notFound
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, gateway.Wrap(gateway.ENodeUnavailable, op, ctx.Err(), "node "+string(p.cfg.Node)+" has not re-read its PBX's calls yet: retry")
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
		return nil, gateway.Wrap(gateway.ETimeout, op, ctx.Err(), "call "+string(id)+" could not be adopted in time")
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, gateway.Wrap(gateway.ETimeout, op, ctx.Err(), "call "+string(id)+" could not be adopted in time")
	}
	if c := p.calls.get(tenant, id); c != nil {
		p.log.Info("adopted a call the worker did not track, on a command", zap.String("call_id", string(id)))
		return c, nil
	}
	return nil, notFound
}

// verify asks the call's event worker to check that the channel still
// exists, and to end the call if it does not.
func (p *PBX) verify(ctx context.Context, id gateway.CallID) {
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindVerify, id: string(id)})
}

// Call returns a live call of tenant.
func (p *PBX) Call(ctx context.Context, tenant string, id gateway.CallID) (*gateway.Call, error) {
	c, err := p.findCall(ctx, "asterisk.Call", tenant, id)
	if err != nil {
		return nil, err
	}
	return p.calls.snapshot(c), nil
}

// Calls returns the live calls of tenant, oldest first (not those whose
// originate is still waiting for Asterisk's answer).
func (p *PBX) Calls(ctx context.Context, tenant string) ([]*gateway.Call, error) {
	return p.calls.list(p.tenantOr(tenant)), nil
}

// Hangup hangs a call of tenant up with an ARI reason (default normal).
func (p *PBX) Hangup(ctx context.Context, tenant string, id gateway.CallID, reason string) error {
	const op = "asterisk.Hangup"
	if reason == "" {
		reason = "normal"
	}
	if _, ok := reasonCause[reason]; !ok {
		return gateway.Invalid("reason", "%q is not one of %v", reason, gateway.HangupReasons)
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
func (p *PBX) Info(ctx context.Context) (gateway.PBXInfo, error) {
	var ai ari.AsteriskInfo
	err := p.rest.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, &ai)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.astID, p.astVer = ai.SystemInfo.EntityID, ai.SystemInfo.Version
	}
	info := gateway.PBXInfo{
		AsteriskID: p.astID, AsteriskVersion: p.astVer, App: p.cfg.App,
		Calls: p.calls.count(), Healthy: true,
	}
	switch {
	case p.replaced != "":
		info.Healthy, info.Reason = false, p.replaced
	case err != nil:
		info.Healthy, info.Reason = false, "asterisk unreachable: "+gateway.ErrorMessage(mapErr("asterisk.Info", err, "asterisk info", ""))
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
