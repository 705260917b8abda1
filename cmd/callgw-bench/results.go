package main

import (
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Point is one load level of a closed-loop scenario.
type Point struct {
	Inflight   int    `json:"inflight"`
	Rate       Spread `json:"rate_per_s"`
	P50        Spread `json:"p50_ms"`
	P90        Spread `json:"p90_ms"`
	P99        Spread `json:"p99_ms"`
	Requests   int64  `json:"requests"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// contender names one command-path contender: its label in the table, its
// tag in the CPU split (<tag>@64), where its points are and, when not
// every --inflight level, the levels it runs at.
type contender struct {
	label, tag string
	points     *[]Point
	levels     []int
}

// nullLevels are the levels of the null pipeline: those the summary
// compares callgw's contenders with it at.
var nullLevels = []int{1, 64}

// runsAt tells whether c runs at inflight.
func (c contender) runsAt(inflight int) bool {
	return c.levels == nil || slices.Contains(c.levels, inflight)
}

// contenders lists the command-path contenders in the order they run at
// each level and appear in the table.
func (r *Results) contenders() []contender {
	return []contender{
		{"callgw PUT /v1/calls/{id}/variables/X", "callgw_put", &r.CallgwPut, nil},
		{"ari-proxy over NATS, set variable", "ariproxy_nats", &r.AriProxy, nil},
		{"callgw bus client (callapi/bus), set variable", "callgw_bus_put", &r.BusPut, nil},
		{"bare amqp091 RPC", "bare_rpc", &r.BareRPC, nil},
		{"direct ARI POST channels/{id}/variable", "direct_ari_put", &r.DirectARIPut, nil},
		{"callgw GET /v1/calls/{id}", "callgw_get", &r.CallgwGet, nil},
		{"direct ARI GET channels/{id}", "direct_ari_get", &r.DirectARIGet, nil},
		{"null pipeline REST: HTTP → topic, confirms → worker → ARI set → reply-to → HTTP", "null_rest", &r.NullREST, nullLevels},
		{"null pipeline bus: topic, confirms → worker → ARI set → reply-to", "null_bus", &r.NullBus, nullLevels},
	}
}

// Churn is the call-churn scenario.
type Churn struct {
	Inflight      int     `json:"inflight"`
	CallsPerS     Spread  `json:"calls_per_s"`
	P50           Spread  `json:"lifecycle_p50_ms"`
	P99           Spread  `json:"lifecycle_p99_ms"`
	EventsPerCall float64 `json:"events_per_call"`
	Calls         int64   `json:"calls"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

// EventRun is one way of driving events through callgw.
type EventRun struct {
	Driver        string  `json:"driver"`
	Inflight      int     `json:"inflight"`
	EventsPerS    Spread  `json:"events_per_s"`
	ARIEventsPerS Spread  `json:"ari_events_in_per_s"`
	OpsPerS       Spread  `json:"driver_ops_per_s"`
	EventsPerOp   float64 `json:"events_per_op"`
	EventBytes    int     `json:"mean_event_bytes"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

// Events is the events scenario, driven two ways, and its bare twin.
type Events struct {
	ShortCalls     EventRun `json:"short_calls"`
	Playbacks      EventRun `json:"playbacks"`
	BareFanoutPerS Spread   `json:"bare_fanout_per_s"`
}

// PerCall is a process's cost per live call.
type PerCall struct {
	Before     MemSnap `json:"before"`
	After      MemSnap `json:"after"`
	HeapBytes  float64 `json:"heap_bytes_per_call"`
	RSSBytes   float64 `json:"rss_bytes_per_call"`
	Goroutines float64 `json:"goroutines_per_call"`
}

// Scale is the scale scenario.
type Scale struct {
	Calls         int     `json:"calls"`
	LiveAtPeak    float64 `json:"live_calls_reported_by_worker"`
	OriginatePerS float64 `json:"originate_per_s"`
	HangupPerS    float64 `json:"hangup_per_s"`
	Worker        PerCall `json:"worker"`
	Gateway       PerCall `json:"gateway"`
	SimulatorRSS  float64 `json:"simulator_rss_bytes_per_call"`
}

// Soak is the soak scenario.
type Soak struct {
	Calls     int64      `json:"calls"`
	Errors    int64      `json:"errors"`
	CallsPerS float64    `json:"calls_per_s"`
	Worker    [2]MemSnap `json:"worker_before_after"`
	Gateway   [2]MemSnap `json:"gateway_before_after"`
	// After the first half: a cache filling up grows the heap in the
	// first half only; a leak grows it in both.
	WorkerMid  MemSnap `json:"worker_mid"`
	GatewayMid MemSnap `json:"gateway_mid"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	Go       string `json:"go"`
	RabbitMQ string `json:"rabbitmq"`
	Kernel   string `json:"kernel"`
	// LoadAvg is /proc/loadavg at the start and the end of the run: other
	// work on the machine skews every figure.
	LoadAvg [2]string `json:"loadavg_start_end"`
}

// Target is one of issue 7's targets.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Limit  string  `json:"limit"`
	Met    bool    `json:"met"`
	Run    bool    `json:"run"`
	Detail string  `json:"detail"`
}

// Results is the JSON results file.
type Results struct {
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	Mode        string    `json:"mode"`
	Options     options   `json:"options"`
	Machine     Machine   `json:"machine"`
	Prefix      string    `json:"amqp_prefix"`
	CommandB    int       `json:"command_body_bytes"`
	ReplyB      int       `json:"reply_body_bytes"`
	// The command-path contenders, each at every --inflight level, in the
	// order of contenders (and of the table).
	CallgwPut    []Point `json:"callgw_put_variable"`
	AriProxy     []Point `json:"ariproxy_nats_set_variable"`
	BusPut       []Point `json:"callgw_bus_set_variable"`
	BareRPC      []Point `json:"bare_rpc"`
	DirectARIPut []Point `json:"direct_ari_set_variable"`
	CallgwGet    []Point `json:"callgw_get_call"`
	DirectARIGet []Point `json:"direct_ari_get_channel"`
	// The null pipeline (callgw's hops, no logic), REST and bus, at
	// nullLevels only.
	NullREST []Point `json:"null_rest_set_variable"`
	NullBus  []Point `json:"null_bus_set_variable"`
	// AriProxySkipped says why the ari-proxy contender did not run.
	AriProxySkipped string              `json:"ariproxy_skipped,omitempty"`
	CPU             map[string]CPUSplit `json:"cpu_split"`
	Profiles        map[string]string   `json:"profiles,omitempty"`
	Churn           *Churn              `json:"churn,omitempty"`
	Events          *Events             `json:"events,omitempty"`
	Scale           *Scale              `json:"scale,omitempty"`
	Soak            *Soak               `json:"soak,omitempty"`
	Targets         []Target            `json:"targets"`
	Info            []Target            `json:"info"`
	// Floor is each callgw contender against its null pipeline: rate and
	// p50 at 1 and 64 in flight, CPU per request at 64 (floorRatios).
	Floor   []Target `json:"null_floor"`
	Summary string   `json:"summary"`
	Errors  []string `json:"errors,omitempty"`
}

func writeResults(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg[0] = loadavg()
	return m
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
