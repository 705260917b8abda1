package stack

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/restapi"
)

// busHistory is restapi's HistorySource over the bus's per-tenant history
// streams.
type busHistory struct{ bus *amqpbus.Bus }

func (h busHistory) Ensure(ctx context.Context, tenant string) error {
	return h.bus.EnsureHistory(ctx, tenant)
}

func (h busHistory) Read(ctx context.Context, tenant string, start restapi.HistoryStart, ready func(), fn func(int64, *callapi.Event) error) error {
	from := amqpbus.HistoryFrom{Position: amqpbus.PosNext}
	switch {
	case start.Offset >= 0:
		from = amqpbus.HistoryFrom{Position: amqpbus.PosOffset, Offset: start.Offset}
	case !start.Time.IsZero():
		from = amqpbus.HistoryFrom{Position: amqpbus.PosTime, Time: start.Time}
	}
	return h.bus.ReadHistory(ctx, tenant, from, ready, fn)
}

// historyIdle is how long a records load waits for one more event before
// it takes the history as read to its end.
const historyIdle = 300 * time.Millisecond

// recordsLoader loads a tenant's call records from its history stream:
// from since until the first event written after the load began (the
// gateway's own subscription has the later ones) or until the stream is
// idle for historyIdle.
func recordsLoader(bus *amqpbus.Bus, log *zap.Logger) gateway.RecordsLoader {
	return func(ctx context.Context, tenant string, since time.Time, observe func(*callapi.Event)) error {
		if err := bus.EnsureHistory(ctx, tenant); err != nil {
			return err
		}
		began := time.Now()
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		idle := time.AfterFunc(time.Hour, cancel) // counts from the attach (ready)
		defer idle.Stop()
		n := 0
		err := bus.ReadHistory(rctx, tenant, amqpbus.HistoryFrom{Position: amqpbus.PosTime, Time: since},
			func() { idle.Reset(historyIdle) },
			func(_ int64, e *callapi.Event) error {
				idle.Reset(historyIdle)
				n++
				if e.Tenant == tenant {
					observe(e)
				}
				if !e.Time.Before(began) {
					return amqpbus.ErrStopHistory
				}
				return nil
			})
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			log.Warn("call records not (all) loaded from the tenant's history", zap.String("tenant", tenant), zap.Int("events", n), zap.Error(err))
			return err
		}
		log.Info("call records loaded from the tenant's history", zap.String("tenant", tenant), zap.Int("events", n),
			zap.Duration("took", time.Since(began)))
		return nil
	}
}
