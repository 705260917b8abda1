package amqpbus

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// Compile-time checks of the seams this package implements.
var (
	_ callapi.Bus           = (*Bus)(nil)
	_ callapi.EventSink     = (*Bus)(nil)
	_ callapi.HeartbeatSink = (*Bus)(nil)
)

// ErrClosed is returned by operations on a Bus whose Run has returned.
var ErrClosed = errors.New("amqpbus: bus closed")

// Bus is callgw's RabbitMQ layer: one connection (failed over between the
// configured brokers by Run), a pool of publishing channels that also
// receive direct replies, and the consumers registered with ServeCommands
// and Subscribe*. Its methods are safe for concurrent use.
type Bus struct {
	cfg   Config
	log   *zap.Logger
	names Names

	running atomic.Bool
	done    chan struct{} // closed when Run returns
	closing chan struct{} // closed when Run starts returning: nothing waits for a connection any more

	mu        sync.Mutex
	sess      *session      // current connection, nil while down
	up        chan struct{} // closed while connected; replaced when down
	ready     chan struct{} // closed on the first connection
	readyOnce sync.Once
	blocked   chan struct{} // non-nil (and open) while the broker blocks us
	blockedBy string
	url       string
	since     time.Time
	lostAt    time.Time
	lastErr   string
	starters  []starter // worker and subscriptions, (re)started per connection
	worker    *worker

	pending pendingMap
	stats   counters

	peers sync.Map // callapi.NodeID -> int: protocol version heard in its heartbeats
	// histories holds the tenants whose history streams this bus declared
	// (EnsureHistory).
	histories sync.Map
	routes    sync.Map       // callapi.NodeID -> *cmdRoute: request batching per node
	bg        sync.WaitGroup // batch sends started in the background; Run waits for them
	bgMu      sync.Mutex     // guards bgDone against bg.Add racing Run's bg.Wait
	bgDone    bool
}

// background runs f on a goroutine the bus owns (Run waits for it); false,
// without running f, once Run is returning.
func (b *Bus) background(f func()) bool {
	b.bgMu.Lock()
	if b.bgDone {
		b.bgMu.Unlock()
		return false
	}
	b.bg.Add(1)
	b.bgMu.Unlock()
	go func() {
		defer b.bg.Done()
		f()
	}()
	return true
}

// waitBackground stops new background work and waits for what runs.
func (b *Bus) waitBackground() {
	b.bgMu.Lock()
	b.bgDone = true
	b.bgMu.Unlock()
	b.bg.Wait()
}

// startClosing makes waiting for a connection fail from now on (Run is
// returning).
func (b *Bus) startClosing() {
	b.bgMu.Lock()
	defer b.bgMu.Unlock()
	select {
	case <-b.closing:
	default:
		close(b.closing)
	}
}

// starter is something that consumes and must be (re)started on every
// new connection: the command worker and the subscriptions.
type starter interface {
	start(s *session) error
	// stop stops consuming on s and finishes in-flight work within ctx.
	stop(ctx context.Context, s *session)
}

// New validates cfg (zero fields take DefaultConfig's values) and returns
// a Bus. It does no I/O: Run connects.
func New(cfg Config) (*Bus, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bus{
		cfg:     cfg,
		log:     cfg.Log.Named("amqpbus"),
		names:   newNames(cfg.Prefix),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		up:      make(chan struct{}),
		ready:   make(chan struct{}),
	}
	b.pending.m = make(map[string][]*call)
	return b, nil
}

// Names returns the (prefixed) exchange and queue names.
func (b *Bus) Names() Names { return b.names }

// State is the connection state, for health checks and metrics.
type State struct {
	Connected  bool
	URL        string    // current broker, password removed
	Since      time.Time // when the current (or last) connection was made
	LostAt     time.Time // when the last connection was lost (zero if never)
	Reconnects int64     // connections made after the first one
	Blocked    bool      // the broker blocks publishes (resource alarm)
	BlockedBy  string
	LastError  string
	Serving    bool // a worker (ServeCommands) consuming its node queue
}

