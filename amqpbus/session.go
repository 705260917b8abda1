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
)

// session is one connection's worth of state. Its goroutines are counted
// in wg and end when the connection closes.
type session struct {
	b    *Bus
	conn *amqp.Connection
	url  string
	ctx  context.Context // ends when the connection is lost or closed
	wg   sync.WaitGroup

	mu   sync.Mutex
	pool []*pubChan
	next atomic.Uint64
}

// serve runs one connection until it is lost (returns the cause) or ctx
// ends (graceful shutdown, returns nil).
func (b *Bus) serve(ctx context.Context, conn *amqp.Connection, url string, onReady func()) error {
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{b: b, conn: conn, url: url, ctx: sctx}
	defer func() {
		cancel()
		// Bounded: a broker that no longer answers (or blocks us) cannot
		// hang the shutdown (amqp091-go #21, #122).
		_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
		s.wg.Wait()
	}()
	s.wg.Add(1)
	go func() { // owner: this session; ends with the connection
		defer s.wg.Done()
		s.watchBlocked(blocks)
	}()
	if err := s.open(); err != nil {
		return err
	}
	onReady()
	b.startSession(s)
	lost := connectionLost(ctx, closed)
	if lost == nil {
		// Graceful: stop consumers (the worker drains and acks) while
		// the pool can still publish replies, newest first.
		b.stopStarters(s)
	}
	b.endSession(lost)
	if lost == nil {
		s.closePool()
	}
	return lost
}

// watchBlocked passes the broker's blocked/unblocked notices on to the
// bus until blocks closes or the session ends.
func (s *session) watchBlocked(blocks <-chan amqp.Blocking) {
	for {
		select {
		case bl, ok := <-blocks:
			if !ok {
				return
			}
			s.b.setBlocked(s, bl)
		case <-s.ctx.Done():
			return
		}
	}
}

// open declares the whole topology (unless the bus only subscribes) and
// opens the publishing pool.
func (s *session) open() error {
	b := s.b
	if !b.cfg.SubscribeOnly && b.cfg.Tenant == "" {
		if err := declareTopology(s.conn, b.names, b.cfg); err != nil {
			return err
		}
	}
	s.pool = make([]*pubChan, b.cfg.PublishChannels)
	for i := range s.pool {
		pc, err := s.openPubChan()
		if err != nil {
			return err
		}
		s.pool[i] = pc
	}
	return nil
}

// startSession makes s the bus's current session, (re)starts every
// consumer on it and then marks the bus ready.
func (b *Bus) startSession(s *session) {
	b.mu.Lock()
	b.sess = s
	b.url = redact(s.url)
	b.since = time.Now()
	close(b.up)
	starters := append([]starter(nil), b.starters...)
	b.mu.Unlock()
	b.log.Info("amqp connected", zap.String("url", redact(s.url)), zap.String("connection_name", b.cfg.ConnectionName))
	for _, st := range starters {
		if err := st.start(s); err != nil {
			b.log.Error("consumer start failed", zap.Error(err))
		}
	}
	// Ready only once the consumers registered so far consume: a worker
	// announces itself after Ready, and a gateway that heard it must be
	// able to route commands to its node queue at once.
	b.readyOnce.Do(func() { close(b.ready) })
}

// connectionLost waits for the connection to close (returns why) or ctx
// to end (returns nil).
func connectionLost(ctx context.Context, closed <-chan *amqp.Error) error {
	select {
	case e, ok := <-closed:
		if ok && e != nil {
			return e
		}
		return errors.New("connection closed")
	case <-ctx.Done():
		return nil
	}
}

// stopStarters stops the consumers on s, newest first, within
// ShutdownTimeout.
func (b *Bus) stopStarters(s *session) {
	b.mu.Lock()
	starters := append([]starter(nil), b.starters...)
	b.mu.Unlock()
	sd, cancelSD := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
	for i := len(starters) - 1; i >= 0; i-- {
		starters[i].stop(sd, s)
	}
	cancelSD()
}

// endSession clears the current session: callers wait for the next one,
// and a blocked connection no longer blocks them.
func (b *Bus) endSession(lost error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sess = nil
	if lost != nil {
		b.lostAt = time.Now()
	}
	b.up = make(chan struct{})
	if b.blocked != nil {
		close(b.blocked)
		b.blocked, b.blockedBy = nil, ""
	}
}

// closePool closes the publishing channels of s (graceful shutdown only:
// a lost connection took them with it).
func (s *session) closePool() {
	s.mu.Lock()
	pool := append([]*pubChan(nil), s.pool...)
	s.mu.Unlock()
	for _, pc := range pool {
		if pc != nil {
			s.closeChannel(pc.ch)
		}
	}
}

func (b *Bus) setBlocked(s *session, bl amqp.Blocking) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess != s && b.sess != nil {
		return
	}
	if bl.Active && b.blocked == nil {
		b.blocked, b.blockedBy = make(chan struct{}), bl.Reason
		b.log.Warn("broker blocked publishing", zap.String("reason", bl.Reason))
	} else if !bl.Active && b.blocked != nil {
		close(b.blocked)
		b.blocked, b.blockedBy = nil, ""
		b.log.Info("broker unblocked publishing")
	}
}

// waitSession returns the current session, waiting for the broker (and
// for a blocked connection to be unblocked) until ctx ends.
func (b *Bus) waitSession(ctx context.Context, op string) (*session, error) {
	for {
		b.mu.Lock()
		s, up, bl, by := b.sess, b.up, b.blocked, b.blockedBy
		b.mu.Unlock()
		if s != nil && bl == nil {
			return s, nil
		}
		wait := up
		msg := "broker not connected"
		if s != nil {
			wait, msg = bl, "broker is blocking publishes: "+by
		}
		select {
		case <-wait:
		case <-b.closing:
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, ErrClosed, "bus closed")
		case <-ctx.Done():
			return nil, callapi.Wrap(callapi.CodeNodeUnavailable, op, ctx.Err(), msg)
		}
	}
}

// channel returns the pooled publishing channels of s in turn, replacing
// a dead one.
func (s *session) channel() (*pubChan, error) {
	return s.channelAt(uint32(s.next.Add(1)))
}

// closeTimeout bounds each close handshake at shutdown.
const closeTimeout = 2 * time.Second

// closeChannel closes ch, waiting at most closeTimeout for the broker; a
// close still pending then ends with the connection (its goroutine is
// counted in s.wg, which serve waits for after closing the connection).
func (s *session) closeChannel(ch *amqp.Channel) {
	done := make(chan struct{})
	s.wg.Add(1)
	go func() { // owner: the session
		defer s.wg.Done()
		defer close(done)
		_ = ch.Close()
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.b.log.Warn("channel close not confirmed by the broker in time; closing the connection")
	}
}
