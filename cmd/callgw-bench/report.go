package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// pointAt returns the point at inflight, if measured.
func pointAt(ps []Point, inflight int) (Point, bool) {
	for _, p := range ps {
		if p.Inflight == inflight {
			return p, true
		}
	}
	return Point{}, false
}

// cpuPerRequest is all measured processes' CPU per request of a split,
// in µs.
func cpuPerRequest(c CPUSplit) float64 {
	return ratio(c.TotalCores*c.WallSeconds*1e6, float64(c.Requests))
}

// evaluate checks issue 10's targets (with issue 7's memory and soak
// targets) and writes the summary line.
func evaluate(r *Results) {
	ts := targets(r)
	// Not targets: the GET's figures beside the PUT's, and the simulator's
	// headroom (it must never be what limits the command path).
	info := []Target{
		rateRatio("get@64/bare", "GET", "bare RPC", r.CallgwGet, r.BareRPC, 0),
		cpuRatio(r, "get cpu/req@64 / bare", "callgw_get"),
		rateRatio("ari set@64/put", "direct ARI set variable", "PUT", r.DirectARIPut, r.CallgwPut, 0),
	}
	for i := range info {
		info[i].Limit, info[i].Met = "none", info[i].Run
	}
	r.Targets, r.Info, r.Floor = ts, info, floorRatios(r)
	r.Summary = summary(r, ts, info)
}

// targets evaluates each of the targets, in the summary's order.
func targets(r *Results) []Target {
	// REST pays an HTTP client and server that ari-proxy's library call
	// over NATS does not (docs/performance.md): it is held to ari-proxy's
	// rate; the bus client, on the same ground as ari-proxy, to 1.5 ×.
	t := rateRatio("put@64/ari-proxy", "PUT", "ari-proxy", r.CallgwPut, r.AriProxy, 1)
	if r.AriProxySkipped != "" {
		t.Detail = "ari-proxy over NATS skipped: " + r.AriProxySkipped
	}
	put1, get1 := latencyTargets(r)
	bus := rateRatio("bus put@64/ari-proxy", "bus client set variable", "ari-proxy", r.BusPut, r.AriProxy, 1.5)
	bus1 := Target{Name: "bus put p50@1 / ari-proxy", Limit: "<= 1"}
	if b1, ok1 := p50At(r.BusPut, 1); ok1 {
		if a1, ok2 := p50At(r.AriProxy, 1); ok2 {
			bus1.Run, bus1.Value = true, ratio(b1, a1)
			bus1.Met = bus1.Value <= 1
			bus1.Detail = fmt.Sprintf("bus client %.3f ms vs ari-proxy %.3f ms", b1, a1)
		}
	}
	return []Target{
		bus,
		bus1,
		rateRatio("put@64/bare", "PUT", "bare RPC", r.CallgwPut, r.BareRPC, 0.7),
		t,
		put1,
		get1,
		cpuRatio(r, "put cpu/req@64 / bare", "callgw_put"),
		workerSetCost(r),
		eventsTarget(r),
		heapTarget(r),
		soakTarget(r),
	}
}

// rateAt is the median rate at inflight, if measured and not zero.
func rateAt(ps []Point, n int) (float64, bool) {
	p, ok := pointAt(ps, n)
	return p.Rate.Median, ok && p.Rate.Median > 0
}

// p50At is the median p50 at inflight, if measured and not zero.
func p50At(ps []Point, n int) (float64, bool) {
	p, ok := pointAt(ps, n)
	return p.P50.Median, ok && p.P50.Median > 0
}

// rateRatio is a target or an info figure: a's rate over b's at 64.
func rateRatio(name, aName, bName string, a, b []Point, min float64) Target {
	return rateRatioAt(name, aName, bName, a, b, 64, min)
}

// rateRatioAt is a's rate over b's at n in flight, at least min.
func rateRatioAt(name, aName, bName string, a, b []Point, n int, min float64) Target {
	t := Target{Name: name, Limit: fmt.Sprintf(">= %g", min)}
	ra, ok1 := rateAt(a, n)
	rb, ok2 := rateAt(b, n)
	if t.Run = ok1 && ok2; t.Run {
		t.Value = ratio(ra, rb)
		t.Met = t.Value >= min
		t.Detail = fmt.Sprintf("%s %.0f/s vs %s %.0f/s", aName, ra, bName, rb)
	}
	return t
}

