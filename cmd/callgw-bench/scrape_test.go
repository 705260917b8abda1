package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A worker's metrics carry its node label: scrape reads them, summing the
// series of one name, and still reads unlabelled ones.
func TestScrapeLabelledSeries(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("# HELP callgw_ari_calls Live calls.\ncallgw_ari_calls{node=\"pbx1\"} 3\ncallgw_ari_calls{node=\"pbx2\"} 4 1700000000\n" +
			"callgw_ari_events_in_total{node=\"pbx1\"} 12\ngo_goroutines 9\ncallgw_ari_calls_other 100\n"))
	}))
	defer ts.Close()
	got, err := scrape(context.Background(), ts.Client(), ts.URL, "callgw_ari_calls", "callgw_ari_events_in_total", "go_goroutines")
	if err != nil {
		t.Fatal(err)
	}
	if got["callgw_ari_calls"] != 7 || got["callgw_ari_events_in_total"] != 12 || got["go_goroutines"] != 9 {
		t.Fatalf("%v", got)
	}
}
