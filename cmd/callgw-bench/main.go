// Command callgw-bench measures callgw against its own ceilings and its
// peer, side by side in one run (issues 7 and 10): it starts the ARI
// simulator, a worker and a gateway as separate processes (bin/callgw) on
// the local RabbitMQ under a run-unique name prefix, and, when NATS runs,
// ari-proxy's server and client (bin/ariproxy-bench, built from the
// bench-only module cmd/callgw-bench/ariproxy), and the null pipeline
// (nullpipe.go, this binary run as null-front and null-worker); it drives
// them, measures the same work through a bare amqp091-go loop and
// straight against the simulator, and
// writes one JSON results file plus a table that ends with a one-line
// summary of the targets. It stops everything it started, also on error
// and Ctrl-C, and deletes what it declared on the broker.
//
//	make bench-quick   # about a minute and a half
//	make bench         # the full run, with the soak and CPU profiles
//
// All traffic stays on 127.0.0.1.
//
// Layout: bench.go runs the scenarios in order, each in its own file
// (command_path.go, event_path.go, memory.go; profile.go takes the
// profiles); clients.go is callgw's and the simulator's load generators,
// bare.go the bare amqp091-go twins; report.go judges and prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once; the children die with us (Pdeathsig)
	}()
	if isNullCommand(os.Args[1:]) { // a process of the null pipeline (nullpipe.go), started by the harness
		if err := runNull(ctx, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "callgw-bench "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "callgw-bench:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	Quick          bool          `json:"quick"`
	Out            string        `json:"-"`
	Callgw         string        `json:"-"`
	AMQPURL        string        `json:"-"`
	AriProxy       string        `json:"-"`
	NATSURL        string        `json:"-"`
	Inflight       []int         `json:"inflight"`
	Reps           int           `json:"reps"`
	Warmup         time.Duration `json:"warmup_ns"`
	Duration       time.Duration `json:"duration_ns"`
	Calls          int           `json:"command_calls"`
	ChurnInflight  int           `json:"churn_inflight"`
	EventInflight  int           `json:"event_inflight"`
	ScaleCalls     int           `json:"scale_calls"`
	SoakCalls      int           `json:"soak_calls"`
	ProfileDir     string        `json:"-"`
	ProfileSeconds int           `json:"profile_seconds"`
	LogDir         string        `json:"-"`
	LogLevel       string        `json:"log_level"`
	Timeout        time.Duration `json:"-"`
}

// presets are the defaults of the full and the quick run; a flag given on
// the command line wins over both.
var presets = map[bool]options{
	false: {Reps: 5, Warmup: time.Second, Duration: 2 * time.Second, ScaleCalls: 10000, SoakCalls: 100000, Timeout: 20 * time.Minute},
	true:  {Reps: 3, Warmup: 250 * time.Millisecond, Duration: 600 * time.Millisecond, ScaleCalls: 2000, SoakCalls: 0, Timeout: 3 * time.Minute},
}

const usage = `callgw-bench — callgw's benchmark harness (issues 7 and 10)

Usage: callgw-bench [flags]

Starts ` + "`callgw simulator`, `callgw worker` and `callgw gateway`" + ` as separate processes
against the local RabbitMQ (under a run-unique exchange/queue prefix), runs:
  1. command path, two contenders on existing calls at each --inflight level:
     PUT /v1/calls/{id}/variables/BENCH (REST → gateway → RabbitMQ → worker →
     simulator → reply) and GET /v1/calls/{id} (answered by the worker): rate,
     p50/p90/p99
  2. at the same levels, side by side: the peer, ari-proxy over NATS setting the
     same variable (--ariproxy; skipped, saying why, without NATS or the binary);
     callgw's SDK bus client (callapi/bus, in this process) setting it over AMQP;
     a bare amqp091-go direct reply-to RPC loop with the same payload sizes;
     straight to the simulator, POST /ari/channels/{id}/variable and
     GET /ari/channels/{id}; and, at 1 and 64 in flight, the null pipeline:
     callgw's hops with no logic (HTTP → topic exchange with confirms → a
     worker process → the same ARI set variable → direct reply-to → HTTP),
     one message per request, with (null REST) and without (null bus) the
     HTTP front, the floor each callgw contender is stated against
  3. call churn: originate (wait answered) → hang up → call.hangup consumed from a
     queue bound to callapi.events.routed; complete calls/s
  4. events: short calls driven straight over ARI; events/s arriving on a bound
     queue, beside a bare publish → fanout → consume loop
  5. scale: --scale-calls calls up at once; heap, RSS and goroutines per live call
     of the worker and the gateway (after a forced GC)
  6. soak (--soak-calls > 0): that many call lifecycles; heap and goroutines
     before and after, after GC
each with a warm-up and --reps repetitions (median, min–max), plus the CPU split
per process at 64 in flight. Writes --out (JSON) and a table on stdout ending with
one summary line of the targets. Everything it started is stopped, also on error
or Ctrl-C. Only 127.0.0.1 is contacted.

Flags (defaults of the full run; --quick changes those marked *):
`

// parseOptions parses the command line; with --quick, the quick run's
// defaults replace the full run's for the flags it does not give.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("callgw-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	inflight := o.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Quick {
		o.applyQuick(set)
	}
	var err error
	if o.Inflight, err = parseInflight(*inflight); err != nil {
		return o, err
	}
	return o, o.validate()
}

