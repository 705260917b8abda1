package main

// The null pipeline: callgw's hops with none of its logic, the floor of
// its design at one message per request. A request crosses
//
//	HTTP → null front → AMQP topic exchange (mandatory, publisher
//	confirms) → null worker → HTTP POST channels/{id}/variable to the ARI
//	simulator → direct reply-to → null front → HTTP
//
// as a PUT crosses gateway and worker, and the null bus client (in the
// harness's process, as callgw's bus client is) starts at the exchange.
// Front and worker are processes of their own, the harness's binary run as
// `callgw-bench null-front|null-worker`, so that the CPU split shows them
// as it shows gateway and worker. Plain amqp091-go and net/http: no JSON,
// no batches, no deadlines, no idempotency, no lanes.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// nullKey is the routing key of every null command.
	nullKey = "null.variable.set"
	// directReplyTo is RabbitMQ's direct reply-to pseudo-queue.
	directReplyTo = "amq.rabbitmq.reply-to"
	// nullPasswordEnv and nullAMQPEnv carry the ARI password and the
	// broker URL (with its password) to the null processes.
	nullPasswordEnv = "NULL_ARI_PASSWORD"
	nullAMQPEnv     = "NULL_AMQP_URL"
	// nullTimeout bounds one request inside the null processes.
	nullTimeout = 10 * time.Second
)

// errNoRoute is a null command the broker returned: no null worker's
// queue is bound (yet).
var errNoRoute = errors.New("null command returned unroutable: no null worker bound")

// nullReplyError is the error a null worker answered with.
type nullReplyError string

func (e nullReplyError) Error() string { return "null worker: " + string(e) }

// isNullCommand tells whether args name a null pipeline process.
func isNullCommand(args []string) bool {
	return len(args) > 0 && (args[0] == "null-front" || args[0] == "null-worker")
}

// runNull runs `null-front` or `null-worker` until ctx ends.
func runNull(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("callgw-bench "+args[0], flag.ContinueOnError)
	exchange := fs.String("exchange", "", "the run's topic exchange (declared by the harness)")
	name := fs.String("name", "callgw-bench null", "connection name")
	listen := fs.String("listen", "127.0.0.1:0", "null-front: HTTP listen address")
	ariURL := fs.String("ari-url", "", "null-worker: ARI base URL (…/ari); the password is in "+nullPasswordEnv)
	ariUser := fs.String("ari-user", "", "null-worker: ARI user")
	prefetch := fs.Int("prefetch", 256, "null-worker: unacknowledged commands at most")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	amqpURL := os.Getenv(nullAMQPEnv)
	if *exchange == "" || amqpURL == "" {
		return errors.New("--exchange and " + nullAMQPEnv + " are required")
	}
	if args[0] == "null-front" {
		return runNullFront(ctx, amqpURL, *name, *exchange, *listen)
	}
	return runNullWorker(ctx, amqpURL, *name, *exchange, *ariURL, *ariUser, os.Getenv(nullPasswordEnv), *prefetch)
}

// nullClient publishes null commands with publisher confirms and matches
// the direct reply-to answers, on one channel, as a requester does.
type nullClient struct {
	conn     *amqp.Connection
	ch       *amqp.Channel
	exchange string
	seq      atomic.Uint64
	mu       sync.Mutex
	wait     map[string]chan error
	wg       sync.WaitGroup
}

func newNullClient(ctx context.Context, amqpURL, name, exchange string) (*nullClient, error) {
	conn, err := dialAMQP(amqpURL, name)
	if err != nil {
		return nil, err
	}
	c := &nullClient{conn: conn, exchange: exchange, wait: map[string]chan error{}}
	var (
		replies <-chan amqp.Delivery
		returns <-chan amqp.Return
	)
	err = bounded(ctx, conn, name, func() error {
		var err error
		if c.ch, err = conn.Channel(); err != nil {
			return err
		}
		if err = c.ch.Confirm(false); err != nil {
			return err
		}
		returns = c.ch.NotifyReturn(make(chan amqp.Return, 16))
		replies, err = c.ch.Consume(directReplyTo, "", true, false, false, false, nil)
		return err
	})
	if err != nil {
		closeAMQP(conn)
		return nil, err
	}
	// Both channels close with the AMQP channel, which ends both loops.
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for d := range replies {
			var err error
			if d.Type == "error" {
				err = nullReplyError(d.Body)
			}
			c.settle(d.CorrelationId, err)
		}
	}()
	go func() {
		defer c.wg.Done()
		for r := range returns {
			c.settle(r.CorrelationId, errNoRoute)
		}
	}()
	return c, nil
}

// settle hands the outcome of the command corr to its waiter, if it
// still waits.
func (c *nullClient) settle(corr string, err error) {
	c.mu.Lock()
	w := c.wait[corr]
	delete(c.wait, corr)
	c.mu.Unlock()
	if w != nil {
		w <- err // buffered, and only one settle finds it
	}
}

// call sets the variable on call id through the null worker: publish
// (mandatory, confirmed), then wait for the reply.
func (c *nullClient) call(ctx context.Context, id string) error {
	corr := strconv.FormatUint(c.seq.Add(1), 36)
	done := make(chan error, 1)
	c.mu.Lock()
	c.wait[corr] = done
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.wait, corr)
		c.mu.Unlock()
	}()
	dc, err := c.ch.PublishWithDeferredConfirmWithContext(ctx, c.exchange, nullKey, true, false, amqp.Publishing{
		ContentType: "text/plain", CorrelationId: corr, ReplyTo: directReplyTo, Body: []byte(id),
	})
	if err != nil {
		return fmt.Errorf("null publish: %w", err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("null publish confirm: %w", err)
	}
	if !acked {
		return errors.New("null publish: nacked by the broker")
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the null worker's reply: %w", ctx.Err())
	}
}

