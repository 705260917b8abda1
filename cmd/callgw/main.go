// Command callgw runs callgw's processes: the REST gateway, a per-PBX worker,
// the all-in-one dev stack and the ARI simulator. It only wires packages
// together; every behaviour lives in gateway/, amqpbus/, asterisk/ and
// restapi/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/restapi"
	"github.com/callgw/callgw/worker"
)

const usage = `callgw — call-control gateway for Asterisk over RabbitMQ

Usage: callgw <command> [flags]

Commands:
  gateway     REST CallAPI: turns HTTP requests into AMQP commands
  worker      one per Asterisk: runs commands over ARI, publishes events
  webhooks    a webhook delivery process: signed POSTs of events to subscribed URLs
  dev         gateway + worker + webhooks + simulated PBX in one process (make dev)
  simulator   the ARI simulator on its own
  hash-secret print the secret_hash of an OAuth2 client secret (read from stdin)
  version     print the version: release tag, commit, build date

Run 'callgw <command> --help' for its flags and CALLGW_* variables.
`

// Set at build time by the Makefile (-ldflags "-X main.version=v1.2.3
// -X main.commit=… -X main.date=…"); a plain `go build` in a git checkout
// still knows its commit and date from the module's build info.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionLine is what `callgw version` prints:
// callgw v1.0.0 (commit 4f7c1a2, built 2026-12-03T08:00:00Z, go1.26.8).
func versionLine() string {
	c, d := commit, date
	modified := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" && len(s.Value) >= 7 {
					c = s.Value[:7]
				}
			case "vcs.time":
				if d == "" {
					d = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if c == "" {
		c = "unknown"
	} else if modified && commit == "" {
		c += "-dirty"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("callgw %s (commit %s, built %s, %s)", version, c, d, runtime.Version())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go hardStop(ctx, stop, hardStopAfter, os.Stderr, os.Exit)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "callgw:", err)
		os.Exit(1)
	}
}

// hardStopAfter bounds a graceful stop: a worker drains its commands for
// at most worker.DrainTimeout, then the bus and ARI close.
const hardStopAfter = worker.DrainTimeout + 15*time.Second

// hardStop makes sure that SIGINT and SIGTERM always end the process:
// after the first signal (ctx done) the signal handling is reset, so that
// a second one ends it at once, and a graceful stop that outlives after
// ends it through exit(1). It runs for the process's life.
func hardStop(ctx context.Context, reset func(), after time.Duration, stderr io.Writer, exit func(code int)) {
	<-ctx.Done()
	reset()
	time.Sleep(after)
	fmt.Fprintf(stderr, "callgw: not stopped %v after the signal: exiting\n", after)
	exit(1)
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "gateway":
		return runGateway(ctx, args[1:], env, stdout, stderr)
	case "worker":
		return runWorker(ctx, args[1:], env, stdout, stderr)
	case "webhooks":
		return runWebhooks(ctx, args[1:], env, stderr)
	case "dev":
		return runDev(ctx, args[1:], env, stdout, stderr)
	case "simulator":
		return runSimulator(ctx, args[1:], env, stdout)
	case "hash-secret":
		return runHashSecret(args[1:], os.Stdin, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newLogger builds the process logger: JSON to stderr at the given level.
func newLogger(level string, w io.Writer) *zap.Logger {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = zapcore.InfoLevel
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), lvl)
	return zap.New(core).With(zap.String("version", version))
}

func runGateway(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.LoadGateway(args, env, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
	g, err := stack.NewGateway(cfg, log)
	if err != nil {
		return err
	}
	return g.Run(ctx)
}

func runWorker(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.LoadWorker(args, env, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
	w, err := stack.NewWorker(cfg, log)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// runWebhooks is `callgw webhooks`: one delivery process; run several
// for availability, they share the subscriptions.
func runWebhooks(ctx context.Context, args []string, env func(string) string, stderr io.Writer) error {
	cfg, err := config.LoadDelivery(args, env, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
	return stack.RunDelivery(ctx, &cfg.Common, cfg.Webhook, log)
}

// runHashSecret is `callgw hash-secret`: --help explains it (without
// waiting for standard input); it takes no other argument.
func runHashSecret(args []string, r io.Reader, w io.Writer) error {
	fs := flag.NewFlagSet("hash-secret", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, `Usage: callgw hash-secret < secret.txt

Reads an OAuth2 client secret (at least 16 characters; one trailing newline is
ignored) from standard input and prints its secret_hash, the value to put in
the auth clients file (CALLGW_AUTH_CLIENTS_FILE):

  [{"id": "acme-app", "secret_hash": "<printed here>", "tenant": "acme",
    "scopes": ["calls:read", "calls:write", "events:read"]}]

The secret itself is never stored. It takes no flags and no environment
variables.
`)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("hash-secret: unexpected argument %q: the secret is read from standard input", fs.Arg(0))
	}
	return hashSecret(r, w)
}

// hashSecret reads a client secret from r and prints the secret_hash to put
// in the auth clients file.
func hashSecret(r io.Reader, w io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return err
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if len(secret) < 16 {
		return errors.New("hash-secret: give a secret of at least 16 characters on standard input")
	}
	h, err := restapi.HashSecret(secret)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, h)
	return err
}
