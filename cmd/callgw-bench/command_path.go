package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// commandPath measures the command path: every contender on the same
// calls, kept up for the whole scenario, at each --inflight level.
func (b *bench) commandPath(ctx context.Context) error {
	e := b.e
	b.log.Info("command path: placing calls", zap.Int("calls", b.o.Calls))
	ids, _, err := b.upCalls(ctx, b.o.Calls, 32)
	if err != nil {
		return err
	}
	b.ids = ids
	defer func() {
		// Long-lived calls would distort the later scenarios.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := b.downCalls(dctx, ids, 32); err != nil {
			b.fail("command path cleanup", err)
		}
	}()
	// The payloads of the bare loop: a call.get command and its reply,
	// the same sizes as those the gateway and the worker exchange.
	body, err := e.getCall(ctx, ids[0])
	if err != nil {
		return err
	}
	if err := e.setVariable(ctx, ids[0]); err != nil {
		return fmt.Errorf("PUT variable (this build of callgw must have the route): %w", err)
	}
	bare, err := b.newBareTwin(ctx, ids[0], body)
	if err != nil {
		return fmt.Errorf("bare rpc: %w", err)
	}
	defer bare.close()
	run, putOp := b.commandContenders(ids, bare)
	bc, err := e.startBusClient(ctx)
	if err != nil {
		return err
	}
	defer bc.stop()
	run["callgw_bus_put"] = local(func(ctx context.Context, _ int, seq int64) error {
		return bc.setVariable(ctx, ids[int(seq%int64(len(ids)))])
	})
	return b.measureContenders(ctx, run, putOp)
}

// newBareTwin starts the bare RPC loop with the payload sizes of a
// call.get of call id, whose answer was body, and records those sizes.
func (b *bench) newBareTwin(ctx context.Context, id string, body []byte) (*bareRPC, error) {
	var call json.RawMessage = body
	cmd, _ := json.Marshal(&callapi.Command{ID: uuid.NewString(), Action: callapi.ActCallGet, Tenant: tenant, CallID: callapi.CallID(id)})
	rep, _ := json.Marshal(callapi.OKReply(uuid.NewString(), node, call))
	b.res.CommandB, b.res.ReplyB = len(cmd), len(rep)
	prefetch := 64
	for _, n := range b.o.Inflight {
		prefetch = max(prefetch, n)
	}
	return newBareRPC(ctx, b.o.AMQPURL, "callgw-bench bare rpc "+b.e.prefix, cmd, rep, prefetch)
}

// commandContenders returns the window of each contender that runs, by
// tag, and callgw's PUT (the load the profile is taken under).
func (b *bench) commandContenders(ids []string, bare *bareRPC) (map[string]windowFunc, opFunc) {
	e := b.e
	// Every contender spreads its requests over the same calls.
	pick := func(seq int64) string { return ids[int(seq%int64(len(ids)))] }
	putOp := func(ctx context.Context, _ int, seq int64) error { return e.setVariable(ctx, pick(seq)) }
	run := map[string]windowFunc{
		"callgw_put": local(putOp),
		"callgw_get": local(func(ctx context.Context, _ int, seq int64) error {
			_, err := e.getCall(ctx, pick(seq))
			return err
		}),
		"bare_rpc":       local(func(ctx context.Context, _ int, _ int64) error { return bare.call(ctx) }),
		"direct_ari_put": local(func(ctx context.Context, _ int, seq int64) error { return e.ariSetVariable(ctx, pick(seq)) }),
		"direct_ari_get": local(func(ctx context.Context, _ int, seq int64) error { return e.ariGet(ctx, pick(seq)) }),
		"null_rest":      local(func(ctx context.Context, _ int, seq int64) error { return e.nullSetVariable(ctx, pick(seq)) }),
		"null_bus":       local(func(ctx context.Context, _ int, seq int64) error { return e.nullBus.call(ctx, pick(seq)) }),
	}
	b.res.AriProxySkipped = e.apxSkipped
	if e.apxSkipped == "" {
		run["ariproxy_nats"] = func(ctx context.Context, inflight int, d time.Duration) window {
			return e.apxWindow(ctx, ids, inflight, d)
		}
	}
	return run, putOp
}

// measureContenders measures a point of each contender in run at each
// --inflight level. Contenders alternate at each level, so that all see
// the same machine; a point is measured only while ctx lasts.
func (b *bench) measureContenders(ctx context.Context, run map[string]windowFunc, putOp opFunc) error {
	for _, n := range b.o.Inflight {
		for _, c := range b.res.contenders() {
			fn := run[c.tag]
			if fn == nil || !c.runsAt(n) {
				continue // skipped, and said so at the start; or not at this level
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cpuTag := ""
			if n == 64 {
				cpuTag = c.tag + "@64"
			}
			p := b.point(ctx, n, cpuTag, fn)
			if ctx.Err() != nil {
				return ctx.Err() // a window cut short is not a measurement
			}
			*c.points = append(*c.points, p)
			b.logPoint(c.label, p)
			if n == 64 && c.tag == "callgw_put" && b.o.ProfileDir != "" {
				if err := b.profile(ctx, putOp, "", 64); err != nil {
					b.fail("profile", err)
				}
			}
		}
	}
	return ctx.Err()
}

func (b *bench) logPoint(what string, p Point) {
	b.log.Info(what, zap.Int("inflight", p.Inflight), zap.Float64("rate", round(p.Rate.Median)),
		zap.Float64("p50_ms", round3(p.P50.Median)), zap.Float64("p99_ms", round3(p.P99.Median)), zap.Int64("errors", p.Errors))
}