// close closes the connection and waits for both loops.
func (c *nullClient) close() {
	closeAMQP(c.conn)
	c.wg.Wait()
}

// waitNullWorker calls until a null worker answers (a reply, even an
// error, proves the route; "probe" is no channel of the simulator).
func (c *nullClient) waitNullWorker(ctx context.Context) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.call(actx, "probe")
		cancel()
		var re nullReplyError
		if err == nil || errors.As(err, &re) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no null worker answered (last: %v): %w", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runNullFront serves PUT /v1/calls/{id}/variables/{name} by one null
// command each, until ctx ends.
func runNullFront(ctx context.Context, amqpURL, name, exchange, listen string) error {
	c, err := newNullClient(ctx, amqpURL, name, exchange)
	if err != nil {
		return err
	}
	defer c.close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("PUT /v1/calls/{id}/variables/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ctx, cancel := context.WithTimeout(r.Context(), nullTimeout)
		defer cancel()
		if err := c.call(ctx, r.PathValue("id")); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-served
	return err
}

// runNullWorker consumes null commands from an exclusive queue bound to
// exchange and answers each after one ARI request, until ctx ends.
func runNullWorker(ctx context.Context, amqpURL, name, exchange, ariURL, ariUser, ariPass string, prefetch int) error {
	if ariURL == "" {
		return errors.New("--ari-url is required")
	}
	conn, err := dialAMQP(amqpURL, name)
	if err != nil {
		return err
	}
	defer closeAMQP(conn)
	var (
		ch *amqp.Channel
		ds <-chan amqp.Delivery
	)
	err = bounded(ctx, conn, name, func() error {
		var err error
		if ch, err = conn.Channel(); err != nil {
			return err
		}
		if err = ch.Qos(prefetch, 0, false); err != nil {
			return err
		}
		// Exclusive: it goes with the connection.
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return err
		}
		if err = ch.QueueBind(q.Name, nullKey, exchange, false, nil); err != nil {
			return err
		}
		ds, err = ch.Consume(q.Name, "", false, true, false, false, nil)
		return err
	})
	if err != nil {
		return err
	}
	ari := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: prefetch, DisableCompression: true}, Timeout: nullTimeout}
	defer ari.CloseIdleConnections()
	query := "/variable?" + ariSetVariableQuery
	set := func(ctx context.Context, id string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ariURL+"/channels/"+url.PathEscape(id)+query, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(ariUser, ariPass)
		resp, err := ari.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("ARI set variable on %s: %s", id, resp.Status)
		}
		return nil
	}
	stop := context.AfterFunc(ctx, func() { closeAMQP(conn) }) // ends ds
	defer stop()
	var wg sync.WaitGroup
	for d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, nullTimeout)
			defer cancel()
			msg := amqp.Publishing{ContentType: "text/plain", CorrelationId: d.CorrelationId}
			if err := set(rctx, string(d.Body)); err != nil {
				msg.Type, msg.Body = "error", []byte(err.Error())
			}
			// Not confirmed, not mandatory: a direct reply cannot be
			// stored, and a requester gone is no error here.
			_ = ch.PublishWithContext(rctx, "", d.ReplyTo, false, false, msg)
			_ = d.Ack(false)
		}()
	}
	wg.Wait()
	if ctx.Err() == nil {
		return errors.New("the broker closed the connection")
	}
	return nil
}

// startNull declares the run's null exchange and starts the null worker
// and the null front (the harness's own binary, self), and the null bus
// client in this process; it returns once a null command went through.
func (e *env) startNull(ctx context.Context, self []string) error {
	o := e.o
	e.nullExchange = e.prefix + "null"
	conn, err := dialAMQP(o.AMQPURL, "callgw-bench null topology "+e.prefix)
	if err != nil {
		return err
	}
	err = bounded(ctx, conn, "null exchange", func() error {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		return ch.ExchangeDeclare(e.nullExchange, amqp.ExchangeTopic, false, false, false, false, nil)
	})
	closeAMQP(conn)
	if err != nil {
		return err
	}
	prefetch := 64
	for _, n := range o.Inflight {
		prefetch = max(prefetch, n)
	}
	env := nullAMQPEnv + "=" + o.AMQPURL
	argv := func(cmd string, args ...string) []string {
		return append(append(append([]string(nil), self...), cmd, "-exchange", e.nullExchange, "-name", "callgw-bench "+cmd+" "+e.prefix), args...)
	}
	if e.nullWorker, err = e.sup.startArgv("null-worker", argv("null-worker", "-ari-url", e.simURL, "-ari-user", e.ariUser,
		"-prefetch", strconv.Itoa(prefetch)), env, nullPasswordEnv+"="+e.ariPass); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	e.nullURL = "http://127.0.0.1:" + strconv.Itoa(port)
	if e.nullFront, err = e.sup.startArgv("null-front", argv("null-front", "-listen", strings.TrimPrefix(e.nullURL, "http://")), env); err != nil {
		return err
	}
	if err := waitHTTP(ctx, e.http, e.nullFront, e.nullURL+"/readyz", "", ""); err != nil {
		return err
	}
	if e.nullBus, err = newNullClient(ctx, o.AMQPURL, "callgw-bench null bus "+e.prefix, e.nullExchange); err != nil {
		return err
	}
	return e.nullBus.waitNullWorker(ctx)
}

// nullSetVariable is the null REST contender's request: the PUT of
// callgw's REST contender, to the null front.
func (e *env) nullSetVariable(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodPut, e.nullURL+"/v1/calls/"+url.PathEscape(id)+"/variables/"+benchVar, setVariableBody, http.StatusNoContent, "", "")
	return err
}
