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

// tour is one run of the tour: the client, and what its two event
// sources have seen.
type tour struct {
	c         *client.Client
	cfg       config
	out       io.Writer
	sse       *seen // events of the SSE stream
	amqp      *seen // events of the AMQP queue
	streamErr chan error
	amqpErr   chan error
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
	t := &tour{c: c, cfg: cfg, out: out, sse: newSeen(), amqp: newSeen(),
		streamErr: make(chan error, 1), amqpErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the readers end with ctx, cancelled first
	defer cancel()

	if err := t.watchStream(ctx, &wg); err != nil {
		return err
	}
	defer t.deleteQueue()
	if err := t.consumeQueue(ctx, &wg); err != nil {
		return err
	}
	fmt.Fprintf(out, "reading events from %s/v1/events and AMQP queue %s\n", cfg.URL, cfg.Queue)
	calls, err := t.placeCalls(ctx)
	if err != nil {
		return err
	}
	if err := t.bridgeAndEnd(ctx, calls); err != nil {
		return err
	}
	return t.awaitEvents(ctx, calls)
}

// watchStream is step 1, the event stream: every call event of the
// tenant, over SSE, resuming by itself after a reconnect. Events returns
// once the gateway subscribed the stream, so the calls placed next cannot
// lose their first events.
func (t *tour) watchStream(ctx context.Context, wg *sync.WaitGroup) error {
	stream, err := t.c.Events(ctx, client.EventFilter{Types: []callapi.EventType{"call."}}, client.StreamOptions{
		OnReconnect: func(err error, n int) { fmt.Fprintf(t.out, "  (event stream reconnecting, attempt %d: %v)\n", n, err) },
	})
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	wg.Add(1)
	go func() { // owner: run; ends with ctx
		defer wg.Done()
		defer stream.Close()
		for e, err := range stream.All() {
			if err != nil {
				if ctx.Err() == nil {
					t.streamErr <- err
				}
				return
			}
			t.sse.add(e)
		}
	}()
	return nil
}

// consumeQueue is step 2, a durable queue of our own, bound to the
// tenant's call events: several copies of this program would share it
// (competing consumers). It returns once the queue is consumed.
func (t *tour) consumeQueue(ctx context.Context, wg *sync.WaitGroup) error {
	consuming := make(chan struct{}, 1)
	wg.Add(1)
	go func() { // owner: run; ends with ctx
		defer wg.Done()
		err := client.ConsumeEvents(ctx, client.QueueConfig{
			URLs: []string{t.cfg.AMQPURL}, Prefix: t.cfg.AMQPPrefix, Queue: t.cfg.Queue, ConnectionName: "calltour",
			Patterns:    []string{callapi.Pattern(t.cfg.Tenant, "", "call", "", "")},
			OnConsuming: func() { consuming <- struct{}{} },
		}, func(_ context.Context, e *callapi.Event) error { t.amqp.add(e); return nil })
		if err != nil {
			t.amqpErr <- err
		}
	}()
	select {
	case <-consuming:
		return nil
	case err := <-t.amqpErr:
		return fmt.Errorf("AMQP queue: %w", err)
	case <-time.After(10 * time.Second):
		return errors.New("AMQP queue: not consuming within 10s")
	}
}

func (t *tour) deleteQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.DeleteQueue(ctx, t.cfg.AMQPURL, t.cfg.Queue); err != nil {
		fmt.Fprintf(t.out, "  (could not delete queue %s: %v)\n", t.cfg.Queue, err)
	}
}

// placeCalls is step 3: two calls, each answered before Originate
// returns (a call that is not answered is a *client.NotAnsweredError).
func (t *tour) placeCalls(ctx context.Context) ([]*client.CallHandle, error) {
	var calls []*client.CallHandle
	for _, name := range []string{"A", "B"} {
		call, err := t.c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: t.cfg.To, Wait: callapi.WaitAnswered, Tags: []string{"calltour"}}})
		if err != nil {
			var pe *client.Error
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("originate %s: %s (code %s, request %s)", name, pe.Detail, pe.Code, pe.RequestID)
			}
			return nil, fmt.Errorf("originate %s: %w", name, err)
		}
		calls = append(calls, t.c.Call(call.ID))
		fmt.Fprintf(t.out, "call %s %s on %s: %s\n", name, call.ID, call.Node, call.State)
	}
	return calls, nil
}

// bridgeAndEnd is steps 4 and 5: a greeting on A, then A and B in one
// bridge; then both hung up, and the bridge goes with its last call, or
// we destroy it.
func (t *tour) bridgeAndEnd(ctx context.Context, calls []*client.CallHandle) error {
	pb, err := calls[0].PlayAndWait(ctx, client.PlayRequest{Media: []string{t.cfg.Media}})
	if err != nil {
		return fmt.Errorf("play: %w", err)
	}
	fmt.Fprintf(t.out, "played %s on A: playback %s %s\n", t.cfg.Media, pb.ID, pb.State)
	req := callapi.BridgeCreateRequest{}
	for _, call := range calls {
		req.Calls = append(req.Calls, call.ID())
	}
	br, err := t.c.CreateBridge(ctx, req)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	fmt.Fprintf(t.out, "bridge %s holds A and B\n", br.ID)
	for i, call := range calls {
		if err := call.Hangup(ctx, ""); err != nil {
			return fmt.Errorf("hang up %c: %w", 'A'+i, err)
		}
	}
	if err := t.c.DestroyBridge(ctx, br.ID); err != nil && client.ErrorCode(err) != callapi.CodeNotFound {
		return fmt.Errorf("destroy bridge: %w", err)
	}
	fmt.Fprintln(t.out, "hung up A and B")
	return nil
}

// awaitEvents is step 6: both sources must have seen each call from
// creation to hangup.
func (t *tour) awaitEvents(ctx context.Context, handles []*client.CallHandle) error {
	var calls []string
	for _, h := range handles {
		calls = append(calls, string(h.ID()))
	}
	want := []string{"call.created", "call.answered", "call.bridged", "call.hangup"}
	deadline := time.NewTimer(t.cfg.Wait)
	defer deadline.Stop()
	for !t.sse.has(calls, want...) || !t.amqp.has(calls, want...) {
		select {
		case <-t.sse.change:
		case <-t.amqp.change:
		case err := <-t.streamErr:
			return fmt.Errorf("event stream: %w", err)
		case err := <-t.amqpErr:
			return fmt.Errorf("AMQP queue: %w", err)
		case <-deadline.C:
			return fmt.Errorf("events missing after %s:\n  SSE:\n%s  AMQP:\n%s", t.cfg.Wait, t.sse.summary(calls), t.amqp.summary(calls))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(t.out, "events over SSE:\n%s", t.sse.summary(calls))
	fmt.Fprintf(t.out, "events over AMQP:\n%s", t.amqp.summary(calls))
	fmt.Fprintln(t.out, "tour complete")
	return nil
}
