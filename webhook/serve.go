package webhook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
)

// Dial opens a broker connection; Serve and Deliver call it again after
// the connection is lost.
type Dial func(ctx context.Context) (*amqp.Connection, error)

// redialDelay is the pause before dialing again: 0.5 s doubling to 15 s,
// with jitter, so that many processes do not hammer a restarting broker
// together.
func redialDelay(n int) time.Duration {
	d := 500 * time.Millisecond << min(n, 5)
	d = min(d, 15*time.Second)
	return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Serve keeps a Manager open for a gateway until ctx ends: it dials, opens
// the store and the manager, hands the manager to set, and when the
// connection is lost hands nil to set and starts again. set must not block.
func Serve(ctx context.Context, dial Dial, n Names, p Policy, log *zap.Logger, set func(*Manager)) error {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("webhook")
	for fails := 0; ; fails++ {
		err := serveOnce(ctx, dial, n, p, log, set)
		set(nil)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("webhook store lost; reconnecting", zap.Error(err))
		if !sleepCtx(ctx, redialDelay(fails)) {
			return nil
		}
	}
}

func serveOnce(ctx context.Context, dial Dial, n Names, p Policy, log *zap.Logger, set func(*Manager)) error {
	conn, err := dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	// At the end the connection closes first: closing the channels one
	// by one waits for the broker's answer to each, which a busy broker
	// may take long to give for a stream consumer's channel.
	stop := context.AfterFunc(ctx, func() { closeConn(conn) })
	defer stop()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	st, err := OpenStore(ctx, conn, n, log)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := NewManager(ctx, conn, n, p, st)
	if err != nil {
		return err
	}
	defer m.Close()
	set(m)
	log.Info("webhook subscriptions served", zap.Int("subscriptions", len(st.List(""))))
	select {
	case <-ctx.Done():
		return nil
	case e := <-closed:
		return fmt.Errorf("connection closed: %v", e)
	}
}

// closeConn closes conn, waiting at most 2 s for the broker's answer.
func closeConn(conn *amqp.Connection) {
	_ = conn.CloseDeadline(time.Now().Add(2 * time.Second))
}

// Deliver runs a delivery process until ctx ends, dialing again (with
// backoff) whenever the connection is lost: what was not acknowledged is
// delivered again, by this process or by another one.
func Deliver(ctx context.Context, dial Dial, cfg Config) error {
	cfg = cfg.withDefaults()
	log := cfg.Log.Named("webhook")
	for fails := 0; ; fails++ {
		conn, err := dial(ctx)
		if err == nil {
			log.Info("delivery process connected")
			start := time.Now()
			stop := context.AfterFunc(ctx, func() { closeConn(conn) }) // as in serveOnce
			err = Run(ctx, conn, cfg)
			stop()
			closeConn(conn)
			if time.Since(start) > time.Minute {
				fails = 0
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("stopped")
		}
		log.Warn("delivery process lost the broker; reconnecting", zap.Error(err))
		if !sleepCtx(ctx, redialDelay(fails)) {
			return nil
		}
	}
}
