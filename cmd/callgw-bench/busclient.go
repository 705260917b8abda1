package main

import (
	"context"
	"fmt"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/bus"
)

// busClient is the SDK's bus client (callapi/bus) in the harness's
// process: callgw's commands without the HTTP hop, as ari-proxy's
// client speaks NATS.
type busClient struct {
	c    *bus.Client
	stop func()
}

func (e *env) startBusClient(ctx context.Context) (*busClient, error) {
	c, err := bus.New(bus.Config{URLs: []string{e.o.AMQPURL}, Tenant: tenant, Prefix: e.prefix, ConnectionName: "callgw-bench bus " + e.prefix})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	stop := func() { cancel(); <-done }
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	if err := c.Ready(wctx); err != nil {
		stop()
		return nil, fmt.Errorf("bus client: %w", err)
	}
	return &busClient{c: c, stop: stop}, nil
}

func (b *busClient) setVariable(ctx context.Context, id string) error {
	return b.c.SetVariable(ctx, callapi.CallID(id), benchVar, benchValue)
}
