package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// Calls is what the call handlers need from the gateway. *gateway.Service
// implements it. Methods that return a *callapi.Accepted return it (and no
// result) when o.Async is set.
type Calls interface {
	Originate(ctx context.Context, o gateway.Options, req callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error)
	// Call is the call's JSON (a callapi.Call), written to the client as
	// it is: the owning node's result, not decoded and encoded again.
	Call(ctx context.Context, o gateway.Options, id callapi.CallID) (json.RawMessage, error)
	Calls(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error)
	Hangup(ctx context.Context, o gateway.Options, id callapi.CallID, reason string) (*callapi.Accepted, error)

	// CallAction runs a call-scoped action (answer, ring, hold, mute,
	// dtmf, redirect, continue, variables, music on hold) on the node that
	// owns the call. args is the action's argument type (a value or a
	// pointer) or nil; the Service validates it through the action's Spec.
	// The result is decoded into out when out is not nil.
	CallAction(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error)
	Play(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error)
	Record(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error)
	Snoop(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error)
}

// Bridges is what the bridge and transfer handlers need. *gateway.Service
// implements it.
type Bridges interface {
	// CreateBridge creates a bridge and adds req.Calls to it. When adding
	// a call fails it returns the bridge it created with the error.
	CreateBridge(ctx context.Context, o gateway.Options, req callapi.BridgeCreateRequest) (*callapi.Bridge, error)
	Bridges(ctx context.Context, o gateway.Options) ([]*callapi.Bridge, []callapi.NodeID, error)
	// BridgeAction runs a bridge-scoped action (get, destroy, add, remove,
	// play, record) on the node that owns the bridge; args and out as in
	// Calls.CallAction.
	BridgeAction(ctx context.Context, o gateway.Options, id callapi.BridgeID, a callapi.Action, args, out any) (*callapi.Accepted, error)
	Transfer(ctx context.Context, o gateway.Options, a callapi.TransferArgs) (*callapi.Bridge, error)
}

