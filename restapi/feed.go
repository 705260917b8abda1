package restapi

import (
	"context"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// EventSource subscribes to every event on the bus and hands each to
// handle until the returned Closer is closed. It returns once the
// subscription consumes, so that nothing published afterwards is missed.
// cmd wires it to amqpbus.Bus.SubscribeEvents.
type EventSource func(ctx context.Context, handle func(*callapi.Event)) (io.Closer, error)

// Feed implements Events over a Hub, taking every event from the bus only
// while HTTP event streams exist: the first stream opens the subscription
// (and Subscribe returns once it consumes), the last one lets it go after
// Linger, so that a client resuming with Last-Event-ID finds the events in
// between; a stream opened meanwhile keeps it. The feed serves the streams
// only: the gateway's Observer learns from its own subscription, which
// it holds all the time (a second feed into Learn while streams exist
// would learn each event twice, and in no defined order between the two
// queues: a call.created late from one after the call.hangup from the
// other would bring back a location just forgotten).
type Feed struct {
	hub    *Hub
	source EventSource
	linger time.Duration
	log    *zap.Logger

	mu     sync.Mutex
	sub    io.Closer
	gen    uint64 // counts subscriptions, so a late linger timer knows its own
	users  int
	idle   *time.Timer
	closed bool
}

var _ Events = (*Feed)(nil)

// NewFeed builds a Feed. log nil is a no-op logger.
func NewFeed(hub *Hub, source EventSource, linger time.Duration, log *zap.Logger) *Feed {
	if log == nil {
		log = zap.NewNop()
	}
	return &Feed{hub: hub, source: source, linger: linger, log: log}
}

// Subscribe opens one stream.
func (f *Feed) Subscribe(ctx context.Context, filter EventFilter) (<-chan *callapi.Event, func(), error) {
	if err := f.acquire(ctx); err != nil {
		return nil, nil, err
	}
	ch, cancel, err := f.hub.Subscribe(ctx, filter)
	if err != nil {
		f.release()
		return nil, nil, err
	}
	var once sync.Once
	release := func() { once.Do(f.release) }
	stop := context.AfterFunc(ctx, release)
	return ch, func() {
		stop()
		cancel()
		release()
	}, nil
}

// Subscribed reports whether the feed holds its bus subscription.
func (f *Feed) Subscribed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sub != nil
}

func (f *Feed) acquire(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrHubClosed
	}
	if f.idle != nil {
		f.idle.Stop()
		f.idle = nil
	}
	if f.sub == nil {
		// Events went by while no subscription took them: a resume from
		// before now would skip them silently, so it must find no point.
		f.hub.forgetHistory()
		sub, err := f.source(ctx, f.hub.Publish)
		if err != nil {
			return err
		}
		f.sub = sub
		f.gen++
		f.log.Info("event streams: taking every event")
	}
	f.users++
	return nil
}

func (f *Feed) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users--
	if f.users > 0 || f.sub == nil || f.closed {
		return
	}
	sub, gen := f.sub, f.gen
	f.idle = time.AfterFunc(f.linger, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.users == 0 && f.sub != nil && f.gen == gen {
			_ = sub.Close()
			f.sub = nil
			f.log.Info("event streams: no stream left, back to the events the gateway needs")
		}
	})
}

// Close lets the subscription go; later Subscribe calls fail with
// ErrHubClosed.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.idle != nil {
		f.idle.Stop()
	}
	if f.sub != nil {
		_ = f.sub.Close()
		f.sub = nil
	}
}

// SplitFeed serves the streams of one tenant from Tenant and the streams of
// every tenant (an admin's tenant=*, EventFilter.Tenant empty) from All:
// the tenants' history streams hold one tenant each, so the all-tenant
// view of an operator's console is fed live from the bus instead (its
// resume reaches as far back as All's hub keeps).
type SplitFeed struct {
	Tenant, All interface {
		Events
		Close()
	}
}

// Subscribe opens a stream on the feed that serves f.
func (s SplitFeed) Subscribe(ctx context.Context, f EventFilter) (<-chan *callapi.Event, func(), error) {
	if f.Tenant == "" {
		return s.All.Subscribe(ctx, f)
	}
	return s.Tenant.Subscribe(ctx, f)
}

// Close closes both feeds.
func (s SplitFeed) Close() {
	s.Tenant.Close()
	s.All.Close()
}
