package arisim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Main runs the simulator as `callgw simulator [flags]` until ctx ends. It writes the listening
// address to stdout once it accepts connections.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("listen", "127.0.0.1:8088", "listen address (host:port; port 0 picks one)")
	cfg := Config{}
	fs.StringVar(&cfg.User, "ari-user", "callgw", "ARI user name")
	fs.StringVar(&cfg.Password, "ari-password", "callgw", "ARI password")
	fs.StringVar(&cfg.AsteriskID, "asterisk-id", "sim", "asterisk_id reported in events and /asterisk/info")
	fs.StringVar(&cfg.SystemName, "node-id", "sim", "Asterisk systemname (node id): prefix of generated channel ids")
	fs.DurationVar(&cfg.PlaybackDuration, "playback-duration", 200*time.Millisecond, "time each media item of a playback takes")
	fs.DurationVar(&cfg.DTMFInterval, "dtmf-interval", 350*time.Millisecond, "gap between digits the dtmf extension sends")
	fs.DurationVar(&cfg.DialplanStep, "dialplan-step", 500*time.Millisecond, "delay before the dialplan application that follows Answer()")
	fs.DurationVar(&cfg.RingTimeout, "ring-timeout", 30*time.Second, "originate timeout when the request gives none")
	fs.StringVar(&cfg.InboundApp, "inbound-app", "callgw", "Stasis app of simulated inbound calls")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.User == "" || cfg.Password == "" {
		return errors.New("arisim: -ari-user and -ari-password must not be empty")
	}
	lvl, err := zap.ParseAtomicLevel(*logLevel)
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
	cfg.Log = log

	ln, err := net.Listen("tcp", *addr)
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
