// Package bus is the Go SDK's bus client: the typed call methods of
// callapi/client, spoken directly over AMQP (docs/protocol.md) instead of
// HTTP, for trusted services inside the network. It is a gateway in the
// client's process: it validates each request as the gateway does,
// routes it (the named node, any, or the node that owns the call, learnt
// from the originate's answer or a locate broadcast), publishes it
// mandatory and confirmed with its deadline and idempotency key, in
// batches under load (protocol version 2), and decodes the reply. Errors
// are the REST client's: a *client.Error with the stable code
// (client.ErrorCode), and *client.NotAnsweredError for an originate that
// waited for an answer that did not come.
//
// Its authorisation is the broker's: a Client acts for one tenant
// (Config.Tenant) and publishes every command with the routing key
// cmd.<target>.tenant.<tenant>.<action>. Give each tenant's service its
// own RabbitMQ user whose topic permission on callapi.commands allows
// only its tenant's keys; workers refuse a command whose body names
// another tenant than its key (docs/sdk.md, "The bus client").
package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/gateway"
)

// Config configures a Client.
type Config struct {
	// URLs are the broker URLs (a cluster's nodes), with the tenant's
	// own user: amqp://acme-svc:secret@rabbit1:5672/.
	URLs []string
	// Tenant is the tenant every command acts for (required): the one
	// the broker lets the URLs' user publish for.
	Tenant string
	// Prefix is the deployment's name prefix (CALLGW_AMQP_PREFIX), "" in
	// production.
	Prefix string
	// ConnectionName is shown by rabbitmqctl; default "callgw bus <tenant>".
	ConnectionName string
	// Timeout is the deadline of a command whose context has none
	// (default 5 s, the gateway's default).
	Timeout time.Duration
	// Rules are the deployment's input rules checked before publishing
	// (nil: the strict defaults; the workers check again in any case).
	Rules *callapi.InputRules
	Log   *zap.Logger
}

// Client is a bus client of one tenant. It is safe for concurrent use;
// make one per process and call Run.
type Client struct {
	cfg Config
	bus *amqpbus.Bus
	obs *gateway.Observer
	svc *gateway.Service
	log *zap.Logger
}

// New builds a Client; it does no I/O until Run.
func New(cfg Config) (*Client, error) {
	if !callapi.ValidTenant(cfg.Tenant) {
		return nil, fmt.Errorf("bus: tenant %q: want [A-Za-z0-9_-]{1,64}", cfg.Tenant)
	}
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = "callgw bus " + cfg.Tenant
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	b, err := amqpbus.New(amqpbus.Config{URLs: cfg.URLs, Prefix: cfg.Prefix, Tenant: cfg.Tenant,
		ConnectionName: cfg.ConnectionName, DefaultTimeout: cfg.Timeout, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	reg, locs := gateway.NewRegistry(), gateway.NewLocations(0)
	svc := gateway.NewService(b, reg, locs)
	svc.Rules = cfg.Rules
	return &Client{cfg: cfg, bus: b, obs: gateway.NewObserver(reg, locs, nil), svc: svc, log: cfg.Log.Named("bus")}, nil
}

// Run connects (failing over between URLs, reconnecting after a loss) and
// listens to the nodes' heartbeats until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.bus.Run(gctx) })
	g.Go(func() error { return c.observe(gctx) })
	return g.Wait()
}

func (c *Client) observe(ctx context.Context) error {
	if err := c.bus.Ready(ctx); err != nil {
		return nil
	}
	sub, err := c.bus.SubscribeHeartbeats(ctx, func(hb *callapi.Heartbeat) { c.obs.Heartbeat(hb) })
	if err != nil {
		return fmt.Errorf("bus: subscribe heartbeats: %w", err)
	}
	defer sub.Close()
	c.obs.Listening()
	<-ctx.Done()
	return nil
}

// Ready waits until the client is connected and has heard every live
// node's heartbeat (as a gateway does before it serves), or ctx ends.
func (c *Client) Ready(ctx context.Context) error {
	if err := c.bus.Ready(ctx); err != nil {
		return err
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		err := c.obs.Ready()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: not ready: %w", errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}

// CallOption changes one request, as client.CallOption does for REST.
type CallOption func(*request)

type request struct {
	timeout time.Duration
	key     string
}

// WithTimeout sets the command's deadline (default Config.Timeout; for an
// Originate with WaitAnswered its ring time plus Config.Timeout). The
// context's own deadline, when earlier, wins.
func WithTimeout(d time.Duration) CallOption { return func(r *request) { r.timeout = d } }

// WithIdempotencyKey sets the command's idempotency key: the same key (per
// tenant) is the same command, never run twice (docs/api.md).
func WithIdempotencyKey(k string) CallOption { return func(r *request) { r.key = k } }

// prepare applies opts: the Service's options and a context bounded by
// the command's deadline (def when no WithTimeout).
func (c *Client) prepare(ctx context.Context, def time.Duration, opts []CallOption) (context.Context, context.CancelFunc, gateway.Options) {
	r := request{timeout: def}
	for _, o := range opts {
		o(&r)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	return ctx, cancel, gateway.Options{Tenant: c.cfg.Tenant, IdempotencyKey: r.key}
}

// fail turns an error of the Service into the REST client's error: a
// *client.Error with the same code, message and field (Status is 0: no
// HTTP was involved). Other errors (the context's) are returned as they
// are.
func fail(err error) error {
	var e *callapi.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	return &client.Error{Code: e.Code, Title: string(e.Code), Detail: e.Msg, Field: e.Field}
}
