package stack

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
)

// workerMetrics are a worker's per-action command metrics, its ARI request
// latency and its call outcomes. deploy/grafana and deploy/prometheus name
// these metrics; a test checks that every metric they use is exported.
type workerMetrics struct {
	commands   *prometheus.CounterVec   // action, code
	cmdLatency *prometheus.HistogramVec // action
	ariLatency *prometheus.HistogramVec // method, route, status
	callsEnded *prometheus.CounterVec   // cause, reason
}

func newWorkerMetrics() *workerMetrics {
	return &workerMetrics{
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
	}
}

func (m *workerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.commands, m.cmdLatency, m.ariLatency, m.callsEnded}
}

var _ asterisk.Observer = (*workerMetrics)(nil)

// ARIRequest implements asterisk.Observer.
func (m *workerMetrics) ARIRequest(method, route string, status int, d time.Duration) {
	m.ariLatency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// CallEnded implements asterisk.Observer.
func (m *workerMetrics) CallEnded(cause int, reason string) {
	if reason == "" {
		reason = "unknown"
	}
	m.callsEnded.WithLabelValues(strconv.Itoa(cause), reason).Inc()
}

// metered wraps the worker's command handler with the command metrics.
type metered struct {
	next callapi.CommandHandler
	m    *workerMetrics
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
