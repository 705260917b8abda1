// Package ops is the ops endpoint both callgw processes serve beside their
// work (never on the API port): /healthz, /readyz, /metrics and
// /debug/pprof/, and the metrics both export (the Go runtime, the process,
// the bus; on a gateway, the nodes of its registry). /healthz and /readyz
// answer as the API's do: {"status":…} when well, an RFC 9457
// problem+json with code node_unavailable when not ready.
package ops

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
)

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// StatsCounters returns a maker of counters callgw_<subsystem>_<name>
// that read one field (f) of a component's stats snapshot (stats) at each
// scrape: the bus's and the ARI adapter's counters are such fields.
func StatsCounters[S any](subsystem string, stats func() S) func(name, help string, f func(S) int64) prometheus.Collector {
	return func(name, help string, f func(S) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "callgw", Subsystem: subsystem, Name: name, Help: help},
			func() float64 { return float64(f(stats())) })
	}
}

// RegisterBus exposes the bus's counters and state as metrics.
func RegisterBus(r prometheus.Registerer, bus *amqpbus.Bus) {
	counter := StatsCounters("amqp", bus.Stats)
	r.MustRegister(
		counter("reconnects_total", "Connections made after the first.", func(s amqpbus.Stats) int64 { return s.Reconnects }),
		counter("returned_total", "Commands returned unroutable (node_unavailable).", func(s amqpbus.Stats) int64 { return s.Returned }),
		counter("nacked_total", "Publishes the broker refused.", func(s amqpbus.Stats) int64 { return s.Nacked }),
		counter("unknown_replies_total", "Replies without a waiting request.", func(s amqpbus.Stats) int64 { return s.UnknownReplies }),
		counter("bad_messages_total", "Undecodable replies, events or heartbeats.", func(s amqpbus.Stats) int64 { return s.BadReplies + s.BadEvents }),
		counter("poison_total", "Commands dead-lettered as undecodable or crashing.", func(s amqpbus.Stats) int64 { return s.Poison }),
		counter("expired_total", "Commands dead-lettered past their deadline, never run.", func(s amqpbus.Stats) int64 { return s.Expired }),
		counter("duplicates_total", "Commands answered from the worker's memory of recent ids.", func(s amqpbus.Stats) int64 { return s.Duplicates }),
		counter("retried_total", "Requests sent again after their channel was lost.", func(s amqpbus.Stats) int64 { return s.Retried }),
		counter("batches_total", "Command messages carrying two or more commands (protocol 2).", func(s amqpbus.Stats) int64 { return s.Batches }),
		counter("batched_commands_total", "Commands sent inside batches.", func(s amqpbus.Stats) int64 { return s.BatchedCommands }),
		counter("batch_waits_total", "Requests that queued behind a full batch window.", func(s amqpbus.Stats) int64 { return s.BatchWaits }),
		counter("reply_batches_total", "Reply messages carrying two or more replies.", func(s amqpbus.Stats) int64 { return s.ReplyBatches }),
		counter("batched_replies_total", "Replies sent inside reply batches.", func(s amqpbus.Stats) int64 { return s.BatchedReplies }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "callgw", Subsystem: "amqp", Name: "connected", Help: "1 while connected to a broker."},
			func() float64 {
				if bus.State().Connected {
					return 1
				}
				return 0
			}),
	)
}

// Serve serves /healthz, /readyz (ready's verdict), /metrics (of metrics)
// and /debug/pprof/ on addr until ctx ends. An empty addr serves nothing.
func Serve(ctx context.Context, addr string, metrics *prometheus.Registry, ready func() error, log *zap.Logger) error {
	return ServeReady(ctx, addr, metrics, ready, nil, log)
}

// ServeReady is Serve whose ready /readyz answers info's value (a gateway's
// restapi.Readiness: since when and why) instead of {"status":"ready"};
// info nil is Serve.
func ServeReady(ctx context.Context, addr string, metrics *prometheus.Registry, ready func() error, info func() any, log *zap.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.Handle("GET /readyz", readyHandler(ready, info))
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("ops endpoint listening", zap.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
