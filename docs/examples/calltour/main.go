// Command calltour is a tour of the Go SDK (package callapi): it places two
// calls, plays a greeting to the first, bridges them, and hangs up — while
// it reads the gateway's event stream (SSE) and a durable AMQP queue of its
// own, and shows what each saw.
//
//	make dev                                  # in one terminal
//	go run ./docs/examples/calltour           # in another
//
// Environment (all optional): CALLGW_URL (http://127.0.0.1:8080),
// CALLGW_TOKEN (a bearer token, when the gateway has auth on),
// CALLGW_TENANT (default), CALLGW_AMQP_URL, CALLGW_AMQP_PREFIX. It imports
// nothing of callgw but the SDK.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, configFromEnv(os.Getenv), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "calltour:", err)
		os.Exit(1)
	}
}

// config is what the tour needs to know about the deployment.
type config struct {
	URL, Token, Tenant  string
	AMQPURL, AMQPPrefix string
	Queue               string // the durable queue; deleted at the end
	To                  string // the endpoint both calls dial
	Media               string
	Wait                time.Duration // how long to wait for the last events
}

func configFromEnv(env func(string) string) config {
	or := func(k, d string) string {
		if v := env(k); v != "" {
			return v
		}
		return d
	}
	c := config{
		URL: or("CALLGW_URL", "http://127.0.0.1:8080"), Token: env("CALLGW_TOKEN"), Tenant: or("CALLGW_TENANT", "default"),
		AMQPURL: or("CALLGW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), AMQPPrefix: env("CALLGW_AMQP_PREFIX"),
		To: or("CALLTOUR_TO", "Local/answer@callgw-test"), Media: "sound:hello-world", Wait: 10 * time.Second,
	}
	c.Queue = c.AMQPPrefix + c.Tenant + ".calltour"
	return c
}

// seen collects the events of the tour's calls from one source.
type seen struct {
	mu     sync.Mutex
	types  map[string][]string // call id -> event types, in order
	change chan struct{}
}

func newSeen() *seen { return &seen{types: map[string][]string{}, change: make(chan struct{}, 1)} }

func (s *seen) add(e *callapi.Event) {
	if e.CallID == "" {
		return
	}
	s.mu.Lock()
	s.types[string(e.CallID)] = append(s.types[string(e.CallID)], string(e.Type))
	s.mu.Unlock()
	select {
	case s.change <- struct{}{}:
	default:
	}
}

// has reports whether every call saw every type.
func (s *seen) has(calls []string, types ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range calls {
		for _, t := range types {
			found := false
			for _, got := range s.types[c] {
				found = found || got == t
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func (s *seen) summary(calls []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "    call %c: %s\n", 'A'+i, strings.Join(s.types[c], " "))
	}
	return b.String()
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	var opts []client.Option
	if cfg.Token != "" {
		opts = append(opts, client.WithToken(cfg.Token))
	}
	c, err := client.New(cfg.URL, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// 1. The event stream: every call event of the tenant, over SSE,
	// resuming by itself after a reconnect.
	sse := newSeen()
	stream := c.Events(ctx, client.EventFilter{Types: []string{"call."}}, client.StreamOptions{
		OnReconnect: func(err error, n int) { fmt.Fprintf(out, "  (event stream reconnecting, attempt %d: %v)\n", n, err) },
	})
	defer stream.Close()
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, so run first)
	defer cancel()
	streamErr := make(chan error, 1)
	wg.Add(1)
	go func() { // owner: run; ends with ctx
		defer wg.Done()
		for e, err := range stream.All() {
			if err != nil {
				if ctx.Err() == nil {
					streamErr <- err
				}
				return
			}
			sse.add(e)
		}
	}()

	// 2. A durable queue of our own, bound to the tenant's call events.
	// Several copies of this program would share it (competing consumers).
	amqpSeen := newSeen()
	consuming := make(chan struct{}, 1)
	amqpErr := make(chan error, 1)
	wg.Add(1)
	go func() { // owner: run; ends with ctx
		defer wg.Done()
		err := client.ConsumeEvents(ctx, client.QueueConfig{
			URLs: []string{cfg.AMQPURL}, Prefix: cfg.AMQPPrefix, Queue: cfg.Queue, ConnectionName: "calltour",
			Patterns:    []string{client.Pattern(cfg.Tenant, "", "call", "", "")},
			OnConsuming: func() { consuming <- struct{}{} },
		}, func(_ context.Context, e *callapi.Event) error { amqpSeen.add(e); return nil })
		if err != nil {
			amqpErr <- err
		}
	}()
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		if err := client.DeleteQueue(dctx, cfg.AMQPURL, cfg.Queue); err != nil {
			fmt.Fprintf(out, "  (could not delete queue %s: %v)\n", cfg.Queue, err)
		}
	}()
	select {
	case <-consuming:
	case err := <-amqpErr:
		return fmt.Errorf("AMQP queue: %w", err)
	case <-time.After(10 * time.Second):
		return errors.New("AMQP queue: not consuming within 10s")
	}
	fmt.Fprintf(out, "reading events from %s/v1/events and AMQP queue %s\n", cfg.URL, cfg.Queue)

	// 3. Two calls, each answered before Originate returns.
	var calls []string
	for _, name := range []string{"A", "B"} {
		call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: cfg.To, Wait: callapi.WaitAnswered, Tags: []string{"calltour"}}})
		if err != nil {
			var pe *client.Error
			if errors.As(err, &pe) {
				return fmt.Errorf("originate %s: %s (code %s, request %s)", name, pe.Detail, pe.Code, pe.RequestID)
			}
			return fmt.Errorf("originate %s: %w", name, err)
		}
		calls = append(calls, string(call.ID))
		fmt.Fprintf(out, "call %s %s on %s: %s\n", name, call.ID, call.Node, call.State)
	}
	// 4. A greeting on A, then A and B in one bridge.
	pb, err := c.Play(ctx, calls[0], client.PlayRequest{Media: []string{cfg.Media}})
	if err != nil {
		return fmt.Errorf("play: %w", err)
	}
	fmt.Fprintf(out, "playing %s on A: playback %s\n", cfg.Media, pb.ID)
	br, err := c.CreateBridge(ctx, client.BridgeRequest{Calls: calls})
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	fmt.Fprintf(out, "bridge %s holds A and B\n", br.ID)
	// 5. Hang up both; the bridge goes with its last call, or we destroy it.
	for i, id := range calls {
		if err := c.Hangup(ctx, id, ""); err != nil {
			return fmt.Errorf("hang up %c: %w", 'A'+i, err)
		}
	}
	if err := c.DestroyBridge(ctx, string(br.ID)); err != nil && client.ErrorCode(err) != callapi.CodeNotFound {
		return fmt.Errorf("destroy bridge: %w", err)
	}
	fmt.Fprintln(out, "hung up A and B")

	// 6. Both sources must have seen each call from creation to hangup.
	want := []string{"call.created", "call.answered", "call.bridged", "call.hangup"}
	deadline := time.NewTimer(cfg.Wait)
	defer deadline.Stop()
	for !sse.has(calls, want...) || !amqpSeen.has(calls, want...) {
		select {
		case <-sse.change:
		case <-amqpSeen.change:
		case err := <-streamErr:
			return fmt.Errorf("event stream: %w", err)
		case err := <-amqpErr:
			return fmt.Errorf("AMQP queue: %w", err)
		case <-deadline.C:
			return fmt.Errorf("events missing after %s:\n  SSE:\n%s  AMQP:\n%s", cfg.Wait, sse.summary(calls), amqpSeen.summary(calls))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(out, "events over SSE:\n%s", sse.summary(calls))
	fmt.Fprintf(out, "events over AMQP:\n%s", amqpSeen.summary(calls))
	fmt.Fprintln(out, "tour complete")
	return nil
}
