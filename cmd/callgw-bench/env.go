package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
)

// node is the worker's node id; tenant the tenant of every call (token
// auth is off, so every request acts for the default tenant).
const (
	node   = "bench1"
	tenant = callapi.DefaultTenant
	ariApp = "callgw"
	// apxApp is the ARI application of the ari-proxy contender's server:
	// not callgw's, whose WebSocket it would replace.
	apxApp = "ariproxy"
)

// env is one running system: the three processes and the harness's own
// broker connection and HTTP client.
type env struct {
	o      options
	log    *zap.Logger
	sup    *supervisor
	http   *http.Client
	prefix string

	simURL, ariUser, ariPass string // http://127.0.0.1:p/ari
	gwURL, gwOps, workerOps  string // http://127.0.0.1:p
	sim, worker, gw          *proc
	beam                     int

	// The ari-proxy contender: its server and client processes, the
	// client's control endpoint and the NATS server's pid; or why it is
	// skipped.
	apxServer, apxClient *proc
	apxURL               string
	nats                 int
	apxSkipped           string

	// The null pipeline (nullpipe.go): its exchange, its processes, the
	// front's URL and the null bus client in this process.
	nullExchange          string
	nullFront, nullWorker *proc
	nullURL               string
	nullBus               *nullClient

	rabbitVersion string
}

