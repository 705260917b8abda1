package arisim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Main runs the simulator as `callgw simulator [flags]` until ctx ends. It writes the listening
// address to stdout once it accepts connections. Flags only: MainEnv also reads CALLGW_*
// variables.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	return MainEnv(ctx, args, func(string) string { return "" }, stdout)
}

// MainEnv is Main where every flag can also be set by the environment variable --help names
// (looked up with env; a flag on the command line wins).
func MainEnv(ctx context.Context, args []string, env func(string) string, stdout io.Writer) error {
	f, err := parseFlags(args, env, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	lvl, err := zap.ParseAtomicLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("arisim: %w", err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = lvl
	log, err := zc.Build()
	if err != nil {
		return fmt.Errorf("arisim: %w", err)
	}
	defer func() { _ = log.Sync() }()
	f.cfg.Log = log
	return serve(ctx, f.addr, f.cfg, stdout)
}

// cliFlags is what the command line of `callgw simulator` sets.
type cliFlags struct {
	addr, logLevel string
	cfg            Config
}

// parseFlags reads the flags, and the environment variables behind them; it returns
// flag.ErrHelp when --help was asked for (and printed).
func parseFlags(args []string, env func(string) string, stdout io.Writer) (cliFlags, error) {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	envOf := map[string]string{}
	str := func(p *string, name, variable, def, usage string) {
		envOf[name] = variable
		if v := env(variable); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage)
	}
	var errs []error
	dur := func(p *time.Duration, name, variable string, def time.Duration, usage string) {
		envOf[name] = variable
		if v := env(variable); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("arisim: %s=%q: %w", variable, v, err))
			}
			def = d
		}
		fs.DurationVar(p, name, def, usage)
	}
	var f cliFlags
	cfg := &f.cfg
	str(&f.addr, "listen", "CALLGW_SIM_ADDR", "127.0.0.1:8088", "listen address (host:port; port 0 picks one)")
	str(&cfg.User, "ari-user", "CALLGW_ARI_USER", "callgw", "ARI user name")
	str(&cfg.Password, "ari-password", "CALLGW_ARI_PASSWORD", "callgw", "ARI password")
	str(&cfg.AsteriskID, "asterisk-id", "CALLGW_SIM_ASTERISK_ID", "sim", "asterisk_id reported in events and /asterisk/info")
	str(&cfg.SystemName, "node-id", "CALLGW_NODE_ID", "sim", "Asterisk systemname (node id): prefix of generated channel ids")
	dur(&cfg.PlaybackDuration, "playback-duration", "CALLGW_SIM_PLAYBACK_DURATION", 200*time.Millisecond, "time each media item of a playback takes")
	dur(&cfg.DTMFInterval, "dtmf-interval", "CALLGW_SIM_DTMF_INTERVAL", 350*time.Millisecond, "gap between digits the dtmf extension sends")
	dur(&cfg.DialplanStep, "dialplan-step", "CALLGW_SIM_DIALPLAN_STEP", 500*time.Millisecond, "delay before the dialplan application that follows Answer()")
	dur(&cfg.RingTimeout, "ring-timeout", "CALLGW_SIM_RING_TIMEOUT", 30*time.Second, "originate timeout when the request gives none")
	str(&cfg.InboundApp, "inbound-app", "CALLGW_ARI_APP", "callgw", "Stasis app of simulated inbound calls (POST /ari-sim/inbound places one)")
	str(&f.logLevel, "log-level", "CALLGW_LOG_LEVEL", "info", "debug, info, warn or error")
	fs.Usage = func() { printUsage(fs, envOf, stdout) }
	if len(errs) > 0 {
		return f, errors.Join(errs...)
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if cfg.User == "" || cfg.Password == "" {
		return f, errors.New("arisim: -ari-user and -ari-password must not be empty")
	}
	return f, nil
}

// printUsage prints --help: each flag with the environment variable behind it.
func printUsage(fs *flag.FlagSet, envOf map[string]string, stdout io.Writer) {
	fmt.Fprint(stdout, "Usage: callgw simulator [flags]\n\nAn ARI server that behaves like Asterisk 22 for callgw's tests and callgw dev.\n"+
		"Every flag can also be set by the environment variable named in brackets;\na flag given on the command line wins over the environment.\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		def := fmt.Sprintf("%q", f.DefValue)
		if strings.Contains(f.Name, "password") {
			def = "(set)"
		}
		fmt.Fprintf(stdout, "  --%s [%s]\n    \t%s (default %s)\n", f.Name, envOf[f.Name], f.Usage, def)
	})
}

// serve runs a simulator on addr until ctx ends, then closes it in bounded time.
func serve(ctx context.Context, addr string, cfg Config, stdout io.Writer) error {
	log := cfg.Log
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("arisim: %w", err)
	}
	sim := New(cfg)
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	_, _ = fmt.Fprintf(stdout, "ARI simulator listening on http://%s/ari (user %s)\n", ln.Addr(), cfg.User)
	log.Info("simulator listening", zap.String("addr", ln.Addr().String()), zap.String("asterisk_id", cfg.AsteriskID))
	select {
	case err := <-errc:
		sim.Close()
		return fmt.Errorf("arisim: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sim.Close() // closes the WebSockets, which Shutdown does not wait for
	err = srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
