package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
)

// Config configures a delivery process.
type Config struct {
	Names       Names
	Policy      Policy
	Timeout     time.Duration // one POST: 10s
	MaxResponse int64         // bytes of an answer read: 64 KiB
	RetryBase   time.Duration // first retry delay: 5s
	RetryMax    time.Duration // longest retry delay: 1h
	MaxAge      time.Duration // a delivery is dead-lettered this long after its first attempt: 24h
	Log         *zap.Logger
	// OnAttempt, when set, is called after each attempt (tests, metrics).
	OnAttempt func(sub string, a callapi.WebhookAttempt)
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = 64 << 10
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 5 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Hour
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	return c
}

// Deliverer is one delivery process: it dispatches the intake queue when it
// is the intake's active consumer, and drains the subscription queues whose
// single active consumer it is. Several share the work and take over from
// each other.
type Deliverer struct {
	cfg    Config
	conn   *amqp.Connection
	store  *Store
	sender *Sender
	log    *zap.Logger

	logMu sync.Mutex
	logCh *amqp.Channel

	mu    sync.Mutex
	lanes map[string]*lane
	ctx   context.Context
}

// Run delivers until ctx ends or the connection fails.
func Run(ctx context.Context, conn *amqp.Connection, cfg Config) error {
	cfg = cfg.withDefaults()
	store, err := OpenStore(ctx, conn, cfg.Names, cfg.Log)
	if err != nil {
		return err
	}
	defer store.Close()
	logCh, err := conn.Channel()
	if err != nil {
		return err
	}
	defer logCh.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &Deliverer{cfg: cfg, conn: conn, store: store, sender: NewSender(cfg.Policy, cfg.Timeout, cfg.MaxResponse),
		log: cfg.Log.Named("webhook"), logCh: logCh, lanes: map[string]*lane{}, ctx: ctx}
	store.Watch(d.sync)
	for _, s := range store.List("") {
		d.sync(s)
	}
	defer d.stopAll()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	errc := make(chan error, 1)
	go func() { errc <- dispatch(ctx, conn, cfg.Names, store, d.log) }()
	select {
	case <-ctx.Done():
		return nil
	case e := <-closed:
		return fmt.Errorf("webhook: connection closed: %v", e)
	case err := <-errc:
		return err
	}
}

// sync starts, restarts or stops the lane of a subscription after a change.
func (d *Deliverer) sync(s *Subscription) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return
	}
	l := d.lanes[s.ID]
	want := !s.Deleted && s.State != StatePaused
	if l != nil && !want {
		l.stop()
		delete(d.lanes, s.ID)
	}
	if s.Deleted {
		go d.dropQueues(s.ID, l)
		return
	}
	if l == nil && want {
		d.startLane(s.ID)
	}
}

// lanePrefetch is how many messages of a subscription's queue a lane holds
// unacknowledged. The lane still POSTs one at a time, in queue order; the
// prefetch saves a broker round trip between two POSTs. A crash returns
// them to the queue, in order, for the next active consumer.
const lanePrefetch = 32

func (d *Deliverer) startLane(id string) {
	ch, err := d.conn.Channel()
	if err == nil {
		err = declareSub(ch, d.cfg.Names, id)
	}
	if err == nil {
		err = ch.Qos(lanePrefetch, 0, false)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		d.log.Warn("cannot start subscription lane", zap.String("subscription", id), zap.Error(err))
		return
	}
	ctx, cancel := context.WithCancel(d.ctx)
	l := &lane{id: id, d: d, ch: ch, stop: cancel, done: make(chan struct{}),
		count: map[string]int{}, head: map[string]string{}, due: map[string]time.Time{}}
	d.lanes[id] = l
	go l.run(ctx)
}

func (d *Deliverer) dropQueues(id string, l *lane) {
	if l != nil {
		<-l.done
	}
	ch, err := d.conn.Channel()
	if err != nil {
		return
	}
	defer ch.Close()
	deleteSub(ch, d.cfg.Names, id)
}

func (d *Deliverer) stopAll() {
	d.mu.Lock()
	lanes := d.lanes
	d.lanes = map[string]*lane{}
	d.mu.Unlock()
	for _, l := range lanes {
		l.stop()
		<-l.done
	}
}
