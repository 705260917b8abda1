package main

import (
	"context"
	"errors"
	"io"
	"math"
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
	withWorker := func(c CPUSplit, us float64) CPUSplit {
		c.USPerReq = map[string]float64{"worker": us}
		return c
	}
	base := func() *Results {
		return &Results{
			Mode:         "quick",
			CallgwPut:    pts(0.79, 7000), // bare + ARI set + 0.24 ms; 0.7 × bare
			CallgwGet:    pts(0.64, 9000), // bare + 0.24 ms
			BareRPC:      pts(0.40, 10000),
			AriProxy:     pts(0.50, 6000), // PUT 1.17 × ari-proxy
			BusPut:       pts(0.50, 9000), // 1.5 × ari-proxy, its p50
			DirectARIPut: pts(0.15, 20000),
			DirectARIGet: pts(0.10, 30000),
			CPU: map[string]CPUSplit{
				"bare_rpc@64":   split(1.2, 10000),                 // 120 µs per round trip
				"callgw_put@64": withWorker(split(1.61, 7000), 77), // 230 µs; the worker 37 µs above a GET
				"callgw_get@64": withWorker(split(1.8, 9000), 40),  // 200 µs
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
			"put cpu/req@64 / bare": true, "worker cpu put-get@64": true, "events/bare fanout": true, "worker heap/call": false,
		}},
		{"each just past its limit", func(r *Results) {
			r.CallgwPut = pts(0.81, 6999)                                // + 0.26 ms; 0.6999 × bare
			r.AriProxy = pts(0.5, 7001)                                  // PUT 0.9999 × ari-proxy
			r.CallgwGet = pts(0.66, 9000)                                // bare + 0.26 ms
			r.CPU["callgw_put@64"] = withWorker(split(1.75, 7000), 77.5) // 250 µs; the worker 37.5 µs above a GET
			r.Events.Playbacks.EventsPerS.Median = 4999
			r.BusPut = pts(0.51, 10501) // 1.49993 × ari-proxy; p50 over ari-proxy's
		}, want{
			"bus put@64/ari-proxy": false, "bus put p50@1 / ari-proxy": false, "put@64/bare": false, "put@64/ari-proxy": false, "put p50@1 - (bare + ARI set)": false, "get p50@1 - bare": false,
			"put cpu/req@64 / bare": false, "worker cpu put-get@64": false, "events/bare fanout": false, "worker heap/call": false,
		}},
		{"ari-proxy skipped", func(r *Results) {
			r.AriProxy, r.AriProxySkipped = nil, "no NATS at 127.0.0.1:4222"
		}, want{
			"put@64/bare": true, "put p50@1 - (bare + ARI set)": true, "get p50@1 - bare": true,
			"put cpu/req@64 / bare": true, "worker cpu put-get@64": true, "events/bare fanout": true, "worker heap/call": false,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			if tc.change != nil {
				tc.change(r)
			}
			evaluate(r)
			if len(r.Targets) != 11 {
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

// TestFloorRatios: each callgw contender over its null pipeline, rate and
// p50 at 1 and 64 in flight and CPU per request at 64, in the results,
// the summary and the table; what did not run is left out.
func TestFloorRatios(t *testing.T) {
	pts := func(rate1, p501, rate64, p5064 float64) []Point {
		return []Point{{Inflight: 1, Rate: Spread{Median: rate1}, P50: Spread{Median: p501}}, {Inflight: 64, Rate: Spread{Median: rate64}, P50: Spread{Median: p5064}}}
	}
	split := func(cores float64, requests int64) CPUSplit {
		return CPUSplit{WallSeconds: 1, TotalCores: cores, Requests: requests}
	}
	base := func() *Results {
		return &Results{
			Mode:      "quick",
			CallgwPut: pts(500, 1.5, 4000, 16),
			CallgwGet: pts(1000, 0.75, 10000, 6),
			BusPut:    pts(1200, 0.8, 9000, 7),
			NullREST:  pts(1000, 1.0, 5000, 12),
			NullBus:   pts(1500, 0.6, 6000, 10),
			CPU: map[string]CPUSplit{
				"callgw_put@64":     split(1.6, 4000), // 400 µs
				"callgw_get@64":     split(1.5, 10000),
				"callgw_bus_put@64": split(1.8, 9000),
				"null_rest@64":      split(1.6, 5000), // 320 µs
				"null_bus@64":       split(1.5, 6000), // 250 µs
			},
		}
	}
	for _, tc := range []struct {
		name    string
		change  func(r *Results)
		want    map[string]float64 // floor figure → value; absent: not run
		summary []string           // parts the summary line holds
	}{
		{"all measured", nil, map[string]float64{
			"put/null REST rate@1": 0.5, "put/null REST p50@1": 1.5, "put/null REST rate@64": 0.8, "put/null REST p50@64": 16.0 / 12, "put/null REST cpu/req@64": 1.25,
			"get/null REST rate@1": 1, "get/null REST p50@1": 0.75, "get/null REST rate@64": 2, "get/null REST p50@64": 0.5, "get/null REST cpu/req@64": 150.0 / 320,
			"bus put/null bus rate@1": 0.8, "bus put/null bus p50@1": 0.8 / 0.6, "bus put/null bus rate@64": 1.5, "bus put/null bus p50@64": 0.7, "bus put/null bus cpu/req@64": 200.0 / 250,
		}, []string{"(× the null pipeline, the floor: put/null REST: rate@1 0.50, p50@1 1.50, rate@64 0.80, p50@64 1.33, cpu/req@64 1.25; get/null REST: ",
			"; bus put/null bus: rate@1 0.80, p50@1 1.33, rate@64 1.50, p50@64 0.70, cpu/req@64 0.80)"}},
		{"no null bus, no CPU at 64 for the null REST", func(r *Results) {
			r.NullBus = nil
			delete(r.CPU, "null_bus@64")
			delete(r.CPU, "null_rest@64")
		}, map[string]float64{
			"put/null REST rate@1": 0.5, "put/null REST p50@1": 1.5, "put/null REST rate@64": 0.8, "put/null REST p50@64": 16.0 / 12,
			"get/null REST rate@1": 1, "get/null REST p50@1": 0.75, "get/null REST rate@64": 2, "get/null REST p50@64": 0.5,
		}, []string{"put/null REST: rate@1 0.50, p50@1 1.50, rate@64 0.80, p50@64 1.33; get/null REST: rate@1 1.00, p50@1 0.75, rate@64 2.00, p50@64 0.50)"}},
		{"no null pipeline", func(r *Results) {
			r.NullREST, r.NullBus = nil, nil
			delete(r.CPU, "null_bus@64")
			delete(r.CPU, "null_rest@64")
		}, map[string]float64{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			if tc.change != nil {
				tc.change(r)
			}
			evaluate(r)
			if len(r.Floor) != 15 {
				t.Fatalf("%d floor figures: %+v", len(r.Floor), r.Floor)
			}
			for _, f := range r.Floor {
				want, run := tc.want[f.Name]
				if f.Run != run || f.Met != run || f.Limit != "none" || (run && math.Abs(f.Value-want) > 1e-9) {
					t.Errorf("%s = %v (run %v, met %v, limit %q), want %v (run %v)", f.Name, f.Value, f.Run, f.Met, f.Limit, want, run)
				}
			}
			for _, part := range tc.summary {
				if !strings.Contains(r.Summary, part) {
					t.Errorf("summary %q lacks %q", r.Summary, part)
				}
			}
			if tc.summary == nil && strings.Contains(r.Summary, "null pipeline") {
				t.Errorf("summary speaks of a null pipeline that did not run: %q", r.Summary)
			}
			if len(r.Targets) != 11 {
				t.Errorf("the floor changed the targets: %+v", r.Targets)
			}
			var out strings.Builder
			printFloor(&out, r)
			if len(tc.want) > 0 && !strings.Contains(out.String(), "PUT / null REST") {
				t.Errorf("table:\n%s", out.String())
			}
		})
	}
}