// p50RatioAt is a's p50 over b's at n in flight, at most max.
func p50RatioAt(name, aName, bName string, a, b []Point, n int, max float64) Target {
	t := Target{Name: name, Limit: fmt.Sprintf("<= %g", max)}
	pa, ok1 := p50At(a, n)
	pb, ok2 := p50At(b, n)
	if t.Run = ok1 && ok2; t.Run {
		t.Value = ratio(pa, pb)
		t.Met = t.Value <= max
		t.Detail = fmt.Sprintf("%s %.3f ms vs %s %.3f ms", aName, pa, bName, pb)
	}
	return t
}

// cpuRatio is all processes' CPU per command of contender tag, against
// the bare loop's per round trip: the figure that holds when other work
// takes CPU from the run.
func cpuRatio(r *Results, name, tag string) Target {
	return cpuRatioOf(r, name, tag, "bare_rpc", 2)
}

// cpuRatioOf is all processes' CPU per request at 64 in flight of
// contender tag over base's, at most max.
func cpuRatioOf(r *Results, name, tag, base string, max float64) Target {
	t := Target{Name: name, Limit: fmt.Sprintf("<= %g", max)}
	c, okc := r.CPU[tag+"@64"]
	bc, okb := r.CPU[base+"@64"]
	if t.Run = okc && okb && c.Requests > 0 && bc.Requests > 0; t.Run {
		t.Value = ratio(cpuPerRequest(c), cpuPerRequest(bc))
		t.Met = t.Value <= max
		t.Detail = fmt.Sprintf("%.0f µs vs %.0f µs of CPU per request, all processes", cpuPerRequest(c), cpuPerRequest(bc))
	}
	return t
}

// floorPair is a callgw contender and its null pipeline: the same hops
// with no logic, one message per request, the floor of the design.
type floorPair struct {
	name, label, tag string // "put", "PUT", "callgw_put"
	points           []Point
	nullName, null   string // "null REST", "null_rest"
	nullPoints       []Point
}

// floorPairs are the REST contenders against the null REST pipeline and
// the bus client against the null bus pipeline.
func floorPairs(r *Results) []floorPair {
	return []floorPair{
		{"put", "PUT", "callgw_put", r.CallgwPut, "null REST", "null_rest", r.NullREST},
		{"get", "GET", "callgw_get", r.CallgwGet, "null REST", "null_rest", r.NullREST},
		{"bus put", "bus client", "callgw_bus_put", r.BusPut, "null bus", "null_bus", r.NullBus},
	}
}

// floorRatios are figures, not targets: each pair's rate and p50 at 1 and
// 64 in flight and its CPU per request at 64, over the null pipeline's.
// A rate ratio over 1 or a p50 or CPU ratio under 1 is below the floor:
// batching can do that, one message per request cannot.
func floorRatios(r *Results) []Target {
	var out []Target
	for _, p := range floorPairs(r) {
		pre := p.name + "/" + p.nullName + " "
		for _, n := range nullLevels {
			out = append(out,
				rateRatioAt(fmt.Sprintf("%srate@%d", pre, n), p.label, p.nullName, p.points, p.nullPoints, n, 0),
				p50RatioAt(fmt.Sprintf("%sp50@%d", pre, n), p.label, p.nullName, p.points, p.nullPoints, n, 0))
		}
		out = append(out, cpuRatioOf(r, pre+"cpu/req@64", p.tag, p.null, 0))
	}
	for i := range out {
		out[i].Limit, out[i].Met = "none", out[i].Run
	}
	return out
}