// Media is what the playback and recording handlers need.
// *gateway.Service implements it. Its methods always answer synchronously:
// the handlers never set o.Async for them.
type Media interface {
	PlaybackAction(ctx context.Context, o gateway.Options, id string, a callapi.Action, out any) error
	RecordingAction(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error
	StoredRecordings(ctx context.Context, o gateway.Options) ([]*callapi.Recording, []callapi.NodeID, error)
	StoredRecording(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error
}

// Nodes is the node registry as the node handlers read it.
// *gateway.Registry implements it.
type Nodes interface {
	List(now time.Time) []callapi.Node
	Get(id callapi.NodeID, now time.Time) (callapi.Node, bool)
}

// Events streams events to the SSE and WebSocket handlers. *Hub implements
// it. The returned channel is closed by the implementation when it drops
// the subscriber (too slow) or shuts down; the returned func unsubscribes
// and may be called more than once.
type Events interface {
	Subscribe(ctx context.Context, f EventFilter) (<-chan *callapi.Event, func(), error)
}

// Health reports readiness: nil when the broker is connected and at least
// one node is up.
type Health interface {
	Ready() error
}

// Readiness is the body of a 200 /readyz (on the API port and on the ops
// endpoint alike): since when the gateway is ready, why, and when it
// started.
type Readiness struct {
	Status string `json:"status"` // "ready"
	// ReadyAt is when the gateway last became ready.
	ReadyAt time.Time `json:"ready_at"`
	// StartedAt is when the gateway process started serving.
	StartedAt time.Time `json:"started_at"`
	// ReadyAfterMS is ReadyAt - StartedAt, in milliseconds.
	ReadyAfterMS int64 `json:"ready_after_ms"`
	// Reason says how the gateway knows the live nodes (e.g. "2 node(s)
	// answered the nodes.ping within 250ms").
	Reason string `json:"reason"`
}

// ReadyReporter is a Health that also says since when it is ready and
// why: /readyz then answers its Readiness instead of {"status":"ready"}.
type ReadyReporter interface {
	Health
	Readiness() Readiness
}

// HealthFunc adapts a function to Health.
type HealthFunc func() error

// Ready calls f.
func (f HealthFunc) Ready() error { return f() }

var (
	_ Calls   = (*gateway.Service)(nil)
	_ Bridges = (*gateway.Service)(nil)
	_ Media   = (*gateway.Service)(nil)
	_ Nodes   = (*gateway.Registry)(nil)
	_ Events  = (*Hub)(nil)
)

// Config configures the HTTP server. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	Addr string // listen address, e.g. ":8080"; ":0" picks a free port

	// RequestTimeout bounds reading one request, headers and body
	// (http.Server.ReadTimeout). Handler work is bounded by the per-request
	// deadline (DefaultTimeout, or the "timeout" query up to MaxTimeout).
	RequestTimeout  time.Duration
	DefaultTimeout  time.Duration // deadline of a command when the request names none: 5s
	MaxTimeout      time.Duration // largest "timeout" a request may ask for: 90s, so a phone may ring 60 s and more
	MaxBodyBytes    int64         // request bodies larger than this are refused with 413: 64 KiB
	ShutdownTimeout time.Duration // graceful shutdown bound when Run's ctx ends: 10s

	// StreamHeartbeat is the interval of SSE comment lines and WebSocket
	// pings on idle event streams: 15s.
	StreamHeartbeat time.Duration
	// StreamWriteTimeout bounds one write to an event stream; a client
	// that does not take the bytes in time is disconnected: 10s.
	StreamWriteTimeout time.Duration
	// WSOriginPatterns lists the browser origins (host patterns, as in
	// github.com/coder/websocket AcceptOptions.OriginPatterns) allowed to
	// open the WebSocket stream besides the gateway's own; clients that
	// send no Origin (non-browsers) are always allowed.
	WSOriginPatterns []string
	// Streams bounds the open event streams per token and per tenant.
	Streams StreamLimits

	// CORSOrigins lists the browser origins (scheme://host[:port], or "*")
	// that may call the API and open the event streams from a page
	// (restapi/cors.go); empty: none.
	CORSOrigins []string

	Auth AuthConfig
	// Tenants are the node resources (endpoints, device states, mailboxes,
	// global variables) of each tenant, by name pattern; an admin token sees
	// every name, a tenant without an entry none.
	Tenants callapi.TenantScopes

	Log *zap.Logger // nil: no logging
	// AccessLog says which requests are logged: AccessLogAll (default),
	// AccessLogErrors (status >= 400 or slower than SlowRequest) or
	// AccessLogOff. Metrics count every request regardless.
	AccessLog   string
	SlowRequest time.Duration // threshold of AccessLogErrors: 1s
	// Registry receives the server's metrics. It is not served on Addr
	// (the API port answers 404 for /metrics): serve it on an ops address
	// of its own, or serve MetricsHandler. nil: a new registry with the Go
	// and process collectors. Pass one to share it (e.g. with
	// HubConfig.Registerer); add those collectors to it yourself if you
	// want them.
	Registry *prometheus.Registry
	Now      func() time.Time // nil: time.Now

	// StartGate, when not nil, is closed once the gateway may serve the
	// API (it has learned the live nodes, or given up waiting): until
	// then an API request waits for it up to StartGateWait (1s), then is
	// answered 503 node_unavailable with Retry-After: 1. /healthz,
	// /readyz, the token endpoint and the API description never wait. It
	// lets a starting gateway listen at once: no connection is refused
	// while it learns the nodes.
	StartGate     <-chan struct{}
	StartGateWait time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr:               ":8080",
		RequestTimeout:     30 * time.Second,
		DefaultTimeout:     5 * time.Second,
		MaxTimeout:         90 * time.Second,
		MaxBodyBytes:       64 << 10,
		ShutdownTimeout:    10 * time.Second,
		StreamHeartbeat:    15 * time.Second,
		StreamWriteTimeout: 10 * time.Second,
		StartGateWait:      time.Second,
		Streams:            StreamLimits{PerToken: 8, PerTenant: 64},
		Auth:               AuthConfig{TokenTTL: time.Hour, MaxTokenLifetime: 12 * time.Hour, FailuresPerMinute: 10, FailureBurst: 10},
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = d.DefaultTimeout
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = d.MaxTimeout
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.StreamHeartbeat <= 0 {
		c.StreamHeartbeat = d.StreamHeartbeat
	}
	if c.StreamWriteTimeout <= 0 {
		c.StreamWriteTimeout = d.StreamWriteTimeout
	}
	if c.StartGateWait <= 0 {
		c.StartGateWait = d.StartGateWait
	}
	if c.Streams.PerToken <= 0 {
		c.Streams.PerToken = d.Streams.PerToken
	}
	if c.Streams.PerTenant <= 0 {
		c.Streams.PerTenant = d.Streams.PerTenant
	}
	if c.Auth.TokenTTL <= 0 {
		c.Auth.TokenTTL = d.Auth.TokenTTL
	}
	if c.Auth.MaxTokenLifetime <= 0 {
		c.Auth.MaxTokenLifetime = max(d.Auth.MaxTokenLifetime, c.Auth.TokenTTL)
	}
	if c.Auth.FailuresPerMinute <= 0 {
		c.Auth.FailuresPerMinute = d.Auth.FailuresPerMinute
	}
	if c.Auth.FailureBurst <= 0 {
		c.Auth.FailureBurst = d.Auth.FailureBurst
	}
	return c
}

// Validate checks the configuration (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.DefaultTimeout > c.MaxTimeout {
		return fmt.Errorf("restapi: default timeout %s exceeds max timeout %s", c.DefaultTimeout, c.MaxTimeout)
	}
	switch c.AccessLog {
	case "", AccessLogAll, AccessLogErrors, AccessLogOff:
	default:
		return fmt.Errorf("restapi: access log %q: want all, errors or off", c.AccessLog)
	}
	if err := c.Tenants.Validate(); err != nil {
		return fmt.Errorf("restapi: tenants: %w", err)
	}
	return c.Auth.validate()
}

