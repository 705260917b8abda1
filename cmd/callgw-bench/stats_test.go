package main

import (
	"context"
	"errors"
	"io"
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
		{"extra"},
	} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestEvaluate(t *testing.T) {
	r := &Results{
		Mode:        "quick",
		CommandPath: []Point{{Inflight: 1, P50: Spread{Median: 0.8}}, {Inflight: 64, Rate: Spread{Median: 6000}}},
		BareRPC:     []Point{{Inflight: 1, P50: Spread{Median: 0.4}}, {Inflight: 64, Rate: Spread{Median: 10000}}},
		DirectARI:   []Point{{Inflight: 64, Rate: Spread{Median: 12000}}},
		Events:      &Events{Playbacks: EventRun{EventsPerS: Spread{Median: 9000}}, BareFanoutPerS: Spread{Median: 10000}},
		Scale:       &Scale{Calls: 10, Worker: PerCall{After: MemSnap{HeapBytes: 1}, HeapBytes: 20 * 1024}},
	}
	evaluate(r)
	want := map[string]bool{"cmd@64/bare": true, "p50@1 - bare": true, "events/bare fanout": true, "ari@64/cmd": false, "worker heap/call": false}
	for _, tg := range r.Targets {
		if w, ok := want[tg.Name]; ok && (tg.Met != w || !tg.Run) {
			t.Errorf("%s: met=%v run=%v, want met=%v", tg.Name, tg.Met, tg.Run, w)
		}
		if tg.Name == "soak" && tg.Run {
			t.Error("soak evaluated without a soak")
		}
	}
	if r.Summary == "" || r.Summary[:7] != "SUMMARY" {
		t.Fatalf("summary %q", r.Summary)
	}
}