// register defines the flags on fs, with the full run's defaults; it
// returns where --inflight, parsed later, lands.
func (o *options) register(fs *flag.FlagSet) *string {
	var inflight string
	fs.BoolVar(&o.Quick, "quick", false, "short run (make bench-quick): fewer repetitions, shorter windows, 2,000 calls for scale, no soak")
	fs.StringVar(&o.Out, "out", "bench-results.json", "path of the JSON results file")
	fs.StringVar(&o.Callgw, "callgw", "bin/callgw", "the callgw binary to start (make build)")
	fs.StringVar(&o.AMQPURL, "amqp-url", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL; must be on 127.0.0.1 or localhost")
	fs.StringVar(&o.AriProxy, "ariproxy", "bin/ariproxy-bench", "the ari-proxy contender's binary (cmd/callgw-bench/ariproxy, make bench builds it); empty: skip that contender")
	fs.StringVar(&o.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS URL of the ari-proxy contender; must be on 127.0.0.1 or localhost")
	fs.StringVar(&inflight, "inflight", "1,16,64,256", "requests in flight of the command path and its baselines, comma-separated")
	fs.IntVar(&o.Reps, "reps", presets[false].Reps, "* measured repetitions of each point")
	fs.DurationVar(&o.Warmup, "warmup", presets[false].Warmup, "* warm-up before each point (not measured)")
	fs.DurationVar(&o.Duration, "duration", presets[false].Duration, "* length of each measured repetition")
	fs.IntVar(&o.Calls, "calls", 512, "calls kept up for the command path (commands are spread over them)")
	fs.IntVar(&o.ChurnInflight, "churn-inflight", 64, "call lifecycles in flight in the churn and soak scenarios")
	fs.IntVar(&o.EventInflight, "event-inflight", 256, "short ARI calls, and live calls with a playback, in flight driving the events scenario")
	fs.IntVar(&o.ScaleCalls, "scale-calls", presets[false].ScaleCalls, "* calls up at once in the scale scenario (0: skip)")
	fs.IntVar(&o.SoakCalls, "soak-calls", presets[false].SoakCalls, "* call lifecycles of the soak (0: skip)")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "when set, take CPU profiles of gateway and worker at 64 in flight and write them here")
	fs.IntVar(&o.ProfileSeconds, "profile-seconds", 5, "length of the CPU profiles")
	fs.StringVar(&o.LogDir, "log-dir", "", "where the children's logs go (default: a temporary directory, removed after a successful run)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "CALLGW_LOG_LEVEL of gateway and worker (info: the product default, one access-log line per request)")
	fs.DurationVar(&o.Timeout, "timeout", presets[false].Timeout, "* upper bound of the whole run")
	return &inflight
}

// applyQuick replaces the full run's defaults with the quick run's, for
// the flags not given on the command line (set).
func (o *options) applyQuick(set map[string]bool) {
	p := presets[true]
	if !set["reps"] {
		o.Reps = p.Reps
	}
	if !set["warmup"] {
		o.Warmup = p.Warmup
	}
	if !set["duration"] {
		o.Duration = p.Duration
	}
	if !set["scale-calls"] {
		o.ScaleCalls = p.ScaleCalls
	}
	if !set["soak-calls"] {
		o.SoakCalls = p.SoakCalls
	}
	if !set["timeout"] {
		o.Timeout = p.Timeout
	}
}

// parseInflight parses --inflight: comma-separated levels in 1..4096.
func parseInflight(s string) ([]int, error) {
	var levels []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--inflight: %q is not a number in 1..4096", f)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// validate checks the values of the flags.
func (o options) validate() error {
	switch {
	case o.Reps < 1:
		return errors.New("--reps must be at least 1")
	case o.Duration <= 0 || o.Warmup < 0:
		return errors.New("--duration must be > 0 and --warmup >= 0")
	case o.Calls < 1 || o.ChurnInflight < 1 || o.EventInflight < 1:
		return errors.New("--calls, --churn-inflight and --event-inflight must be at least 1")
	case o.ScaleCalls < 0 || o.SoakCalls < 0:
		return errors.New("--scale-calls and --soak-calls must not be negative")
	case o.ProfileSeconds < 1:
		return errors.New("--profile-seconds must be at least 1")
	case o.Timeout <= 0:
		return errors.New("--timeout must be > 0")
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", o.LogLevel)
	}
	for _, x := range []struct{ flag, url, scheme string }{{"--amqp-url", o.AMQPURL, "amqp"}, {"--nats-url", o.NATSURL, "nats"}} {
		u, err := url.Parse(x.url)
		if err != nil {
			return fmt.Errorf("%s: %w", x.flag, err)
		}
		if u.Scheme != x.scheme {
			return fmt.Errorf("%s: %q is not a %s:// URL", x.flag, x.url, x.scheme)
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
			return fmt.Errorf("%s: host %q: the harness only talks to 127.0.0.1", x.flag, h)
		}
	}
	return nil
}

// newLogger writes progress lines to w.
func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	enc.EncodeCaller = nil
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel))
}