// Access log modes.
const (
	AccessLogAll    = "all"
	AccessLogErrors = "errors"
	AccessLogOff    = "off"
)

// Server is the REST CallAPI. Build it with NewServer; serve it with Run,
// or mount Handler in a server of your own.
type Server struct {
	cfg     Config
	log     *zap.Logger
	calls   Calls
	bridges Bridges       // from calls, when it implements Bridges
	media   Media         // from calls, when it implements Media
	noderes NodeResources // from calls, when it implements NodeResources
	nodes   Nodes
	events  Events
	health  Health
	auth    *authenticator

	handler http.Handler
	reg     *prometheus.Registry
	metrics *metrics
	cfgErr  error // from Config.Validate; returned by Listen

	mu       sync.Mutex
	addr     net.Addr
	webhooks Webhooks // SetWebhooks

	// done is closed when Run's ctx ends, so that long-lived streams end
	// before http.Server.Shutdown waits for them.
	done     chan struct{}
	doneOnce sync.Once
	// streams counts running stream handlers: WebSocket connections are
	// hijacked, so http.Server.Shutdown does not wait for them; Serve does.
	streams sync.WaitGroup
	// open counts the open streams per token and per tenant.
	open streamCounts
}

// NewServer builds a server; it does no I/O. Zero Config fields take the
// defaults of DefaultConfig. Any of the dependencies may be nil: its routes
// then answer 503 (calls, nodes, events) or "not ready" (health). The
// bridge, transfer, playback and recording routes are served when calls
// also implements Bridges and Media (as *gateway.Service does), and answer
// 503 otherwise. An invalid Config (see Validate) makes Run fail at once.
func NewServer(cfg Config, calls Calls, nodes Nodes, events Events, health Health) *Server {
	cfgErr := cfg.Validate()
	cfg = cfg.withDefaults()
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{
		cfg:    cfg,
		log:    log.Named("restapi"),
		calls:  calls,
		nodes:  nodes,
		events: events,
		health: health,
		done:   make(chan struct{}),
		cfgErr: cfgErr,
	}
	s.bridges, _ = calls.(Bridges)
	s.media, _ = calls.(Media)
	s.noderes, _ = calls.(NodeResources)
	s.auth = newAuthenticator(cfg.Auth, s.now)
	s.reg = reg
	s.metrics = newMetrics(reg)
	s.handler = s.routes()
	return s
}

// MetricsHandler serves the server's metrics registry in the Prometheus
// text format, for an ops listener of the caller's (never the API port).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Handler returns the server's HTTP handler (all routes and middleware).
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address Run listens on, or nil before it bound.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Listen binds cfg.Addr. Run calls it; call it yourself first to learn the
// port (Addr) before Run serves.
func (s *Server) Listen() (net.Listener, error) {
	if s.cfgErr != nil {
		return nil, s.cfgErr
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("restapi: listen %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	return ln, nil
}

// Run binds cfg.Addr (a port error is returned at once), serves until ctx
// ends, then shuts down gracefully within cfg.ShutdownTimeout: event
// streams are ended first, in-flight requests get the rest of the time.
// A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, like Run. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfgErr != nil {
		_ = ln.Close()
		return s.cfgErr
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	s.log.Info("listening", zap.Stringer("addr", ln.Addr()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.closeStreams()
		return fmt.Errorf("restapi: serve: %w", err)
	case <-ctx.Done():
	}
	s.closeStreams()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	waited := make(chan struct{})
	go func() { s.streams.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-sctx.Done():
		err = errors.Join(err, errors.New("event streams still open after the shutdown timeout"))
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("restapi: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// closeStreams ends the long-lived event streams (idempotent).
func (s *Server) closeStreams() { s.doneOnce.Do(func() { close(s.done) }) }
