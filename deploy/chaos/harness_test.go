package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// repoRoot is the module's root (the chaos package is two levels down:
// deploy/chaos).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// callgwBin builds bin/callgw once per test binary (or takes CALLGW_BIN).
func callgwBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if b := os.Getenv("CALLGW_BIN"); b != "" {
			binPath = b
			return
		}
		dir, err := os.MkdirTemp("", "callgw-chaos-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "callgw")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/callgw")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// brokerURLs are the brokers the suite runs against: CALLGW_CHAOS_URLS (a
// cluster: comma-separated) or the shared test broker.
func brokerURLs(t *testing.T) []string {
	t.Helper()
	u := os.Getenv("CALLGW_CHAOS_URLS")
	if u == "" {
		u = os.Getenv("CALLGW_AMQP_URL")
	}
	if u == "" {
		u = "amqp://guest:guest@127.0.0.1:5672/"
	}
	urls := strings.Split(u, ",")
	testenv.NeedBroker(t, urls[0])
	return urls
}

// keepDir is where the processes write their logs: CALLGW_CHAOS_KEEP (kept
// after the test, to read where a fault's time went) or a temporary one.
func keepDir(t *testing.T) string {
	if d := os.Getenv("CALLGW_CHAOS_KEEP"); d != "" {
		_ = os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// proc is one callgw process of the system under test.
type proc struct {
	t    *testing.T
	name string
	args []string
	env  []string
	log  string // file the process writes its stderr to

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(callgwBin(p.t), p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { // owner: this proc; ends with the process
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
}

// signal sends sig and, unless it is SIGKILL, waits up to wait for the
// process to end (then kills it).
func (p *proc) stop(sig syscall.Signal, wait time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		p.t.Errorf("%s did not end %v after %v: killing it", p.name, wait, sig)
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	p.cmd = nil
	p.mu.Unlock()
}

// system is gateways, workers and simulators as separate processes on one
// deployment prefix, with an HTTP client, an event ledger and the rules to
// cut their broker connections.
type system struct {
	t       *testing.T
	urls    []string
	prefix  string
	dir     string
	sims    map[string]*proc
	simAddr map[string]string
	workers map[string]*proc
	gws     []*proc
	gwAddrs []string
	ledger  *ledger
	http    *http.Client
}

type sysOpts struct {
	nodes     []string
	gateways  int
	heartbeat string // the workers' CALLGW_HEARTBEAT_INTERVAL: 500ms unless set
}

func startSystem(t *testing.T, o sysOpts) *system {
	t.Helper()
	s := &system{
		t: t, urls: brokerURLs(t), prefix: "chaos" + randHex(4) + ".", dir: keepDir(t),
		sims: map[string]*proc{}, simAddr: map[string]string{}, workers: map[string]*proc{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
	}
	t.Cleanup(func() {
		for _, g := range s.gws {
			g.stop(syscall.SIGKILL, 5*time.Second)
		}
		for _, w := range s.workers {
			w.stop(syscall.SIGKILL, 5*time.Second)
		}
		for _, p := range s.sims {
			p.stop(syscall.SIGKILL, 5*time.Second)
		}
		s.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if s.ledger != nil {
			s.ledger.close()
		}
		for _, u := range s.urls {
			if err := amqpbus.DeleteTopology(ctx, u, s.prefix); err == nil {
				break
			}
		}
		if t.Failed() {
			t.Logf("process logs in %s", s.dir)
			for _, f := range []string{"gateway0", "worker-" + o.nodes[0]} {
				b, _ := os.ReadFile(filepath.Join(s.dir, f+".log"))
				if len(b) > 6000 {
					b = b[len(b)-6000:]
				}
				t.Logf("--- %s (tail)\n%s", f, b)
			}
		}
	})
	for _, n := range o.nodes {
		s.simAddr[n] = testenv.FreeAddr(t)
		s.sims[n] = &proc{t: t, name: "sim-" + n, log: filepath.Join(s.dir, "sim-"+n+".log"),
			args: []string{"simulator", "--listen", s.simAddr[n], "--ari-user", "u", "--ari-password", "p", "--node-id", n, "--asterisk-id", n, "--log-level", "warn"}}
		s.sims[n].start()
		s.workers[n] = &proc{t: t, name: "worker-" + n, log: filepath.Join(s.dir, "worker-"+n+".log"), args: []string{"worker"},
			env: []string{
				"CALLGW_AMQP_URL=" + strings.Join(s.urls, ","), "CALLGW_AMQP_PREFIX=" + s.prefix, "CALLGW_NODE_ID=" + n,
				"CALLGW_ARI_URL=http://" + s.simAddr[n] + "/ari", "CALLGW_ARI_USER=u", "CALLGW_ARI_PASSWORD=p",
				"CALLGW_HEARTBEAT_INTERVAL=500ms", "CALLGW_STATE_DIR=" + filepath.Join(s.dir, "state"), "CALLGW_LOG_LEVEL=" + envOr("CALLGW_CHAOS_WKLOG", "info"),
			}}
		if o.heartbeat == "" {
			o.heartbeat = os.Getenv("CALLGW_CHAOS_HEARTBEAT") // e.g. 2s, the default of a deployment
		}
		if o.heartbeat != "" {
			s.workers[n].env = append(s.workers[n].env, "CALLGW_HEARTBEAT_INTERVAL="+o.heartbeat) // the last one counts
		}
	}
	s.ledger = newLedger(t, s.urls, s.prefix)
	for _, n := range o.nodes {
		s.workers[n].start()
	}
	for i := range o.gateways {
		addr := testenv.FreeAddr(t)
		s.gwAddrs = append(s.gwAddrs, addr)
		s.gws = append(s.gws, &proc{t: t, name: fmt.Sprintf("gateway%d", i), log: filepath.Join(s.dir, fmt.Sprintf("gateway%d.log", i)), args: []string{"gateway"},
			env: []string{"CALLGW_AMQP_URL=" + strings.Join(s.urls, ","), "CALLGW_AMQP_PREFIX=" + s.prefix, "CALLGW_HTTP_ADDR=" + addr,
				"CALLGW_LOG_LEVEL=" + envOr("CALLGW_CHAOS_GWLOG", "warn"), "CALLGW_ACCESS_LOG=" + envOr("CALLGW_CHAOS_ACCESS", "errors")}})
		s.gws[i].start()
	}
	for i := range s.gws {
		s.waitServing(i, 30*time.Second)
	}
	return s
}

// waitServing waits until gateway i answers an originate.
func (s *system) waitServing(i int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, _, _ := s.do(i, "GET", "/v1/nodes", "", nil)
		if st == http.StatusOK {
			st, b, _ := s.do(i, "POST", "/v1/calls", `{"to":"Local/answer@callgw-test","wait":"answered"}`, nil)
			if st == http.StatusCreated {
				var c callapi.Call
				_ = json.Unmarshal(b, &c)
				s.do(i, "DELETE", "/v1/calls/"+string(c.ID), "", nil)
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("gateway %d not serving after %v", i, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do sends one request to gateway i; status 0 means no HTTP answer.
func (s *system) do(i int, method, path, body string, hdr map[string]string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.gwAddrs[i%len(s.gwAddrs)]+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// simChannels lists the channels up on node's simulator.
func (s *system) simChannels(n string) ([]string, error) {
	req, _ := http.NewRequest("GET", "http://"+s.simAddr[n]+"/ari/channels", nil)
	req.SetBasicAuth("u", "p")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var chans []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range chans {
		if !strings.HasSuffix(c.Name, ";2") { // the far half of a Local pair
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// ctl runs rabbitmqctl against the broker node that serves url: the
// default node for the shared broker, a node of scripts/cluster.sh or
// scripts/solo-broker.sh otherwise.
func ctl(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var cmd *exec.Cmd
	switch port := urlPort(url); {
	case port >= 5681 && port <= 5689:
		cmd = exec.Command(filepath.Join(repoRoot(), "scripts/cluster.sh"), append([]string{"ctl", fmt.Sprint(port - 5680)}, args...)...)
	case port == soloPort():
		cmd = exec.Command(filepath.Join(repoRoot(), "scripts/solo-broker.sh"), append([]string{"ctl", "1"}, args...)...)
	default:
		cmd = exec.Command("rabbitmqctl", args...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// soloPort is the private single broker's port: CALLGW_SOLO_PORT, as for
// scripts/solo-broker.sh, or 5691.
func soloPort() int {
	if p, err := strconv.Atoi(os.Getenv("CALLGW_SOLO_PORT")); err == nil && p > 0 {
		return p
	}
	return 5691
}

func urlPort(url string) int {
	u, err := amqp.ParseURI(url)
	if err != nil {
		return 0
	}
	return u.Port
}

// conn is one broker connection: its Erlang pid (which names the broker
// node it is on) and its connection_name.
type conn struct{ pid, name string }

var connNameRe = regexp.MustCompile(`\{"connection_name","([^"]*)"\}`)

// ours lists the system's connections whose name starts with namePrefix
// (a callgw process's names end with the deployment prefix: never anyone
// else's).
func (s *system) ours(namePrefix string) []conn {
	tag := strings.TrimSuffix(s.prefix, ".")
	var out []conn
	for _, u := range s.urls {
		txt, err := ctl(s.t, u, "-q", "list_connections", "pid", "client_properties")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(txt, "\n") {
			pid, props, ok := strings.Cut(line, "\t")
			m := connNameRe.FindStringSubmatch(props)
			if !ok || m == nil {
				continue
			}
			if strings.HasPrefix(m[1], namePrefix) && strings.HasSuffix(m[1], " "+tag) {
				out = append(out, conn{pid: strings.TrimSpace(pid), name: m[1]})
			}
		}
		return out // a cluster lists every node's connections
	}
	return out
}

var ctlOK struct {
	once sync.Once
	err  error
}

// needCtl fails (CI=true) or skips the test when rabbitmqctl cannot reach
// the broker: the connection cuts need it.
func needCtl(t *testing.T, url string) {
	t.Helper()
	ctlOK.once.Do(func() {
		if out, err := ctl(t, url, "-q", "ping"); err != nil {
			ctlOK.err = fmt.Errorf("rabbitmqctl: %v %s", err, out)
		}
	})
	if ctlOK.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(ctlOK.err)
		}
		t.Skip(ctlOK.err)
	}
}

// cutConnections closes the system's connections whose name starts with
// namePrefix and returns how many.
func (s *system) cutConnections(namePrefix string) int {
	s.t.Helper()
	n := 0
	for _, c := range s.ours(namePrefix) {
		if out, err := ctl(s.t, s.urls[0], "-q", "close_connection", c.pid, "chaos test"); err != nil {
			s.t.Logf("close_connection %s: %v %s", c.name, err, out)
			continue
		}
		n++
	}
	return n
}

// connectedNode returns the cluster node (1-based) the named connection is
// on, or 0.
func (s *system) connectedNode(namePrefix string) int {
	for _, c := range s.ours(namePrefix) {
		for j := 1; j <= 9; j++ {
			if strings.HasPrefix(c.pid, fmt.Sprintf("<rabbit-c%d@", j)) {
				return j
			}
		}
	}
	return 0
}

// request is one HTTP request of the load, as the ledger keeps it.
type request struct {
	key      string
	op       string // originate, hangup
	start    time.Time
	end      time.Time
	timeout  time.Duration
	status   int
	code     string // problem code, "transport" when no HTTP answer
	callID   callapi.CallID
	answered bool // got an HTTP answer
}

// load runs call lifecycles at a fixed rate until stopped: originate with
// wait=answered and an Idempotency-Key (retried with the same key on
// retryable errors), hold, hang up (retried until 204 or 404).
type load struct {
	s       *system
	rate    int
	hold    time.Duration
	timeout time.Duration

	mu   sync.Mutex
	reqs []request
	keys map[string]callapi.CallID // key -> call id of its 201s
	dups map[string]bool           // keys that got two different call ids

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func (s *system) startLoad(rate int, hold time.Duration) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{s: s, rate: rate, hold: hold, timeout: 3 * time.Second, keys: map[string]callapi.CallID{}, dups: map[string]bool{}, cancel: cancel}
	l.wg.Add(1)
	go func() { // owner: the load; stop ends it
		defer l.wg.Done()
		tk := time.NewTicker(time.Second / time.Duration(rate))
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			l.wg.Add(1)
			go func() { defer l.wg.Done(); l.lifecycle(i) }()
		}
	}()
	return l
}

// stop stops starting lifecycles and waits for the running ones.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *load) record(r request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	if r.op == "originate" && r.status == http.StatusCreated {
		if old, ok := l.keys[r.key]; ok && old != r.callID {
			l.dups[r.key] = true
		}
		l.keys[r.key] = r.callID
	}
}

func (l *load) send(i int, op, method, path, body, key string) request {
	r := request{key: key, op: op, start: time.Now(), timeout: l.timeout}
	hdr := map[string]string{}
	if key != "" && op == "originate" {
		hdr["Idempotency-Key"] = key
	}
	st, b, err := l.s.do(i, method, path, body, hdr)
	r.end = time.Now()
	r.status = st
	if err != nil {
		r.code = "transport"
	} else {
		r.answered = true
		if st >= 400 {
			var p struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(b, &p)
			r.code = p.Code
		}
		if op == "originate" && st == http.StatusCreated {
			var c callapi.Call
			_ = json.Unmarshal(b, &c)
			r.callID = c.ID
		}
	}
	l.record(r)
	return r
}

func retryable(r request) bool {
	return r.code == "transport" || r.status == http.StatusServiceUnavailable || r.status == http.StatusBadGateway || r.status == http.StatusGatewayTimeout
}

func (l *load) lifecycle(i int) {
	key := "k" + randHex(8)
	body := `{"to":"Local/answer@callgw-test","wait":"answered"}`
	path := fmt.Sprintf("/v1/calls?timeout=%dms", l.timeout.Milliseconds())
	budget := time.Now().Add(20 * time.Second)
	var call callapi.CallID
	for attempt := 0; time.Now().Before(budget); attempt++ {
		r := l.send(i+attempt, "originate", "POST", path, body, key)
		if r.status == http.StatusCreated {
			call = r.callID
			break
		}
		if !retryable(r) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	if call == "" {
		return
	}
	time.Sleep(l.hold)
	for attempt := 0; time.Now().Before(budget.Add(20 * time.Second)); attempt++ {
		r := l.send(i+attempt, "hangup", "DELETE", "/v1/calls/"+string(call)+fmt.Sprintf("?timeout=%dms", l.timeout.Milliseconds()), "", "")
		if r.status == http.StatusNoContent || r.status == http.StatusNotFound {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// result is one fault's row of the table in docs/operations.md.
type result struct {
	fault        string
	sent         int
	ok           int
	errors       map[string]int
	pastDeadline int
	duplicates   int
	leaked       int
	missing      int
	ended        int           // calls with at least one call.hangup
	hangups      int           // call.hangup events of those calls
	twoEnds      int           // calls with more than one call.hangup
	firstOK      time.Duration // from the end of the fault to the first success after it
}

func (r result) row() string {
	var codes []string
	for c, n := range r.errors {
		codes = append(codes, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(codes)
	errs := strings.Join(codes, ", ")
	if errs == "" {
		errs = "0"
	}
	perCall := "—"
	if r.ended > 0 {
		perCall = fmt.Sprintf("%.3f", float64(r.hangups)/float64(r.ended))
	}
	return fmt.Sprintf("| %s | %d | %d | %s | %d | %d | %d | %d | %s | %d | %s |", r.fault, r.sent, r.ok, errs, r.pastDeadline, r.duplicates, r.leaked, r.missing,
		perCall, r.twoEnds, r.firstOK.Round(10*time.Millisecond))
}

// check settles the system after the load and fills r from the ledgers.
func (s *system) check(l *load, fault string, faultEnd time.Time) result {
	s.t.Helper()
	r := result{fault: fault, errors: map[string]int{}}
	l.mu.Lock()
	reqs := append([]request(nil), l.reqs...)
	r.duplicates = len(l.dups)
	l.mu.Unlock()
	first := time.Time{}
	for _, q := range reqs {
		r.sent++
		if q.status >= 200 && q.status < 300 || (q.op == "hangup" && q.status == http.StatusNotFound) {
			r.ok++
		} else {
			r.errors[q.code]++
		}
		if q.end.Sub(q.start) > q.timeout+time.Second {
			r.pastDeadline++
			if r.pastDeadline <= 5 {
				s.t.Logf("past its deadline: %s started %v after the fault's end, answered after %v: status %d %s",
					q.op, q.start.Sub(faultEnd).Round(time.Millisecond), q.end.Sub(q.start).Round(time.Millisecond), q.status, q.code)
			}
		}
		if q.op == "originate" && q.status == http.StatusCreated && q.start.After(faultEnd) && (first.IsZero() || q.end.Before(first)) {
			first = q.end
		}
	}
	if !first.IsZero() {
		r.firstOK = first.Sub(faultEnd)
	} else {
		r.firstOK = -1
	}
	// Every call the load created ended: the simulators must be empty and
	// every call announced must have its call.hangup.
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := 0
		for n := range s.sims {
			chans, err := s.simChannels(n)
			if err != nil {
				left = -1
				break
			}
			left += len(chans)
		}
		missing := 0
		for _, id := range s.ledger.calls() {
			created, hungup := 0, 0
			for _, e := range s.ledger.of(id) {
				switch e.Type {
				case callapi.EvCallCreated:
					var d callapi.CreatedData
					if json.Unmarshal(e.Data, &d) == nil && !d.Adopted {
						created++
					}
				case callapi.EvCallHangup:
					hungup++
				}
			}
			if created > 1 {
				r.duplicates++
			}
			if hungup == 0 {
				missing++
				if time.Now().After(deadline) {
					s.t.Logf("call %s has no call.hangup: %v", id, s.ledger.of(id))
				}
			}
		}
		r.leaked, r.missing = left, missing
		if (left == 0 && missing == 0) || time.Now().After(deadline) {
			break
		}
		r.duplicates = len(l.dups)
		time.Sleep(250 * time.Millisecond)
	}
	// A second call.hangup came up to 1.5 s after the first (a restarted
	// worker's walk over its journal): wait for late ones, then count.
	time.Sleep(planFor().endsGrace)
	s.countEnds(&r)
	return r
}

// tableHeader is the header of the table of results (scripts/chaos.sh
// writes the same).
const tableHeader = "| fault | sent | ok | errors by code | past deadline | duplicate calls | leaked calls | missing call.hangup | call.hangup per call | calls with two call.hangup | first success after |"

// report appends r to the file CALLGW_CHAOS_REPORT names (the tables of
// docs/operations.md) and logs it.
func report(t *testing.T, r result) {
	t.Log(tableHeader)
	t.Log(r.row())
	if p := os.Getenv("CALLGW_CHAOS_REPORT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			fmt.Fprintln(f, r.row())
			f.Close()
		}
	}
}

// envOr is the environment variable k, or d when it is empty.
func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