// floorSummary is the summary's part on the null pipeline: per pair, the
// ratios that ran.
func floorSummary(r *Results) string {
	var groups []string
	for _, p := range floorPairs(r) {
		pre := p.name + "/" + p.nullName + " "
		var vs []string
		for _, t := range r.Floor {
			if rest, ok := strings.CutPrefix(t.Name, pre); ok && t.Run {
				vs = append(vs, fmt.Sprintf("%s %.2f", rest, t.Value))
			}
		}
		if len(vs) > 0 {
			groups = append(groups, strings.TrimSpace(pre)+": "+strings.Join(vs, ", "))
		}
	}
	if len(groups) == 0 {
		return ""
	}
	return "(× the null pipeline, the floor: " + strings.Join(groups, "; ") + ")"
}

// latencyTargets are PUT's and GET's p50 at 1 in flight over their
// ceilings: the bare loop (plus, for PUT, setting the variable over ARI).
func latencyTargets(r *Results) (put, get Target) {
	put = Target{Name: "put p50@1 - (bare + ARI set)", Limit: "<= +0.25 ms"}
	put1, ok1 := p50At(r.CallgwPut, 1)
	bare1, ok2 := p50At(r.BareRPC, 1)
	ariPut1, ok3 := p50At(r.DirectARIPut, 1)
	if put.Run = ok1 && ok2 && ok3; put.Run {
		put.Value = put1 - bare1 - ariPut1
		put.Met = put.Value <= 0.25
		put.Detail = fmt.Sprintf("PUT %.3f ms vs bare RPC %.3f ms + direct ARI set variable %.3f ms", put1, bare1, ariPut1)
	}
	get = Target{Name: "get p50@1 - bare", Limit: "<= +0.25 ms"}
	get1, ok1 := p50At(r.CallgwGet, 1)
	if get.Run = ok1 && ok2; get.Run {
		get.Value = get1 - bare1
		get.Met = get.Value <= 0.25
		get.Detail = fmt.Sprintf("GET %.3f ms vs bare RPC %.3f ms", get1, bare1)
	}
	return put, get
}

// eventsTarget is the playbacks' event rate over the bare fanout's.
func eventsTarget(r *Results) Target {
	t := Target{Name: "events/bare fanout", Limit: ">= 0.5"}
	if t.Run = r.Events != nil && r.Events.BareFanoutPerS.Median > 0; t.Run {
		ev := r.Events
		t.Value = ratio(ev.Playbacks.EventsPerS.Median, ev.BareFanoutPerS.Median)
		t.Met = t.Value >= 0.5
		t.Detail = fmt.Sprintf("playbacks %.0f/s (short calls %.0f/s, %.2f×) vs %.0f/s", ev.Playbacks.EventsPerS.Median,
			ev.ShortCalls.EventsPerS.Median, ratio(ev.ShortCalls.EventsPerS.Median, ev.BareFanoutPerS.Median), ev.BareFanoutPerS.Median)
	}
	return t
}

// heapTarget is the worker's heap per live call in the scale scenario.
func heapTarget(r *Results) Target {
	t := Target{Name: "worker heap/call", Limit: "<= 16 KiB"}
	if t.Run = r.Scale != nil && r.Scale.Worker.After.HeapBytes > 0; t.Run {
		t.Value = r.Scale.Worker.HeapBytes / 1024
		t.Met = t.Value <= 16
		t.Detail = fmt.Sprintf("%d calls", r.Scale.Calls)
	}
	return t
}

// soakTarget is the soak's growth of goroutines and heap, worker and
// gateway.
func soakTarget(r *Results) Target {
	t := Target{Name: "soak", Limit: "goroutines ±5, heap ±10 %"}
	if t.Run = r.Soak != nil && r.Soak.Worker[1].HeapBytes > 0 && r.Soak.Gateway[1].HeapBytes > 0; t.Run {
		s := r.Soak
		dgw := s.Gateway[1].Goroutines - s.Gateway[0].Goroutines
		dwk := s.Worker[1].Goroutines - s.Worker[0].Goroutines
		hgw := ratio(s.Gateway[1].HeapBytes, s.Gateway[0].HeapBytes) - 1
		hwk := ratio(s.Worker[1].HeapBytes, s.Worker[0].HeapBytes) - 1
		t.Value = math.Max(math.Abs(hgw), math.Abs(hwk)) * 100
		t.Met = math.Abs(dgw) <= 5 && math.Abs(dwk) <= 5 && math.Abs(hgw) <= 0.10 && math.Abs(hwk) <= 0.10
		t.Detail = fmt.Sprintf("%d calls; goroutines Δ worker %+.0f gateway %+.0f; heap worker %+.1f%% gateway %+.1f%% (second half: %+.1f%%, %+.1f%%)", s.Calls, dwk, dgw, hwk*100, hgw*100,
			(ratio(s.Worker[1].HeapBytes, s.WorkerMid.HeapBytes)-1)*100, (ratio(s.Gateway[1].HeapBytes, s.GatewayMid.HeapBytes)-1)*100)
	}
	return t
}

