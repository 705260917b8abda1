package restapi

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsNotOnAPIPort: /metrics is not served on the API port, with
// auth on or off; MetricsHandler serves it for the ops address. Issue 12,
// finding 5.
func TestMetricsNotOnAPIPort(t *testing.T) {
	for _, cfg := range []Config{{}, {Auth: authConfig(t)}} {
		s := MustNewServer(t, cfg, deps{})
		if rec := do(t, s.Handler(), "GET", "/metrics", ""); rec.Code != 404 {
			t.Errorf("auth %v: GET /metrics on the API port: %d", cfg.Auth.Enabled, rec.Code)
		}
		rec := httptest.NewRecorder()
		s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Errorf("MetricsHandler: %d", rec.Code)
		}
	}
}

// TestMetricsLabelsBounded: 300 requests with made-up methods, paths and
// statuses add a bounded number of series (they count as method OTHER,
// route unmatched). Issue 12, finding 5.
func TestMetricsLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := MustNewServer(t, Config{Registry: reg}, deps{})
	series := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range mfs {
			n += len(mf.GetMetric())
		}
		return n
	}
	do(t, s.Handler(), "GET", "/healthz", "")
	before := series()
	for i := range 300 {
		do(t, s.Handler(), fmt.Sprintf("M%dETHOD", i), fmt.Sprintf("/x%d/y", i), "")
		do(t, s.Handler(), fmt.Sprintf("Q%d", i), "/healthz", "")
	}
	if grown := series() - before; grown > 6 {
		t.Errorf("300 made-up methods and paths added %d series", grown)
	}
	if got := methodLabel("PROPFIND"); got != "OTHER" {
		t.Errorf("methodLabel = %q", got)
	}
}
