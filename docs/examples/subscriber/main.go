// Command subscriber is a customer's view of callgw's events: it binds its
// own queue to callapi.events.routed with the patterns given on its command
// line and prints every event it receives as one JSON line.
//
//	go run ./docs/examples/subscriber 'acme.#'               # one tenant
//	go run ./docs/examples/subscriber '*.pbx1.call.#'        # one node's calls
//	go run ./docs/examples/subscriber '#.call.hangup.#'      # every hangup
//	go run ./docs/examples/subscriber 'acme.tag.sales-42'    # one conversation
//	go run ./docs/examples/subscriber                        # everything (the fanout)
//
// It uses amqpbus, the same layer callgw's gateways use: the queue is
// server-named, exclusive and auto-deleted, and declared again after a
// reconnect. For a queue that keeps events while your program is down
// (durable, named, shared by competing consumers), use the SDK's
// client.ConsumeEvents (docs/sdk.md).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

// run subscribes and prints events until ctx ends; ready, when not nil, is
// closed once the queue is bound.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- struct{}) error {
	fs := flag.NewFlagSet("subscriber", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", envOr("CALLGW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "broker URL(s), comma-separated")
	prefix := fs.String("prefix", os.Getenv("CALLGW_AMQP_PREFIX"), "exchange name prefix, as the deployment's CALLGW_AMQP_PREFIX")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: subscriber [flags] [pattern ...]\n\nPatterns are topic patterns on <tenant>.<node>.<resource>.<event>.<id>\nor <tenant>.tag.<tag>; none means every event.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	bus, err := amqpbus.New(amqpbus.Config{URLs: strings.Split(*url, ","), Prefix: *prefix, ConnectionName: "callgw example subscriber"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	enc := json.NewEncoder(stdout)
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	sub, err := bus.SubscribeEvents(sctx, fs.Args(), func(e *callapi.Event) {
		e.ARI = nil // the raw ARI event is there too; left out for brevity
		_ = enc.Encode(e)
	})
	scancel()
	if err != nil {
		cancel()
		<-done
		return err
	}
	fmt.Fprintf(stderr, "subscriber: queue %s bound to %v\n", sub.Queue(), fs.Args())
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	_ = sub.Close()
	return <-done
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