// summary is the one line that ends the report: each target's verdict,
// then the info figures.
func summary(r *Results, ts, info []Target) string {
	var parts []string
	met, run := 0, 0
	for _, t := range ts {
		if !t.Run {
			if t.Name == "put@64/ari-proxy" && r.AriProxySkipped != "" {
				parts = append(parts, t.Name+" not run (ari-proxy skipped: no NATS or no binary, see above)")
				continue
			}
			parts = append(parts, t.Name+" not run")
			continue
		}
		run++
		verdict := "MISSED"
		if t.Met {
			verdict = "met"
			met++
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s %s)", t.Name, fmtTarget(t), t.Limit, verdict))
	}
	var inf []string
	for _, t := range info {
		if t.Run {
			inf = append(inf, fmt.Sprintf("%s %.2f", t.Name, t.Value))
		}
	}
	if len(inf) > 0 {
		parts = append(parts, "(info: "+strings.Join(inf, ", ")+")")
	}
	if f := floorSummary(r); f != "" {
		parts = append(parts, f)
	}
	return fmt.Sprintf("SUMMARY [%s] %d/%d targets met: %s", r.Mode, met, run, strings.Join(parts, " | "))
}

// fmtTarget is a target's value as the summary shows it.
func fmtTarget(t Target) string {
	switch {
	case strings.Contains(t.Name, "p50@1") && strings.HasPrefix(t.Limit, "<= +"):
		return fmt.Sprintf("%+.3f ms", t.Value)
	case t.Name == "worker cpu put-get@64":
		return fmt.Sprintf("%.0f µs", t.Value)
	case t.Name == "worker heap/call":
		return fmt.Sprintf("%.1f KiB", t.Value)
	case t.Name == "soak":
		return t.Detail[strings.Index(t.Detail, ";")+2:]
	default:
		return fmt.Sprintf("%.2f", t.Value)
	}
}

func fmtSpread(s Spread, prec int) string {
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, s.Median, prec, s.Min, prec, s.Max)
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// printReport writes the results table and, last, the summary line.
func printReport(w io.Writer, r *Results) {
	printHeader(w, r)
	printLoad(w, r)
	printFloor(w, r)
	if len(r.CPU) > 0 {
		printCPUSplit(w, r.CPU)
	}
	if s := r.Scale; s != nil && s.Worker.After.HeapBytes > 0 {
		printScale(w, s)
	}
	if s := r.Soak; s != nil && s.Worker[1].HeapBytes > 0 {
		printSoak(w, s)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "ERROR %s\n", e)
	}
	fmt.Fprintf(w, "wall time %.1f s\n", r.WallSeconds)
	fmt.Fprintln(w, r.Summary)
}

// printHeader writes the run's machine, settings and payloads.
func printHeader(w io.Writer, r *Results) {
	fmt.Fprintf(w, "\ncallgw-bench %s run, %s: %d CPUs %s, %s RAM, %s, RabbitMQ %s; %d reps × %v after %v warm-up; median (min–max)\n",
		r.Mode, r.Started.Format("2006-01-02 15:04 UTC"), r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotal, r.Machine.Go, r.Machine.RabbitMQ,
		r.Options.Reps, r.Options.Duration, r.Options.Warmup)
	fmt.Fprintf(w, "command path: PUT sets %s on existing calls (REST → gateway → RabbitMQ → worker → ARI), GET is answered by the worker; bare RPC payloads: command %d B, reply %d B (call.get); load average at start %s, at end %s\n",
		benchVar, r.CommandB, r.ReplyB, r.Machine.LoadAvg[0], r.Machine.LoadAvg[1])
	fmt.Fprintln(w, "null pipeline: callgw's hops and no logic, one message per request, at 1 and 64 in flight: the same PUT to an HTTP front (null REST), or from this process (null bus) → topic exchange, mandatory, confirmed → null worker → ARI set variable → direct reply-to")
	if r.AriProxySkipped != "" {
		fmt.Fprintf(w, "ari-proxy over NATS: SKIPPED: %s\n", r.AriProxySkipped)
	}
	fmt.Fprintln(w)
}

