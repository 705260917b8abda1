package worker

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/ops"
)

// Metrics are a worker's per-action command metrics, its ARI request
// latency and connectivity, and its call outcomes, each labelled with the
// worker's node (Register). deploy/grafana and deploy/prometheus name
// these metrics; a test checks that every metric they use is exported.
type Metrics struct {
	commands   *prometheus.CounterVec   // action, code
	cmdLatency *prometheus.HistogramVec // action
	ariLatency *prometheus.HistogramVec // method, route, status
	callsEnded *prometheus.CounterVec   // cause, reason
	// ariUp is what the last heartbeat found (Heartbeats): 1 while
	// Asterisk answers ARI and the events WebSocket is connected.
	ariUp prometheus.Gauge
}

// NewMetrics returns a worker's metrics, registered by Register.
func NewMetrics() *Metrics {
	return &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "callgw", Subsystem: "worker", Name: "commands_total",
			Help: "Commands executed, by action and outcome code (ok, not_found, conflict, node_unavailable, timeout, pbx_error, …)."}, []string{"action", "code"}),
		cmdLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "callgw", Subsystem: "worker", Name: "command_duration_seconds",
			Help:    "Time to execute a command on the worker (from the executor's start to its reply), by action.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"action"}),
		ariLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "callgw", Subsystem: "ari", Name: "request_duration_seconds",
			Help:    "ARI REST request latency, by method, route ({id} for ids) and status (0: no answer).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"method", "route", "status"}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "callgw", Subsystem: "calls", Name: "ended_total",
			Help: "Calls that ended, by Q.850 cause and by who or what ended them (api, remote, timeout, left_stasis, lost)."}, []string{"cause", "reason"}),
		ariUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "callgw", Subsystem: "ari", Name: "connected",
			Help: "1 while the node's Asterisk answers ARI and its events WebSocket is connected (the app not taken over), as of the last heartbeat; 0 before the first."}),
	}
}

// Register adds m, and the counters of the ARI adapter p, to r, each
// series labelled node="<node>": several workers can share a registry,
// and dashboards and alerts group by node.
func (m *Metrics) Register(r prometheus.Registerer, node callapi.NodeID, p *asterisk.PBX) error {
	r = prometheus.WrapRegistererWith(prometheus.Labels{"node": string(node)}, r)
	for _, c := range []prometheus.Collector{m.commands, m.cmdLatency, m.ariLatency, m.callsEnded, m.ariUp} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return registerPBX(r, p)
}

var _ asterisk.Observer = (*Metrics)(nil)

// ARIRequest implements asterisk.Observer.
func (m *Metrics) ARIRequest(method, route string, status int, d time.Duration) {
	m.ariLatency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// CallEnded implements asterisk.Observer.
func (m *Metrics) CallEnded(cause int, reason string) {
	if reason == "" {
		reason = "unknown"
	}
	m.callsEnded.WithLabelValues(strconv.Itoa(cause), reason).Inc()
}

// Heartbeats returns next, with each heartbeat's verdict on ARI (Healthy:
// Asterisk answers and the events WebSocket is connected) recorded in
// callgw_ari_connected first. The Announcer asks the PBX every interval,
// so the metric follows ARI without a request per scrape.
func (m *Metrics) Heartbeats(next callapi.HeartbeatSink) callapi.HeartbeatSink {
	return heartbeats{next: next, m: m}
}

type heartbeats struct {
	next callapi.HeartbeatSink
	m    *Metrics
}

func (h heartbeats) PublishHeartbeat(ctx context.Context, hb *callapi.Heartbeat) error {
	if hb.Healthy {
		h.m.ariUp.Set(1)
	} else {
		h.m.ariUp.Set(0)
	}
	return h.next.PublishHeartbeat(ctx, hb)
}

// Metered returns next counted and timed in m's command metrics.
func (m *Metrics) Metered(next callapi.CommandHandler) callapi.CommandHandler {
	return metered{next: next, m: m}
}

// metered wraps the worker's command handler with the command metrics.
type metered struct {
	next callapi.CommandHandler
	m    *Metrics
}

var _ callapi.CommandHandler = metered{}

func (h metered) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	start := time.Now()
	rep := h.next.Handle(ctx, cmd)
	code, action := "ok", string(cmd.Action)
	if rep != nil && !rep.OK && rep.Error != nil {
		code = string(rep.Error.Code)
		if rep.Error.Code == callapi.CodeInvalidArgument && rep.Error.Field == "action" {
			// Any AMQP client can name any action: an unknown one must
			// not become a new series (unbounded memory).
			action = "other"
		}
	}
	h.m.commands.WithLabelValues(action, code).Inc()
	h.m.cmdLatency.WithLabelValues(action).Observe(time.Since(start).Seconds())
	return rep
}

// registerPBX exposes the ARI adapter's counters as metrics.
func registerPBX(r prometheus.Registerer, p *asterisk.PBX) error {
	counter := ops.StatsCounters("ari", p.Stats)
	for _, c := range []prometheus.Collector{
		counter("events_in_total", "ARI events received.", func(s asterisk.Stats) int64 { return s.EventsIn }),
		counter("events_published_total", "CallAPI events published.", func(s asterisk.Stats) int64 { return s.EventsPublished }),
		counter("events_dropped_total", "ARI events dropped because their call's shard queue stayed full (EnqueueTimeout).", func(s asterisk.Stats) int64 { return s.EventsDropped }),
		counter("publish_errors_total", "Event publishes that failed.", func(s asterisk.Stats) int64 { return s.PublishErrors }),
		counter("decode_errors_total", "Undecodable ARI messages.", func(s asterisk.Stats) int64 { return s.DecodeErrors }),
		counter("requests_abandoned_total", "ARI requests given up at their deadline.", func(s asterisk.Stats) int64 { return s.RequestsAbandoned }),
		counter("connects_total", "Events WebSocket connections made.", func(s asterisk.Stats) int64 { return s.Connects }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "callgw", Subsystem: "ari", Name: "calls", Help: "Live calls on this node."},
			func() float64 { return float64(p.Stats().Calls) }),
	} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
