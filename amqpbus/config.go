package amqpbus

import (
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Config configures a Bus. It is plain data: DefaultConfig gives the
// defaults, New fills the zero fields from them and validates the rest.
type Config struct {
	// URLs are the broker URLs (the nodes of a cluster). The bus connects
	// to the first that answers and, on loss, fails over to the next ones
	// in order, with capped exponential backoff and jitter between rounds.
	URLs []string
	// Prefix is prepended to every exchange and queue name. Tests use a
	// unique prefix per test on the shared broker; "" in production.
	Prefix string
	// ConnectionName is the connection_name client property, shown by
	// rabbitmqctl and the management UI: "callgw gateway", "callgw worker pbx1".
	ConnectionName string

	// Prefetch is the consumer prefetch of the command consumers (per
	// consumer) and of event subscriptions.
	Prefetch int
	// PublishChannels is the size of the pool of publishing channels.
	PublishChannels int
	// ReconnectMin and ReconnectMax bound the backoff between rounds of
	// connection attempts (jittered in [d/2, d], retry.Backoff). The
	// default cap, 400ms, brings a process back within half a second of
	// its broker's return however long the broker was away.
	ReconnectMin, ReconnectMax time.Duration
	// DialTimeout bounds the TCP connect and AMQP handshake of one attempt.
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval asked of the broker.
	Heartbeat time.Duration
	// ShutdownTimeout bounds the graceful drain of in-flight commands when
	// Run's context ends; then their contexts are cancelled.
	ShutdownTimeout time.Duration
	// DefaultTimeout is the deadline given to a command published with a
	// context that has none.
	DefaultTimeout time.Duration

	// DeliveryLimit is x-delivery-limit of the shared any queue: a message
	// returned to the queue more often is dead-lettered. The worker also
	// gives up on a command whose handler panicked this many times.
	DeliveryLimit int
	// MaxQueueLength is x-max-length of the command queues (any and node
	// queues); past it publishes are refused (x-overflow reject-publish),
	// so the publisher gets a nack and its caller an error.
	MaxQueueLength int
	// DeadTTL is how long dead letters are kept in the callapi.dead queue,
	// DeadMaxLength how many (oldest dropped first).
	DeadTTL       time.Duration
	DeadMaxLength int
	// DirectRouting publishes commands for one node, and for any, straight
	// to their queue through the default exchange (routing key: the queue
	// name) instead of through the callapi.commands topic exchange;
	// broadcasts (all) always go through callapi.commands. The message,
	// the mandatory flag and the returns are the same, and the queues
	// keep their topic bindings for other publishers. RabbitMQ's topic
	// routing costs a third of the throughput of a request/reply round
	// trip (docs/performance.md); off by default, the brief's protocol.
	DirectRouting bool
	// Batching says when requests to one node travel in batches
	// (protocol version 2, docs/protocol.md §7): BatchAuto (default) to
	// nodes whose heartbeat announces version 2, BatchOn always, BatchOff
	// never.
	Batching string
	// BatchWindow is how many batches of one node may be in flight at
	// once: a batch is in flight until each of its requests has its
	// outcome, or for BatchHold at most. Requests arriving while the
	// window is full gather into the next batch. BatchMax bounds the
	// commands of one batch.
	BatchWindow int
	BatchHold   time.Duration
	BatchMax    int
	// SubscriptionBuffer is how many undelivered events a subscription
	// holds (its prefetch) before the broker waits.
	SubscriptionBuffer int
	// SubscribeOnly is for a customer's restricted AMQP user that only
	// subscribes to events (docs/operations.md, "A customer's own AMQP
	// user"): the bus declares none of callgw's exchanges and queues
	// (they need configure rights on callapi.*; callgw's own processes
	// declare them), and its subscription queues have no dead-letter
	// exchange (that would need write rights on callapi.dead). Publishing
	// and commands are refused by the broker for such a user.
	SubscribeOnly bool
	// Tenant, when set, makes this a tenant's bus (callapi/bus): every
	// command is published to the commands exchange with the routing key
	// cmd.<target>.tenant.<tenant>.<action> (callapi.TenantCommandKey),
	// the only keys the broker lets a tenant's user publish
	// (docs/protocol.md §12); DirectRouting is ignored, and the bus
	// declares no topology (as SubscribeOnly).
	Tenant string

	// History configures the per-tenant event history streams
	// (EnsureHistory, ReadHistory).
	History HistoryConfig

	Log *zap.Logger
}

// DefaultConfig returns the defaults (one local broker).
func DefaultConfig() Config {
	return Config{
		URLs:               []string{"amqp://guest:guest@127.0.0.1:5672/"},
		ConnectionName:     "callgw",
		Prefetch:           64,
		PublishChannels:    4,
		ReconnectMin:       100 * time.Millisecond,
		ReconnectMax:       400 * time.Millisecond,
		DialTimeout:        5 * time.Second,
		Heartbeat:          10 * time.Second,
		ShutdownTimeout:    10 * time.Second,
		DefaultTimeout:     5 * time.Second,
		DeliveryLimit:      3,
		MaxQueueLength:     100000,
		DeadTTL:            7 * 24 * time.Hour,
		DeadMaxLength:      100000,
		SubscriptionBuffer: 256,
		Batching:           BatchAuto,
		BatchWindow:        2,
		BatchHold:          5 * time.Millisecond,
		BatchMax:           128,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if len(c.URLs) == 0 {
		c.URLs = d.URLs
	}
	if c.ConnectionName == "" {
		c.ConnectionName = d.ConnectionName
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.Prefetch, d.Prefetch)
	setInt(&c.PublishChannels, d.PublishChannels)
	setInt(&c.DeliveryLimit, d.DeliveryLimit)
	setInt(&c.MaxQueueLength, d.MaxQueueLength)
	setInt(&c.DeadMaxLength, d.DeadMaxLength)
	setInt(&c.SubscriptionBuffer, d.SubscriptionBuffer)
	c.History = c.History.withDefaults()
	setInt(&c.BatchWindow, d.BatchWindow)
	setInt(&c.BatchMax, d.BatchMax)
	setDur(&c.BatchHold, d.BatchHold)
	if c.Batching == "" {
		c.Batching = d.Batching
	}
	setDur(&c.ReconnectMin, d.ReconnectMin)
	setDur(&c.ReconnectMax, d.ReconnectMax)
	setDur(&c.DialTimeout, d.DialTimeout)
	setDur(&c.Heartbeat, d.Heartbeat)
	setDur(&c.ShutdownTimeout, d.ShutdownTimeout)
	setDur(&c.DefaultTimeout, d.DefaultTimeout)
	setDur(&c.DeadTTL, d.DeadTTL)
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("amqpbus: at least one broker URL required")
	}
	for _, u := range c.URLs {
		if _, err := amqp.ParseURI(u); err != nil {
			return fmt.Errorf("amqpbus: broker URL %q: %w", redact(u), err)
		}
	}
	switch {
	case c.Prefetch < 1 || c.Prefetch > 65535:
		return errors.New("amqpbus: prefetch must be in 1..65535")
	case c.PublishChannels < 1:
		return errors.New("amqpbus: publish channels must be > 0")
	case c.ReconnectMin <= 0 || c.ReconnectMin > c.ReconnectMax:
		return errors.New("amqpbus: need 0 < reconnect_min <= reconnect_max")
	case c.DeliveryLimit < 1:
		return errors.New("amqpbus: delivery limit must be > 0")
	case c.MaxQueueLength < 1 || c.DeadMaxLength < 1:
		return errors.New("amqpbus: queue lengths must be > 0")
	case c.Batching != BatchAuto && c.Batching != BatchOn && c.Batching != BatchOff:
		return fmt.Errorf("amqpbus: batching %q is not auto, on or off", c.Batching)
	case c.BatchWindow < 1 || c.BatchMax < 1 || c.BatchMax > maxBatchItems:
		return fmt.Errorf("amqpbus: need batch window >= 1 and batch max in 1..%d", maxBatchItems)
	case c.DialTimeout <= 0 || c.ShutdownTimeout <= 0 || c.DefaultTimeout <= 0:
		return errors.New("amqpbus: timeouts must be > 0")
	}
	return nil
}

// redact hides the password of a broker URL for logs and errors.
func redact(u string) string {
	p, err := amqp.ParseURI(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.Password = ""
	return p.String()
}

// Names are the exchange and queue names of the protocol, with the
// configured prefix.
type Names struct {
	Commands     string // topic exchange of commands
	Events       string // fanout exchange of events
	EventsRouted string // topic exchange bound to Events
	Nodes        string // fanout exchange of heartbeats
	Dead         string // fanout exchange of dead letters
	DeadQueue    string // durable queue bound to Dead (same name)
	Any          string // shared quorum work queue
	NodePrefix   string // node queue = NodePrefix + node id
	// HistoryPrefix starts each tenant's history stream (History).
	HistoryPrefix string
}

func newNames(prefix string) Names {
	return Names{
		Commands:      prefix + callapi.ExchangeCommands,
		Events:        prefix + callapi.ExchangeEvents,
		EventsRouted:  prefix + callapi.ExchangeEventsRouted,
		Nodes:         prefix + callapi.ExchangeNodes,
		Dead:          prefix + callapi.ExchangeDead,
		DeadQueue:     prefix + callapi.ExchangeDead,
		Any:           prefix + callapi.QueueAny,
		NodePrefix:    prefix + callapi.QueueNodePrefix,
		HistoryPrefix: prefix + HistoryQueuePrefix,
	}
}

// Node returns the name of a node's command queue.
func (n Names) Node(id callapi.NodeID) string { return n.NodePrefix + string(id) }