// printLoad writes the table of the load scenarios (command path, churn,
// events) and the lines that detail churn and events.
func printLoad(w io.Writer, r *Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tin flight\trate /s\tp50 ms\tp90 ms\tp99 ms\terrors")
	for _, c := range r.contenders() {
		for _, p := range *c.points {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", c.label, p.Inflight, fmtSpread(p.Rate, 0), fmtSpread(p.P50, 3), fmtSpread(p.P90, 3), fmtSpread(p.P99, 3), p.Errors)
		}
	}
	if c := r.Churn; c != nil {
		fmt.Fprintf(tw, "call churn (calls/s)\t%d\t%s\t%s\t\t%s\t%d\n", c.Inflight, fmtSpread(c.CallsPerS, 0), fmtSpread(c.P50, 2), fmtSpread(c.P99, 2), c.Errors)
	}
	if ev := r.Events; ev != nil {
		for _, x := range []EventRun{ev.ShortCalls, ev.Playbacks} {
			fmt.Fprintf(tw, "events/s, %s → bound queue\t%d\t%s\t\t\t\t%d\n", x.Driver, x.Inflight, fmtSpread(x.EventsPerS, 0), x.Errors)
		}
		fmt.Fprintf(tw, "events/s, bare publish → fanout → consume\t\t%s\t\t\t\t\n", fmtSpread(ev.BareFanoutPerS, 0))
	}
	tw.Flush()
	if c := r.Churn; c != nil {
		fmt.Fprintf(w, "churn: %.1f events consumed per call\n", c.EventsPerCall)
	}
	if ev := r.Events; ev != nil {
		for _, x := range []EventRun{ev.ShortCalls, ev.Playbacks} {
			fmt.Fprintf(w, "events, %s: %s ops/s, %.1f events per op, %d B each; ARI events into the worker %s /s\n",
				x.Driver, fmtSpread(x.OpsPerS, 0), x.EventsPerOp, x.EventBytes, fmtSpread(x.ARIEventsPerS, 0))
		}
	}
}

