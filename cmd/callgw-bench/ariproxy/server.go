package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari-proxy/v5/server"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/inconshreveable/log15"
)

// runServer runs the ari-proxy server as ari-proxy's own main does
// (cmd.go, runServer: server.New, then Listen with native ARI options and
// the message bus URL), with two additions the harness needs: a subject
// prefix of the run (ari-proxy's default is "ari.") and a clean exit on
// SIGTERM.
func runServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ariproxy-bench server", flag.ContinueOnError)
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	prefix := fs.String("prefix", "ari.", "message bus subject prefix")
	ariURL := fs.String("ari-url", "", "ARI base URL, http://127.0.0.1:port/ari")
	user := fs.String("ari-user", "", "ARI user")
	app := fs.String("app", "ariproxy", "ARI application of the proxy")
	verbose := fs.Bool("verbose", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pass := os.Getenv("ARI_PASSWORD") // not on the command line
	if *ariURL == "" || !strings.HasPrefix(*natsURL, "nats://") {
		return errors.New("server: -ari-url and a nats:// -nats are required")
	}
	lvl := log15.LvlInfo
	if *verbose {
		lvl = log15.LvlDebug
	}
	handler := log15.LvlFilterHandler(lvl, log15.StreamHandler(os.Stderr, log15.LogfmtFormat()))
	native.Logger.SetHandler(handler)
	srv := server.New()
	srv.Log = log15.New()
	srv.Log.SetHandler(handler)
	srv.MBPrefix = *prefix

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- srv.Listen(ctx, &native.Options{
			Application:  *app,
			Username:     *user,
			Password:     pass,
			URL:          *ariURL,
			WebsocketURL: "ws" + strings.TrimPrefix(*ariURL, "http") + "/events",
		}, *natsURL)
	}()
	select {
	case err := <-done:
		return fmt.Errorf("ari-proxy server: %w", err)
	case <-srv.Ready():
		srv.Log.Info("ari-proxy server ready", "application", *app, "prefix", *prefix)
	}
	select {
	case err := <-done:
		return fmt.Errorf("ari-proxy server: %w", err)
	case <-ctx.Done():
	}
	// Listen returns once its subscriptions are gone (it panics should
	// that take over 500 ms); do not wait for ever.
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	return nil
}
