package webhook

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgw/callgw/callapi"
)

func TestMetricsCountAttempts(t *testing.T) {
	reg := prometheus.NewRegistry()
	on, err := Metrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	on("s1", callapi.WebhookAttempt{Outcome: "delivered", LatencyMS: 3})
	on("s2", callapi.WebhookAttempt{Outcome: "retry", LatencyMS: 10_000})
	on("s2", callapi.WebhookAttempt{Outcome: "retry", LatencyMS: 10_000})
	got := map[string]float64{}
	var posts uint64
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "callgw_webhook_attempts_total":
				got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "callgw_webhook_post_seconds":
				posts = m.GetHistogram().GetSampleCount()
			}
		}
	}
	if got["delivered"] != 1 || got["retry"] != 2 || got["dead"] != 0 || len(got) != 3 || posts != 3 {
		t.Errorf("attempts %v, %d POSTs observed", got, posts)
	}
	if _, err := Metrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}
