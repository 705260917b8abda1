package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// scrape reads the named metrics from a Prometheus text endpoint, each the
// sum of its series (a worker labels its own with its node).
func scrape(ctx context.Context, c *http.Client, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// A worker's metrics carry its node: name{node="…"} value. The
		// series of one name are summed (one per node on a worker).
		name, val, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			j := strings.LastIndex(line, "} ")
			if j < i {
				continue
			}
			name, val, ok = line[:i], line[j+2:], true
		}
		if !ok || !want[name] {
			continue
		}
		if i := strings.IndexByte(val, ' '); i >= 0 { // a timestamp follows
			val = val[:i]
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: metric %s: %w", url, name, err)
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s: no metric %s", url, n)
		}
	}
	return out, nil
}

// forceGC makes the process behind an ops endpoint run a garbage
// collection: /debug/pprof/heap?gc=1 runs one before writing the profile.
func forceGC(ctx context.Context, c *http.Client, opsBase string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opsBase+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/debug/pprof/heap?gc=1: %s", opsBase, resp.Status)
	}
	return nil
}

// Metric names read from the processes.
const (
	mHeap       = "go_memstats_heap_alloc_bytes"
	mRSS        = "process_resident_memory_bytes"
	mGoroutines = "go_goroutines"
	mCalls      = "callgw_ari_calls"
	mEventsIn   = "callgw_ari_events_in_total"
	mEventsPub  = "callgw_ari_events_published_total"
)

// MemSnap is a process's memory and goroutines at one moment, after a GC.
type MemSnap struct {
	HeapBytes  float64 `json:"heap_alloc_bytes"`
	RSSBytes   float64 `json:"rss_bytes"`
	Goroutines float64 `json:"goroutines"`
}

// memSnap forces a GC in the process and reads its heap, RSS and
// goroutines.
func memSnap(ctx context.Context, c *http.Client, opsBase string) (MemSnap, error) {
	if err := forceGC(ctx, c, opsBase); err != nil {
		return MemSnap{}, err
	}
	m, err := scrape(ctx, c, opsBase+"/metrics", mHeap, mRSS, mGoroutines)
	if err != nil {
		return MemSnap{}, err
	}
	return MemSnap{HeapBytes: m[mHeap], RSSBytes: m[mRSS], Goroutines: m[mGoroutines]}, nil
}