// newHTTPClient returns a client with a pool large enough for every
// request in flight, that dials nothing but loopback addresses.
func newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("callgw-bench: refusing to dial %s: loopback only", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// childEnv is the environment given to every child: the harness's own
// without any CALLGW_* variable (a user's CALLGW_AUTH_CLIENTS_FILE would
// otherwise turn auth on), plus the run's settings.
func childEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALLGW_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// startEnv starts simulator, worker and gateway and waits until the
// gateway sees the node up, then the peer and the null pipeline (self is
// the command line of the harness's own binary). On error, whatever was
// started is stopped.
func startEnv(ctx context.Context, o options, argv0, self []string, log *zap.Logger, onExit func(error)) (_ *env, err error) {
	e := &env{o: o, log: log, http: newHTTPClient(), prefix: "bench" + randHex(4) + ".", ariUser: "bench", ariPass: randHex(8)}
	logDir := o.LogDir
	if logDir == "" {
		if logDir, err = os.MkdirTemp("", "callgw-bench-logs-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	e.sup = &supervisor{argv0: argv0, logDir: logDir, onExit: onExit}
	defer func() {
		if err != nil {
			e.close(false)
		}
	}()
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return e, err
		}
	}
	base := func(p int) string { return "http://127.0.0.1:" + strconv.Itoa(p) }
	e.simURL, e.gwURL, e.gwOps, e.workerOps = base(ports[0])+"/ari", base(ports[1]), base(ports[2]), base(ports[3])
	log.Info("starting", zap.String("prefix", e.prefix), zap.String("logs", logDir))

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e.sup.env = childEnv()
	if e.sim, err = e.sup.start("simulator", []string{"simulator", "-listen", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"-ari-user", e.ariUser, "-ari-password", e.ariPass, "-asterisk-id", node, "-node-id", node, "-log-level", "warn",
		// Playbacks end after 1 ms: the events scenario drives them as fast as the event path carries.
		"-playback-duration", "1ms"}); err != nil {
		return e, err
	}
	if err = waitHTTP(wctx, e.http, e.sim, e.simURL+"/asterisk/info", e.ariUser, e.ariPass); err != nil {
		return e, err
	}
	common := []string{"CALLGW_AMQP_URL=" + o.AMQPURL, "CALLGW_AMQP_PREFIX=" + e.prefix, "CALLGW_LOG_LEVEL=" + o.LogLevel}
	// --state-dir= : the idempotency journal in memory (the bench sends no keys).
	if e.worker, err = e.sup.start("worker", []string{"worker", "--state-dir="}, append(common,
		"CALLGW_NODE_ID="+node, "CALLGW_ARI_URL="+e.simURL, "CALLGW_ARI_USER="+e.ariUser, "CALLGW_ARI_PASSWORD="+e.ariPass,
		"CALLGW_ARI_APP="+ariApp, "CALLGW_METRICS_ADDR="+strings.TrimPrefix(e.workerOps, "http://"))...); err != nil {
		return e, err
	}
	if err = waitHTTP(wctx, e.http, e.worker, e.workerOps+"/readyz", "", ""); err != nil {
		return e, err
	}
	if e.gw, err = e.sup.start("gateway", []string{"gateway"}, append(common,
		"CALLGW_HTTP_ADDR="+strings.TrimPrefix(e.gwURL, "http://"), "CALLGW_METRICS_ADDR="+strings.TrimPrefix(e.gwOps, "http://"))...); err != nil {
		return e, err
	}
	if err = waitHTTP(wctx, e.http, e.gw, e.gwURL+"/readyz", "", ""); err != nil {
		return e, err
	}
	if err = waitHTTP(wctx, e.http, e.gw, e.gwOps+"/healthz", "", ""); err != nil {
		return e, err
	}
	conn, err := dialAMQP(o.AMQPURL, "callgw-bench "+e.prefix)
	if err != nil {
		return e, fmt.Errorf("amqp: %w", err)
	}
	e.rabbitVersion, _ = conn.Properties["version"].(string)
	closeAMQP(conn)
	e.beam = findBeam()
	if e.beam == 0 {
		log.Warn("no beam.smp process found: RabbitMQ's CPU is not measured")
	}
	if err = e.startAriProxy(wctx); err != nil {
		return e, fmt.Errorf("ari-proxy contender: %w (pass --ariproxy '' to run without it)", err)
	}
	if err = e.startNull(wctx, self); err != nil {
		return e, fmt.Errorf("null pipeline: %w", err)
	}
	log.Info("system up", zap.String("gateway", e.gwURL), zap.String("simulator", e.simURL),
		zap.Int("gateway_pid", e.gw.pid()), zap.Int("worker_pid", e.worker.pid()), zap.Int("simulator_pid", e.sim.pid()), zap.Int("beam_pid", e.beam))
	return e, nil
}

// startAriProxy starts the ari-proxy contender (server, then client)
// when its binary is there and NATS answers; otherwise it records why the
// contender is skipped, and says so.
func (e *env) startAriProxy(ctx context.Context) error {
	o := e.o
	if o.AriProxy == "" {
		e.apxSkipped = "--ariproxy is empty"
	} else if _, err := os.Stat(o.AriProxy); err != nil {
		e.apxSkipped = fmt.Sprintf("no binary %s (make bench builds it: cd cmd/callgw-bench/ariproxy && go build -o ../../../bin/ariproxy-bench .)", o.AriProxy)
	} else if err := checkNATS(ctx, o.NATSURL); err != nil {
		e.apxSkipped = err.Error()
	}
	if e.apxSkipped != "" {
		e.log.Warn("ari-proxy over NATS contender SKIPPED", zap.String("reason", e.apxSkipped))
		return nil
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	prefix := e.prefix + "ari." // ari-proxy's subjects, run-unique on a shared NATS
	if e.apxServer, err = e.sup.startArgv("ariproxy-server", []string{o.AriProxy, "server", "-nats", o.NATSURL, "-prefix", prefix,
		"-ari-url", e.simURL, "-ari-user", e.ariUser, "-app", apxApp}, "ARI_PASSWORD="+e.ariPass); err != nil {
		return err
	}
	e.apxURL = "http://127.0.0.1:" + strconv.Itoa(port)
	if e.apxClient, err = e.sup.startArgv("ariproxy-client", []string{o.AriProxy, "client", "-nats", o.NATSURL, "-prefix", prefix,
		"-app", apxApp, "-node", node, "-listen", strings.TrimPrefix(e.apxURL, "http://")}); err != nil {
		return err
	}
	// Ready once the client has seen the server's announcement on NATS.
	if err := waitHTTP(ctx, e.http, e.apxClient, e.apxURL+"/readyz", "", ""); err != nil {
		return err
	}
	e.nats = findNATS()
	if e.nats == 0 {
		e.log.Warn("no nats-server process found: NATS's CPU is not measured")
	}
	e.log.Info("ari-proxy over NATS up", zap.String("nats", o.NATSURL), zap.String("prefix", prefix),
		zap.Int("server_pid", e.apxServer.pid()), zap.Int("client_pid", e.apxClient.pid()), zap.Int("nats_pid", e.nats))
	return nil
}

// pids are the processes of the CPU split.
func (e *env) pids() map[string]int {
	if e.beam == 0 {
		e.beam = findBeam()
	}
	m := map[string]int{"gateway": e.gw.pid(), "worker": e.worker.pid(), "simulator": e.sim.pid(), "rabbitmq": e.beam, "loadgen": os.Getpid()}
	if e.apxServer != nil {
		m["ari-proxy"], m["ari-proxy client"], m["nats"] = e.apxServer.pid(), e.apxClient.pid(), e.nats
	}
	if e.nullFront != nil {
		m["null front"], m["null worker"] = e.nullFront.pid(), e.nullWorker.pid()
	}
	return m
}

// close stops the children (gateway first, simulator last), deletes what
// the run declared on the broker and, after a good run, the logs.
func (e *env) close(ok bool) error {
	var errs []error
	if e.http != nil {
		e.http.CloseIdleConnections()
	}
	if e.nullBus != nil {
		e.nullBus.close()
	}
	if e.sup != nil {
		if err := e.sup.stopAll(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.deleteTopology(); err != nil {
		errs = append(errs, err)
	}
	if e.sup != nil {
		if ok && len(errs) == 0 && e.o.LogDir == "" {
			_ = os.RemoveAll(e.sup.logDir)
		} else {
			e.log.Info("children's logs kept", zap.String("dir", e.sup.logDir))
		}
	}
	return errors.Join(errs...)
}

// deleteTopology deletes the run's exchanges and durable queues (the
// node queue is exclusive and went with the worker's connection). Each
// deletion gets its own channel, and a new connection when a failed one
// took the connection down (a quorum queue the broker cannot delete
// answers with a connection error).
func (e *env) deleteTopology() error {
	var (
		conn *amqp.Connection
		errs []error
	)
	defer func() { closeAMQP(conn) }()
	del := func(what string, f func(ch *amqp.Channel) error) {
		if conn == nil || conn.IsClosed() {
			closeAMQP(conn)
			c, err := dialAMQP(e.o.AMQPURL, "callgw-bench cleanup "+e.prefix)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
				conn = nil
				return
			}
			conn = c
		}
		c := conn
		err := bounded(context.Background(), c, what, func() error {
			ch, err := c.Channel()
			if err != nil {
				return err
			}
			if err := f(ch); err != nil {
				return err
			}
			return ch.Close()
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, x := range []string{callapi.ExchangeEventsRouted, callapi.ExchangeEvents, callapi.ExchangeCommands, callapi.ExchangeNodes, callapi.ExchangeDead} {
		del("exchange "+e.prefix+x, func(ch *amqp.Channel) error { return ch.ExchangeDelete(e.prefix+x, false, false) })
	}
	if x := e.nullExchange; x != "" { // the null worker's queue is exclusive and went with its connection
		del("exchange "+x, func(ch *amqp.Channel) error { return ch.ExchangeDelete(x, false, false) })
	}
	// With the default tenant's history stream its gateways declared.
	for _, q := range []string{callapi.ExchangeDead, callapi.QueueAny, amqpbus.HistoryQueuePrefix + callapi.DefaultTenant} {
		del("queue "+e.prefix+q, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(e.prefix+q, false, false, false); return err })
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleting the run's exchanges and queues (prefix %s): %w", e.prefix, err)
	}
	return nil
}
