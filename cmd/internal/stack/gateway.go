package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/internal/ops"
	"github.com/callgw/callgw/restapi"
)

// Gateway is one gateway, wired: the bus, the cluster view fed by
// heartbeats and events (gateway.Observer), the domain service and the
// REST server with its event feed (restapi.Feed).
type Gateway struct {
	cfg *config.Gateway
	log *zap.Logger
	bus *amqpbus.Bus
	reg *gateway.Registry
	obs *gateway.Observer
	svc *gateway.Service
	api *restapi.Server
	hub *restapi.Hub
	// feed feeds the hub only while HTTP event streams exist, so that a
	// gateway without stream clients takes only the events it needs
	// itself: from each tenant's history stream (restapi.StreamFeed), or
	// with the history off from the bus (restapi.Feed).
	feed interface {
		restapi.Events
		Close()
	}
	ops *prometheus.Registry
	// tenants holds the tenants whose history streams this gateway made
	// sure of after seeing one of their events (ensureHistory).
	tenants sync.Map
	bg      sync.WaitGroup

	// started is closed once the gateway may serve the API (first ready,
	// or StartupWait passed): the REST server's start gate.
	started   chan struct{}
	startOnce sync.Once
	rd        readiness
}

// readiness remembers when the gateway started and since when it is
// ready, for /readyz (restapi.Readiness).
type readiness struct {
	mu      sync.Mutex
	started time.Time
	at      time.Time // since when ready; zero while not
	reason  string
}

// note records the verdict err (why: how the nodes were learned) at now.
func (r *readiness) note(err error, why string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		r.at = time.Time{}
	case r.at.IsZero():
		r.at, r.reason = now, why
	}
}

// NewGateway builds a gateway; it does no I/O until Run.
func NewGateway(cfg *config.Gateway, log *zap.Logger) (*Gateway, error) {
	host, _ := os.Hostname()
	bus, err := amqpbus.New(amqpbus.Config{
		URLs:           cfg.AMQPURLs,
		Prefix:         cfg.Prefix,
		Batching:       cfg.Batching,
		ConnectionName: connName("callgw gateway "+host, cfg.Prefix),
		Log:            log,
		History: amqpbus.HistoryConfig{MaxAge: cfg.HistoryMaxAge, MaxBytes: int64(cfg.HistoryMaxMB) << 20,
			SegmentBytes: int64(cfg.HistorySegmentMB) << 20},
	})
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: log, bus: bus, reg: gateway.NewRegistry(), started: make(chan struct{})}
	g.rd.started = time.Now()
	locs := gateway.NewLocations(0)
	g.svc = gateway.NewService(bus, g.reg, locs)
	g.svc.Rules = cfg.Rules()
	g.svc.Admission = gateway.NewAdmission(cfg.MaxPendingCreates)
	g.svc.Records = gateway.NewRecords(cfg.CallRecords, cfg.CallRecordsTTL)
	g.obs = gateway.NewObserver(g.reg, locs, g.svc.Records)
	metrics := ops.NewRegistry()
	ops.RegisterBus(metrics, bus)
	if err := ops.RegisterNodes(metrics, func() []callapi.Node { return g.reg.List(time.Now()) }); err != nil {
		return nil, err
	}
	g.ops = metrics
	g.hub = restapi.NewHub(restapi.HubConfig{Log: log, Registerer: metrics})
	busFeed := func(hub *restapi.Hub) *restapi.Feed {
		return restapi.NewFeed(hub, func(ctx context.Context, fn func(*callapi.Event)) (io.Closer, error) {
			return bus.SubscribeEvents(ctx, nil, fn)
		}, time.Minute, log) // streams only: the Observer learns from its own subscription (observe)
	}
	if cfg.HistoryMaxMB > 0 {
		// a tenant's streams read its history stream; an admin's view of
		// every tenant (tenant=*) is fed live from the bus on a hub of its own
		g.feed = restapi.SplitFeed{Tenant: restapi.NewStreamFeed(g.hub, busHistory{bus}, time.Minute, log),
			All: busFeed(restapi.NewHub(restapi.HubConfig{Log: log}))}
		g.svc.Records.Loader = recordsLoader(bus, log)
	} else {
		g.feed = busFeed(g.hub)
	}
	auth := restapi.AuthConfig{Enabled: len(cfg.AuthClients) > 0, SigningKey: []byte(cfg.AuthSigningKey), TokenTTL: cfg.AuthTokenTTL,
		MaxTokenLifetime: cfg.AuthMaxTokenLifetime, FailuresPerMinute: cfg.AuthFailuresPerMinute, FailureBurst: cfg.AuthFailureBurst,
		Clients: authClients(cfg.AuthClients)}
	for _, c := range cfg.AuthClients {
		if restapi.IsLegacyHash(c.SecretHash) {
			log.Warn("auth client has a legacy sha256 secret hash: replace it with the output of callgw hash-secret", zap.String("client_id", c.ID))
		}
	}
	if !auth.Enabled {
		log.Warn("token auth is off: every request acts for the default tenant with every scope (set CALLGW_AUTH_CLIENTS_FILE to turn it on)",
			zap.String("http_addr", cfg.HTTPAddr), zap.Bool("loopback_only", config.IsLoopback(cfg.HTTPAddr)))
	}
	g.api = restapi.NewServer(restapi.Config{
		Addr:             cfg.HTTPAddr,
		DefaultTimeout:   cfg.DefaultTimeout,
		MaxTimeout:       cfg.MaxTimeout,
		Auth:             auth,
		Tenants:          cfg.Tenants,
		AccessLog:        cfg.AccessLog,
		CORSOrigins:      cfg.CORSOrigins,
		WSOriginPatterns: cfg.WSOrigins,
		Log:              log,
		Registry:         metrics,
		Streams:          restapi.StreamLimits{PerToken: cfg.StreamsPerToken, PerTenant: cfg.StreamsPerTenant},
		StartGate:        g.started,
	}, g.svc, g.reg, g.feed, g)
	return g, nil
}