// printFloor writes each callgw contender against its null pipeline.
func printFloor(w io.Writer, r *Results) {
	if len(r.NullREST) == 0 && len(r.NullBus) == 0 {
		return
	}
	fmt.Fprintln(w, "\nagainst the null pipeline, callgw's hops with no logic (× its figure; rate > 1, p50 or CPU < 1: below the floor, by batching):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\trate@1\tp50@1\trate@64\tp50@64\tCPU/req@64")
	for _, p := range floorPairs(r) {
		pre := p.name + "/" + p.nullName + " "
		row := []string{p.label + " / " + p.nullName}
		for _, col := range []string{"rate@1", "p50@1", "rate@64", "p50@64", "cpu/req@64"} {
			v := "–"
			for _, t := range r.Floor {
				if t.Name == pre+col && t.Run {
					v = fmt.Sprintf("%.2f", t.Value)
				}
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// printCPUSplit writes the CPU split table: one row per measured load,
// one column per process some row has.
func printCPUSplit(w io.Writer, cpu map[string]CPUSplit) {
	fmt.Fprintln(w, "\nCPU split (cores used; µs of CPU per request, or per event for events_*):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var procs []string // the columns some row has
	for _, p := range []string{"gateway", "worker", "null front", "null worker", "simulator", "rabbitmq", "ari-proxy", "ari-proxy client", "nats", "loadgen"} {
		for _, c := range cpu {
			if _, ok := c.Cores[p]; ok {
				procs = append(procs, p)
				break
			}
		}
	}
	fmt.Fprintf(tw, "\t%s\ttotal\tper request\n", strings.Join(procs, "\t"))
	keys := make([]string, 0, len(cpu))
	for k := range cpu {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := cpu[k]
		row := []string{k}
		for _, p := range procs {
			if v, ok := c.Cores[p]; ok {
				row = append(row, fmt.Sprintf("%.2f (%.0f µs)", v, c.USPerReq[p]))
			} else {
				row = append(row, "–")
			}
		}
		row = append(row, fmt.Sprintf("%.2f of %d", c.TotalCores, c.MachineCPUs), fmt.Sprintf("%.0f µs", cpuPerRequest(c)))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// printScale writes the cost of a live call, worker and gateway.
func printScale(w io.Writer, s *Scale) {
	fmt.Fprintf(w, "\nscale: %d calls up (worker reports %.0f live); originate %.0f/s, hang-up %.0f/s\n", s.Calls, s.LiveAtPeak, s.OriginatePerS, s.HangupPerS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "per live call\theap\tRSS\tgoroutines\theap before→after")
	for _, x := range []struct {
		name string
		p    PerCall
	}{{"worker", s.Worker}, {"gateway", s.Gateway}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.1f→%.1f MiB\n", x.name, kib(x.p.HeapBytes), kib(x.p.RSSBytes), x.p.Goroutines, x.p.Before.HeapBytes/(1<<20), x.p.After.HeapBytes/(1<<20))
	}
	fmt.Fprintf(tw, "simulator\t\t%s\t\t\n", kib(s.SimulatorRSS))
	tw.Flush()
}

// printSoak writes the soak's goroutines and heap at start, half and end.
func printSoak(w io.Writer, s *Soak) {
	fmt.Fprintf(w, "\nsoak: %d lifecycles at %.0f/s, %d errors\n", s.Calls, s.CallsPerS, s.Errors)
	for _, x := range []struct {
		name string
		m    [2]MemSnap
		mid  MemSnap
	}{{"worker", s.Worker, s.WorkerMid}, {"gateway", s.Gateway, s.GatewayMid}} {
		fmt.Fprintf(w, "  %-8s goroutines %.0f → %.0f → %.0f, heap %.2f → %.2f → %.2f MiB (start → half → end: %+.1f %% overall, %+.1f %% in the second half)\n",
			x.name, x.m[0].Goroutines, x.mid.Goroutines, x.m[1].Goroutines,
			x.m[0].HeapBytes/(1<<20), x.mid.HeapBytes/(1<<20), x.m[1].HeapBytes/(1<<20),
			(ratio(x.m[1].HeapBytes, x.m[0].HeapBytes)-1)*100, (ratio(x.m[1].HeapBytes, x.mid.HeapBytes)-1)*100)
	}
}

// workerSetCostMax is the most a PUT may cost the worker above a GET, in
// µs of CPU at 64 in flight: half of the 74 µs (114 − 40) of the run
// before the worker's ARI path was reworked (performance-history.md A.5).
const workerSetCostMax = 37

// workerSetCost is the worker's CPU per PUT minus its CPU per GET at 64 in
// flight: what a command that reaches Asterisk (its ARI request, and the
// event Asterisk sends back for it) costs the worker beyond the bus.
func workerSetCost(r *Results) Target {
	t := Target{Name: "worker cpu put-get@64", Limit: fmt.Sprintf("<= %d µs", workerSetCostMax)}
	put, ok1 := r.CPU["callgw_put@64"]
	get, ok2 := r.CPU["callgw_get@64"]
	if !ok1 || !ok2 {
		return t
	}
	p, okp := put.USPerReq["worker"]
	g, okg := get.USPerReq["worker"]
	if t.Run = okp && okg && put.Requests > 0 && get.Requests > 0; t.Run {
		t.Value = p - g
		t.Met = t.Value <= workerSetCostMax
		t.Detail = fmt.Sprintf("worker %.0f µs per PUT, %.0f µs per GET", p, g)
	}
	return t
}
