// Package stack wires callgw's processes from their packages and their
// configuration: a worker (package worker) is the bus, the PBX adapter, the
// command chain and the heartbeat announcer of one node; a Gateway is the
// bus, the cluster view (gateway.Observer), the domain service and the REST
// server with its event feed (restapi.Feed). cmd/callgw and the benchmarks
// run the same wiring. Behaviour belongs in the packages it wires, with
// their tests; what is here is wiring and the gateway's order of startup
// and shutdown, tested here.
package stack

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/worker"
)

// NewWorker wires the worker of cfg; it does no I/O until Run.
func NewWorker(cfg *config.Worker, log *zap.Logger) (*worker.Worker, error) {
	node := callapi.NodeID(cfg.NodeID)
	host, _ := os.Hostname()
	bus, err := amqpbus.New(amqpbus.Config{
		URLs:           cfg.AMQPURLs,
		Prefix:         cfg.Prefix,
		Batching:       cfg.Batching,
		ConnectionName: connName(fmt.Sprintf("callgw worker %s %s", cfg.NodeID, host), cfg.Prefix),
		Log:            log,
	})
	if err != nil {
		return nil, err
	}
	metrics := worker.NewMetrics()
	keyed := worker.NewKeyed(node, log.Named("journal").With(zap.String("node", cfg.NodeID)))
	pbx, err := asterisk.NewPBX(asterisk.Config{
		Node: node, URL: cfg.ARIURL, User: cfg.ARIUser, Password: cfg.ARIPassword,
		App: cfg.ARIApp, Tenant: cfg.Tenant, Log: log, Observer: metrics, ResourceTenants: resourceTenants(cfg.Tenants),
	}, worker.NewJournalSink(bus, keyed))
	if err != nil {
		return nil, err
	}
	keyed.SetNext(&worker.Executor{Node: node, PBX: pbx, Journal: keyed, Rules: cfg.Rules()})
	work := &worker.InFlight{Next: metrics.Metered(keyed)}
	// The announcer beats at once for a gateway's nodes.ping, when the
	// node queue is consumed again after a broker reconnection, and when
	// ARI connects or drops: gateways know within moments.
	ann := worker.NewAnnouncer(node, pbx, bus, cfg.HeartbeatInterval, cfg.Concurrency)
	pbx.OnHealthChange(ann.BeatNow)
	if err := bus.ServeCommands(node, work, amqpbus.ServeOptions{Concurrency: cfg.Concurrency, OnPing: ann.BeatNow}); err != nil {
		return nil, err
	}
	ann.Events = bus
	ann.OnError = func(err error) { log.Warn("heartbeat not published", zap.String("node", cfg.NodeID), zap.Error(err)) }
	return worker.New(worker.Parts{Node: node, Bus: bus, PBX: pbx, Announcer: ann, InFlight: work, Keyed: keyed, Metrics: metrics,
		JournalPath: worker.JournalPath(cfg.StateDir, cfg.Prefix, cfg.NodeID), Window: cfg.IdempotencyWindow,
		OpsAddr: cfg.MetricsAddr, ARIURL: cfg.ARIURL, App: cfg.ARIApp, Log: log})
}

// connName is an AMQP connection name, with the deployment's prefix when
// it has one: several deployments on one broker (and fault tests, which
// close their own connections by name) tell theirs apart.
func connName(name, prefix string) string {
	if prefix == "" {
		return name
	}
	return name + " " + strings.TrimSuffix(prefix, ".")
}

// resourceTenants routes node resource events by the tenants file (nil
// without one: the worker's tenant gets them).
func resourceTenants(ts callapi.TenantScopes) func(kind, name string) []string {
	if len(ts) == 0 {
		return nil
	}
	return ts.Matching
}