// checkBroker dials the broker's TCP port so that a missing RabbitMQ is
// reported at once.
func checkBroker(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = "5672"
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("no RabbitMQ at 127.0.0.1:%s (%v): start one (rabbitmq-server -detached) or pass --amqp-url", port, err)
	}
	return c.Close()
}

// checkNATS dials the NATS server of rawURL and reads its INFO greeting,
// so that a missing NATS is reported in plain words.
func checkNATS(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = "4222"
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("no NATS at %s (%v): install and start nats-server (Debian package nats-server), or pass --nats-url", addr, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "INFO " {
		return fmt.Errorf("%s does not greet as a NATS server does (%q, %v)", addr, b, err)
	}
	return nil
}

// run is the harness; argv0, when not nil, replaces the callgw binary and
// the harness's own as the null pipeline's processes (tests run their own
// binary as the children).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, argv0 []string) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	defer func() { _ = log.Sync() }()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	// Last resort: every wait is bounded, but should something still hang,
	// exit rather than hold the machine; the children die with us.
	hung := time.AfterFunc(o.Timeout+2*time.Minute, func() {
		log.Error("the run did not end within --timeout + 2m: exiting")
		os.Exit(2)
	})
	defer hung.Stop()
	self := argv0
	if argv0 == nil {
		if _, err := os.Stat(o.Callgw); err != nil {
			return fmt.Errorf("callgw binary: %w (run make build, or pass --callgw)", err)
		}
		argv0 = []string{o.Callgw}
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("the harness's own binary, for the null pipeline: %w", err)
		}
		self = []string{exe}
	}
	if err := checkBroker(ctx, o.AMQPURL); err != nil {
		return err
	}
	start := time.Now()
	res, err := runBench(ctx, o, argv0, self, log)
	if res != nil {
		res.WallSeconds = time.Since(start).Seconds()
		if werr := writeResults(o.Out, res); werr != nil {
			err = errors.Join(err, werr)
		} else {
			log.Info("results written", zap.String("path", o.Out))
		}
		printReport(stdout, res)
	}
	return err
}