// State returns the current connection state.
func (b *Bus) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	serving := b.worker != nil && b.sess != nil && b.worker.serving()
	return State{
		Serving:    serving,
		Connected:  b.sess != nil,
		URL:        b.url,
		Since:      b.since,
		LostAt:     b.lostAt,
		Reconnects: b.stats.reconnects.Load(),
		Blocked:    b.blocked != nil,
		BlockedBy:  b.blockedBy,
		LastError:  b.lastErr,
	}
}

// Ready waits until the bus is connected for the first time with its
// topology declared and the consumers registered before (ServeCommands,
// subscriptions) consuming, or ctx ends.
func (b *Bus) Ready(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-b.done:
		return ErrClosed
	case <-ctx.Done():
		return callapi.Wrap(callapi.CodeNodeUnavailable, "amqpbus.Ready", ctx.Err(), "broker not connected")
	}
}

// Run owns the connection: it dials the brokers in order, declares the
// topology, opens the publishing pool, (re)starts every consumer, and on
// loss reconnects with backoff and jitter. When ctx ends it stops
// consuming, drains in-flight commands (ShutdownTimeout), closes the
// channels and the connection, and returns nil. Call it once.
func (b *Bus) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("amqpbus: Run called twice")
	}
	defer close(b.done)
	defer b.waitBackground()
	defer b.startClosing()
	defer b.failAllPending()
	defer b.drainWorker()
	n := len(b.cfg.URLs)
	idx, failed, connects := 0, 0, 0
	for {
		url := b.cfg.URLs[idx]
		conn, err := b.dial(ctx, url)
		if ctx.Err() != nil {
			if conn != nil {
				_ = conn.Close()
			}
			return nil
		}
		if err != nil {
			failed++
			b.setLastErr(err)
			b.log.Warn("amqp dial failed", zap.String("url", redact(url)), zap.Int("attempt", failed), zap.Error(err))
			idx = (idx + 1) % n
			if failed%n != 0 {
				continue // try the rest of the cluster at once
			}
			if !retry.Sleep(ctx, retry.Backoff(failed/n-1, b.cfg.ReconnectMin, b.cfg.ReconnectMax)) {
				return nil
			}
			continue
		}
		ready := false
		err = b.serve(ctx, conn, url, func() {
			ready = true
			if connects > 0 {
				b.stats.reconnects.Add(1)
			}
			connects++
		})
		if ctx.Err() != nil {
			return nil
		}
		b.setLastErr(err)
		if n > 1 {
			idx = (idx + 1) % n // fail over: the next broker first
		}
		delay := retry.Backoff(0, b.cfg.ReconnectMin, b.cfg.ReconnectMax)
		if ready {
			failed = 0
			b.log.Warn("amqp connection lost", zap.String("url", redact(url)), zap.Error(err))
		} else {
			// Connected but could not set up (e.g. a queue declared
			// elsewhere with other arguments): back off as for a dial.
			failed++
			delay = retry.Backoff(failed-1, b.cfg.ReconnectMin, b.cfg.ReconnectMax)
			b.log.Error("amqp setup failed", zap.String("url", redact(url)), zap.Int("attempt", failed), zap.Error(err))
		}
		if !retry.Sleep(ctx, delay) {
			return nil
		}
	}
}

func (b *Bus) setLastErr(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	b.lastErr = err.Error()
	b.mu.Unlock()
}

func (b *Bus) dial(ctx context.Context, url string) (*amqp.Connection, error) {
	return dialBroker(ctx, url, brokerConn{name: b.cfg.ConnectionName, product: "callgw amqpbus",
		heartbeat: b.cfg.Heartbeat, timeout: b.cfg.DialTimeout, op: "amqpbus.dial"})
}

// failAllPending fails every request still waiting (Run is returning).
func (b *Bus) failAllPending() {
	b.pending.failWhere(func(*call) bool { return true }, ErrClosed)
}

// drainWorker waits for the worker's commands still running when Run
// returns (those of a lost connection included), cancelling them after
// ShutdownTimeout.
func (b *Bus) drainWorker() {
	b.mu.Lock()
	w := b.worker
	b.mu.Unlock()
	if w == nil {
		return
	}
	w.stopping.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
	defer cancel()
	if !w.sch.wait(ctx) {
		w.cancelRun()
		w.sch.wait(context.Background())
	}
	w.cancelRun()
	w.sch.close()
}