func authClients(in []config.AuthClient) []restapi.Client {
	out := make([]restapi.Client, 0, len(in))
	for _, c := range in {
		out = append(out, restapi.Client{ID: c.ID, SecretHash: c.SecretHash, Tenant: c.Tenant, Scopes: c.Scopes, Disabled: c.Disabled})
	}
	return out
}

// ClientsPoll is how often a gateway checks its auth clients file for a
// change: a removed or disabled client's event streams end within it.
const ClientsPoll = 500 * time.Millisecond

// watchClients hands the REST server the auth clients file's list
// whenever it changes or on hup (config.WatchAuthClients).
func (g *Gateway) watchClients(ctx context.Context, hup <-chan os.Signal, interval time.Duration) error {
	if g.cfg.AuthClientsFile == "" {
		return nil
	}
	return config.WatchAuthClients(ctx, g.cfg.AuthClientsFile, hup, interval,
		func(cs []config.AuthClient) error { return g.api.SetClients(authClients(cs)) },
		func(why string, n int, err error) {
			if err != nil {
				g.log.Error("auth clients not reloaded; the previous list stays in force", zap.String("why", why), zap.Error(err))
			} else {
				g.log.Info("auth clients reloaded", zap.String("why", why), zap.Int("clients", n))
			}
		})
}

// Metrics returns the registry the gateway's ops endpoint serves (callgw
// dev adds the worker's metrics to it).
func (g *Gateway) Metrics() *prometheus.Registry { return g.ops }

// Ready reports whether the gateway can serve: broker connected, a node
// up and every node heard (gateway.Observer.Ready).
func (g *Gateway) Ready() error {
	err := g.ready()
	_, why := g.obs.WarmBy()
	g.rd.note(err, why, time.Now())
	return err
}

func (g *Gateway) ready() error {
	if !g.bus.State().Connected {
		return callapi.Errorf(callapi.CodeNodeUnavailable, "not connected to the broker")
	}
	return g.obs.Ready()
}

// Readiness is the body of a 200 /readyz: since when the gateway is ready
// and why (restapi.ReadyReporter).
func (g *Gateway) Readiness() restapi.Readiness {
	g.rd.mu.Lock()
	defer g.rd.mu.Unlock()
	r := restapi.Readiness{Status: "ready", StartedAt: g.rd.started.UTC(), Reason: g.rd.reason}
	if !g.rd.at.IsZero() {
		r.ReadyAt = g.rd.at.UTC()
		r.ReadyAfterMS = g.rd.at.Sub(g.rd.started).Milliseconds()
	}
	return r
}

// observe feeds the cluster view from the bus: heartbeats, the events it
// learns from, and the sweep of nodes that stopped beating.
func (g *Gateway) observe(ctx context.Context) error {
	if err := g.bus.Ready(ctx); err != nil {
		return nil
	}
	// WatchNodes asks every worker to beat now (nodes.ping) once the
	// heartbeats are consumed, and again after every reconnection: the
	// gateway knows the live nodes within PingWait instead of one
	// heartbeat interval.
	hbSub, err := g.bus.WatchNodes(ctx, func(hb *callapi.Heartbeat) {
		if ch := g.obs.Heartbeat(hb); ch != nil {
			g.log.Info("node state", zap.String("node", string(ch.Node)), zap.String("from", string(ch.From)), zap.String("to", string(ch.To)), zap.Bool("healthy", hb.Healthy), zap.String("reason", hb.Reason))
		}
	}, func(at time.Time, err error) {
		if err != nil {
			g.log.Warn("nodes.ping not published: learning the nodes from their heartbeats", zap.Error(err))
		}
		g.obs.Pinged(at, err)
	})
	if err != nil {
		return fmt.Errorf("gateway: subscribe heartbeats: %w", err)
	}
	g.obs.Listening()
	defer hbSub.Close()
	// The one subscription that feeds Learn, held all the time; every
	// event is taken (for the hub, by g.feed) only while HTTP streams
	// exist.
	learn := g.obs.Learn
	if g.cfg.HistoryMaxMB > 0 {
		learn = func(e *callapi.Event) {
			g.obs.Learn(e)
			g.ensureHistory(ctx, e.Tenant)
		}
	}
	defer g.bg.Wait()
	evSub, err := g.bus.SubscribeEvents(ctx, g.obs.Patterns(), learn)
	if err != nil {
		return fmt.Errorf("gateway: subscribe events: %w", err)
	}
	defer evSub.Close()
	defer g.feed.Close()
	return g.obs.RunSweeps(ctx, time.Second, g.bus, func(s gateway.Swept) {
		g.log.Warn("node down: missed heartbeats", zap.String("node", string(s.Node)))
		if s.Err != nil {
			g.log.Warn("node.down not published", zap.String("node", string(s.Node)), zap.Error(s.Err))
		}
	})
}

