package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ds(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100", hundred, 100, 100 * time.Millisecond},
		{"p50 of four is the second", ds(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four is the last", ds(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{"tiny p is the first", ds(1, 2, 3), 0.1, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Spread
	}{
		{"empty", nil, Spread{}},
		{"one", []float64{3}, Spread{3, 3, 3}},
		{"odd", []float64{5, 1, 3}, Spread{3, 1, 5}},
		{"even: mean of the middle two", []float64{4, 1, 10, 2}, Spread{3, 1, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := spread(tc.in); got != tc.want {
				t.Errorf("spread(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatal("spread reordered its input")
				}
			}
		})
	}
	if ratio(1, 0) != 0 || ratio(3, 2) != 1.5 {
		t.Error("ratio")
	}
}

func TestClosedLoop(t *testing.T) {
	t.Run("stops after maxOps", func(t *testing.T) {
		var n atomic.Int64
		w := closedLoop(context.Background(), 8, time.Hour, 100, time.Second, func(context.Context, int, int64) error {
			n.Add(1)
			return nil
		})
		if n.Load() != 100 || w.OK != 100 || len(w.Lat) != 100 || w.Errors != 0 {
			t.Fatalf("ran %d, window %+v", n.Load(), w)
		}
	})
	t.Run("stops after the duration and counts errors", func(t *testing.T) {
		boom := errors.New("boom")
		start := time.Now()
		w := closedLoop(context.Background(), 4, 50*time.Millisecond, 0, time.Second, func(_ context.Context, _ int, seq int64) error {
			time.Sleep(time.Millisecond)
			if seq%2 == 0 {
				return boom
			}
			return nil
		})
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v", took)
		}
		if w.OK == 0 || w.Errors == 0 || !errors.Is(w.FirstErr, boom) || w.Rate() <= 0 {
			t.Fatalf("window %+v", w)
		}
		for i := 1; i < len(w.Lat); i++ {
			if w.Lat[i] < w.Lat[i-1] {
				t.Fatal("latencies not sorted")
			}
		}
	})
	t.Run("ends with its context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		closedLoop(ctx, 2, time.Hour, 0, time.Second, func(ctx context.Context, _ int, _ int64) error {
			<-ctx.Done()
			return ctx.Err()
		})
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v", took)
		}
	})
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"--quick", "--reps", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	q := presets[true]
	if o.Reps != 7 || o.Duration != q.Duration || o.ScaleCalls != q.ScaleCalls || o.SoakCalls != 0 || len(o.Inflight) != 4 {
		t.Fatalf("quick options: %+v", o)
	}
	o, err = parseOptions(nil, io.Discard)
	if err != nil || o.SoakCalls != 100000 || o.ScaleCalls != 10000 {
		t.Fatalf("full options: %+v %v", o, err)
	}
	for _, bad := range [][]string{
		{"--amqp-url", "amqp://guest:guest@10.0.0.1:5672/"},
		{"--inflight", "1,x"},
		{"--reps", "0"},
		{"--log-level", "loud"},
		{"--nats-url", "nats://10.0.0.1:4222"},
		{"--nats-url", "http://127.0.0.1:4222"},
		{"extra"},
	} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestEvaluate(t *testing.T) {
	pts := func(p50at1, rateAt64 float64) []Point {
		return []Point{{Inflight: 1, P50: Spread{Median: p50at1}}, {Inflight: 64, Rate: Spread{Median: rateAt64}}}
	}
	split := func(cores float64, requests int64) CPUSplit {
		return CPUSplit{WallSeconds: 1, TotalCores: cores, Requests: requests}
	}
	base := func() *Results {
		return &Results{
			Mode:         "quick",
			CallgwPut:    pts(0.79, 7000), // bare + ARI set + 0.24 ms; 0.7 × bare
			CallgwGet:    pts(0.64, 9000), // bare + 0.24 ms
			BareRPC:      pts(0.40, 10000),
			AriProxy:     pts(0.50, 4000),
			BusPut:       pts(0.50, 6000), // 1.5 × ari-proxy, its p50
			DirectARIPut: pts(0.15, 20000),
			DirectARIGet: pts(0.10, 30000),
			CPU: map[string]CPUSplit{
				"bare_rpc@64":   split(1.2, 10000), // 120 µs per round trip
				"callgw_put@64": split(1.61, 7000), // 230 µs
				"callgw_get@64": split(1.8, 9000),  // 200 µs
			},
			Events: &Events{Playbacks: EventRun{EventsPerS: Spread{Median: 5000}}, BareFanoutPerS: Spread{Median: 10000}},
			Scale:  &Scale{Calls: 10, Worker: PerCall{After: MemSnap{HeapBytes: 1}, HeapBytes: 20 * 1024}},
		}
	}
	type want map[string]bool // target name → met; absent: not run
	for _, tc := range []struct {
		name   string
		change func(r *Results)
		want   want
	}{
		{"met, at or near their limits", nil, want{
			"bus put@64/ari-proxy": true, "bus put p50@1 / ari-proxy": true, "put@64/bare": true, "put@64/ari-proxy": true, "put p50@1 - (bare + ARI set)": true, "get p50@1 - bare": true,
			"put cpu/req@64 / bare": true, "events/bare fanout": true, "worker heap/call": false,
		}},
		{"each just past its limit", func(r *Results) {
			r.CallgwPut = pts(0.81, 6999)              // + 0.26 ms; 0.6999 × bare
			r.AriProxy = pts(0.5, 4700)                // PUT 1.489 × ari-proxy
			r.CallgwGet = pts(0.66, 9000)              // bare + 0.26 ms
			r.CPU["callgw_put@64"] = split(1.75, 7000) // 250 µs
			r.Events.Playbacks.EventsPerS.Median = 4999
			r.BusPut = pts(0.51, 7049) // 1.4998 × ari-proxy; p50 over ari-proxy's
		}, want{
			"bus put@64/ari-proxy": false, "bus put p50@1 / ari-proxy": false, "put@64/bare": false, "put@64/ari-proxy": false, "put p50@1 - (bare + ARI set)": false, "get p50@1 - bare": false,
			"put cpu/req@64 / bare": false, "events/bare fanout": false, "worker heap/call": false,
		}},
		{"ari-proxy skipped", func(r *Results) {
			r.AriProxy, r.AriProxySkipped = nil, "no NATS at 127.0.0.1:4222"
		}, want{
			"put@64/bare": true, "put p50@1 - (bare + ARI set)": true, "get p50@1 - bare": true,
			"put cpu/req@64 / bare": true, "events/bare fanout": true, "worker heap/call": false,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			if tc.change != nil {
				tc.change(r)
			}
			evaluate(r)
			if len(r.Targets) != 10 {
				t.Fatalf("%d targets: %+v", len(r.Targets), r.Targets)
			}
			for _, tg := range r.Targets {
				met, run := tc.want[tg.Name]
				if tg.Run != run || tg.Met != met {
					t.Errorf("%s = %.4f: run=%v met=%v, want run=%v met=%v (%s)", tg.Name, tg.Value, tg.Run, tg.Met, run, met, tg.Detail)
				}
			}
			if !strings.HasPrefix(r.Summary, "SUMMARY [quick] ") {
				t.Fatalf("summary %q", r.Summary)
			}
			if r.AriProxySkipped != "" && !strings.Contains(r.Summary, "put@64/ari-proxy not run (ari-proxy skipped") {
				t.Errorf("summary does not say the peer was skipped: %q", r.Summary)
			}
		})
	}
}

// TestFmtRatioTarget: a p50 target that is a ratio shows as one, not as
// milliseconds.
func TestFmtRatioTarget(t *testing.T) {
	if got := fmtTarget(Target{Name: "bus put p50@1 / ari-proxy", Limit: "<= 1", Value: 0.9}); got != "0.90" {
		t.Errorf("ratio shown as %q", got)
	}
	if got := fmtTarget(Target{Name: "get p50@1 - bare", Limit: "<= +0.25 ms", Value: 0.2}); got != "+0.200 ms" {
		t.Errorf("delta shown as %q", got)
	}
}
