package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
)

// checkBroker dials the first broker's TCP port, so that `callgw dev` can
// say how to start RabbitMQ instead of retrying forever.
func checkBroker(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("amqp-url %q: %w", rawURL, err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "5672"
		if u.Scheme == "amqps" {
			port = "5671"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf(`no RabbitMQ answers at %s (%v).
Start one, then run 'make dev' again:
  rabbitmq-server -detached && rabbitmqctl await_startup   (as root)
  (Debian/Ubuntu without it: apt-get install -y rabbitmq-server)
or point CALLGW_AMQP_URL at a running broker`, host, err)
	}
	return c.Close()
}

const devSimUser, devSimPassword = "callgw", "callgw"

func runDev(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.LoadDev(args, env, stderr)
	if err != nil {
		return err
	}
	if err := checkBroker(ctx, cfg.Gateway.AMQPURLs[0]); err != nil {
		return err
	}
	log := newLogger(cfg.Gateway.LogLevel, stderr)
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	eg, gctx := errgroup.WithContext(ctx)
	wcfg := cfg.Worker
	if wcfg.ARIURL == "" {
		sim := arisim.New(arisim.Config{User: devSimUser, Password: devSimPassword, AsteriskID: wcfg.NodeID, SystemName: wcfg.NodeID,
			InboundApp: wcfg.ARIApp, Log: log.Named("arisim")})
		defer sim.Close()
		ln, err := net.Listen("tcp", cfg.SimAddr)
		if err != nil && cfg.SimAddr == config.DefaultSimAddr && errors.Is(err, syscall.EADDRINUSE) {
			// Asterisk's port is taken (often by an Asterisk): the
			// simulator's address is internal to dev, any port will do.
			log.Warn("the simulator's default port is taken; listening on a free one", zap.String("taken", cfg.SimAddr), zap.Error(err))
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		// The simulated PBX stops last, after the worker drained.
		defer func() {
			sim.Close()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				log.Warn("simulator stopped", zap.Error(err))
			}
		}()
		wcfg.ARIURL = "http://" + ln.Addr().String() + "/ari"
		wcfg.ARIUser, wcfg.ARIPassword = devSimUser, devSimPassword
		log.Info("ARI simulator listening", zap.String("url", wcfg.ARIURL))
	}
	w, err := stack.NewWorker(&wcfg, log)
	if err != nil {
		return err
	}
	g, err := stack.NewGateway(&cfg.Gateway, log)
	if err != nil {
		return err
	}
	// One process, one ops endpoint: the worker's metrics (commands per
	// action, ARI latency, call outcomes) are served with the gateway's.
	if err := w.Register(g.Metrics()); err != nil {
		return err
	}
	eg.Go(func() error { return w.Run(gctx) })
	eg.Go(func() error { return g.Run(gctx) })
	dcfg := cfg.Gateway.Common
	dcfg.MetricsAddr = "" // the gateway's ops endpoint is the process's
	eg.Go(func() error { return stack.RunDelivery(gctx, &dcfg, cfg.Delivery, log) })
	eg.Go(func() error {
		base, err := g.WaitReady(gctx)
		if err != nil {
			return nil
		}
		fmt.Fprint(stdout, devBanner(base, wcfg.NodeID, strings.TrimSuffix(wcfg.ARIURL, "/ari")))
		return nil
	})
	return eg.Wait()
}

// callctlDefaultURL is the gateway callctl talks to without --url.
const callctlDefaultURL = "http://127.0.0.1:8080"

// callctlLines are the banner's callctl examples, with --url when the
// gateway is not on callctl's default URL, so that each works as copied.
func callctlLines(base, sim string) string {
	url := ""
	if strings.TrimRight(base, "/") != callctlDefaultURL {
		url = " --url " + base
	}
	lines := [][2]string{
		{"callctl originate Local/answer@callgw-test --wait answered" + url, "a call, answered"},
		{"callctl list" + url, "the calls, as a table"},
		{"callctl events" + url, "every event, one line each"},
		{"callctl inbound alice 100 --sim " + sim, "a phone calling in (direction inbound)"},
		{"callctl webhook create http://127.0.0.1:9000/hook --type call." + url, "signed POSTs of call events to your local server (docs/webhooks.md)"},
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "  %-*s   # %s\n", width, l[0], l[1])
	}
	return b.String()
}

func devBanner(base, node, sim string) string {
	return fmt.Sprintf(`
callgw dev is up: gateway %[1]s, worker node %[2]s, simulated PBX.
Try, in another terminal (make build; PATH=$PWD/bin:$PATH):

%[3]s
or with curl:

  # place a call that answers at once (holds the answer until it is answered)
  curl -s -X POST %[1]s/v1/calls -H 'Content-Type: application/json' \
       -d '{"to":"Local/answer@callgw-test","wait":"answered"}'
  # list the calls, then hang one up (use the "id" printed above)
  curl -s %[1]s/v1/calls
  curl -s -X DELETE %[1]s/v1/calls/ID -w '%%{http_code}\n'
  # a busy callee: the answer carries the outcome (cause 17)
  curl -s -X POST %[1]s/v1/calls -H 'Content-Type: application/json' \
       -d '{"to":"Local/busy@callgw-test","wait":"answered"}'
  # the nodes and their heartbeats
  curl -s %[1]s/v1/nodes

Or watch and steer the calls in a browser: %[1]s/console (any client id signs in).

Ctrl-C stops everything.
`, base, node, callctlLines(base, sim))
}

func runSimulator(ctx context.Context, args []string, env func(string) string, stdout io.Writer) error {
	return arisim.MainEnv(ctx, args, env, stdout)
}
