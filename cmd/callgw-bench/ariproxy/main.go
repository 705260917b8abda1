// Command ariproxy-bench is callgw-bench's peer contender: ari-proxy
// (github.com/CyCoreSystems/ari-proxy/v5, v5.3.1) over NATS, built from its
// own Go module. It lives in a module of its own so that callgw's module
// never imports ari-proxy; only the benchmark harness starts it, as two
// processes:
//
//	ariproxy-bench server  the ari-proxy server (its server package, as its
//	                       own main runs it), between NATS and the ARI
//	                       simulator
//	ariproxy-bench client  an ari-proxy client that sets a channel variable
//	                       on existing channels in closed loops when the
//	                       harness asks, over a loopback control endpoint
//
// All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: ariproxy-bench server|client [flags]  (run with -h after the command for its flags)`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(ctx, os.Args[2:])
	case "client":
		err = runClient(ctx, os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ariproxy-bench:", err)
		os.Exit(1)
	}
}