// ensureHistory makes sure, once per gateway life, that the history
// stream of a tenant whose event it saw exists (in the background): a
// tenant's history begins with its first events, whether or not a client
// ever opened a stream.
func (g *Gateway) ensureHistory(ctx context.Context, tenant string) {
	if tenant == "" || !callapi.ValidTenant(tenant) {
		return
	}
	if _, seen := g.tenants.LoadOrStore(tenant, true); seen {
		return
	}
	g.bg.Add(1)
	go func() { // owner: the gateway (observe waits for it)
		defer g.bg.Done()
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := g.bus.EnsureHistory(ectx, tenant); err != nil {
			g.tenants.Delete(tenant) // the next event tries again
			g.log.Warn("tenant's history stream not declared", zap.String("tenant", tenant), zap.Error(err))
		}
	}()
}

// StartupWait bounds how long a starting gateway holds API requests
// (restapi.Config.StartGate) until it is ready (Ready): requests answered
// earlier would fail with 503 "no node is up" although nodes are up, or
// list the calls of only some nodes. The HTTP port listens at once; with no
// node at all the gate opens after StartupWait anyway (/healthz, /readyz
// answer throughout, the API says no node is up).
const StartupWait = 10 * time.Second

// watchReady opens the start gate once the gateway is ready (or after d),
// then keeps /readyz's ready_at current by checking readiness every
// readyPoll, until ctx ends.
func (g *Gateway) watchReady(ctx context.Context, d time.Duration) error {
	wait := time.NewTimer(d)
	defer wait.Stop()
	poll := time.NewTicker(readyPollStarting)
	defer poll.Stop()
	open := func() {
		if g.openGate() {
			poll.Reset(readyPoll)
		}
	}
	for {
		if err := g.Ready(); err == nil {
			open()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
			if err := g.Ready(); err != nil {
				g.log.Warn("serving the API without knowing a live node", zap.Duration("waited", d), zap.Error(err))
			}
			open()
		case <-poll.C:
		}
	}
}

// openGate opens the API's start gate; it reports whether this call did.
func (g *Gateway) openGate() (opened bool) {
	g.startOnce.Do(func() { close(g.started); opened = true })
	return opened
}

// readyPollStarting and readyPoll are how often watchReady checks while
// the gateway starts and afterwards.
const (
	readyPollStarting = 10 * time.Millisecond
	readyPoll         = 200 * time.Millisecond
)

// Run serves until ctx ends: HTTP at once, the API once the nodes were
// heard (StartupWait); at the end the HTTP server stops first (draining
// requests in flight), then the bus.
func (g *Gateway) Run(ctx context.Context) error {
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBus()
	eg, gctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		err := g.bus.Run(busCtx)
		if err == nil && ctx.Err() == nil {
			err = errors.New("gateway: bus stopped")
		}
		return err
	})
	eg.Go(func() error { return g.observe(gctx) })
	eg.Go(func() error { return g.watchReady(gctx, StartupWait) })
	eg.Go(func() error {
		return ops.ServeReady(gctx, g.cfg.MetricsAddr, g.ops, g.Ready, func() any { return g.Readiness() }, g.log)
	})
	if g.cfg.WebhooksOn {
		eg.Go(func() error { return serveWebhooks(gctx, &g.cfg.Common, g.cfg.Webhook, g.api, g.log) })
	}
	if g.cfg.AuthClientsFile != "" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		eg.Go(func() error { return g.watchClients(gctx, hup, ClientsPoll) })
	}
	eg.Go(func() error {
		defer stopBus()
		defer g.hub.Close()
		return g.api.Run(gctx)
	})
	return eg.Wait()
}

// Bus returns the gateway's bus (for its Names and State).
func (g *Gateway) Bus() *amqpbus.Bus { return g.bus }

// Registry returns the gateway's node registry.
func (g *Gateway) Registry() *gateway.Registry { return g.reg }

// WaitReady waits until the REST server listens and a node is up, and
// returns the base URL to call.
func (g *Gateway) WaitReady(ctx context.Context) (string, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if a := g.Addr(); a != nil && g.Ready() == nil {
			host := a.String()
			if h, port, err := net.SplitHostPort(host); err == nil && (h == "::" || h == "0.0.0.0" || h == "") {
				host = "127.0.0.1:" + port
			}
			return "http://" + host, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// Addr is the REST server's bound address (after Run started).
func (g *Gateway) Addr() net.Addr { return g.api.Addr() }
