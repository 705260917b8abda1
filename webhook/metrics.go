package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgw/callgw/callapi"
)

// Metrics registers a delivery process's metrics on reg and returns the
// Config.OnAttempt that feeds them: callgw_webhook_attempts_total by
// outcome (delivered, retry, dead) and callgw_webhook_post_seconds, the
// time of each POST. Labels are bounded: no subscription or tenant.
func Metrics(reg prometheus.Registerer) (func(sub string, a callapi.WebhookAttempt), error) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callgw_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome: delivered, retry (failed, to be retried), dead (failed, dead-lettered)."}, []string{"outcome"})
	post := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callgw_webhook_post_seconds",
		Help: "Time of one webhook POST, from connecting to the end of the answer.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)})
	for _, c := range []prometheus.Collector{attempts, post} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range []string{"delivered", "retry", "dead"} {
		attempts.WithLabelValues(o)
	}
	return func(_ string, a callapi.WebhookAttempt) {
		attempts.WithLabelValues(a.Outcome).Inc()
		post.Observe(a.LatencyMS / 1000)
	}, nil
}
