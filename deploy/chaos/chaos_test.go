package chaos

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type plan struct {
	rate          int
	hold          time.Duration
	before, after time.Duration
	down          time.Duration // how long a killed piece stays away
	endsGrace     time.Duration // how long late call.hangup events may come once settled
}

func planFor() plan {
	if os.Getenv("CALLGW_CHAOS") == "long" {
		p := plan{rate: 100, hold: time.Second, before: 10 * time.Second, after: 15 * time.Second, down: 5 * time.Second, endsGrace: 2 * time.Second}
		if r, err := strconv.Atoi(os.Getenv("CALLGW_CHAOS_RATE")); err == nil && r > 0 {
			p.rate = r
		}
		if d, err := time.ParseDuration(os.Getenv("CALLGW_CHAOS_DOWN")); err == nil && d > 0 {
			p.down = d
		}
		return p
	}
	return plan{rate: 20, hold: 300 * time.Millisecond, before: 1500 * time.Millisecond, after: 3 * time.Second, down: 2 * time.Second, endsGrace: 500 * time.Millisecond}
}

func long(t *testing.T) {
	if os.Getenv("CALLGW_CHAOS") != "long" {
		t.Skip("long fault (CALLGW_CHAOS=long, make chaos)")
	}
}

func onCluster() bool { return strings.Count(os.Getenv("CALLGW_CHAOS_URLS"), ",") >= 2 }

// promise is what a fault's ledger must show.
type promise struct {
	transportOK bool          // requests may get no HTTP answer (the gateway was killed)
	recovery    time.Duration // first success after the fault's end
}

func (p promise) defaults() promise {
	if p.recovery == 0 {
		switch {
		case os.Getenv("CALLGW_CHAOS") == "long":
			// Every fault, on a broker of its own or on the cluster: the
			// first success within 1 s of the faulty part being back
			// (for a cluster node, of its stop).
			p.recovery = time.Second
		default:
			p.recovery = 2 * time.Second // short, on the shared broker of a busy test run
		}
	}
	return p
}

// runFault runs the load, injects the fault (which returns when the fault
// ended: the piece restarted, the broker back), lets the load run on,
// stops it, settles and checks the ledger.
func runFault(t *testing.T, name string, o sysOpts, pr promise, inject func(s *system, p plan) time.Time) {
	p := planFor()
	pr = pr.defaults()
	if o.gateways == 0 {
		o.gateways = 1
	}
	if len(o.nodes) == 0 {
		o.nodes = []string{"pbx1"}
	}
	s := startSystem(t, o)
	l := s.startLoad(p.rate, p.hold)
	time.Sleep(p.before)
	t.Logf("fault injected at %s", time.Now().Format("15:04:05.000"))
	end := inject(s, p)
	t.Logf("fault ended at %s", end.Format("15:04:05.000"))
	time.Sleep(p.after)
	l.stop()
	r := s.check(l, name, end)
	report(t, r)
	if r.pastDeadline != 0 {
		t.Errorf("%d requests answered past their deadline", r.pastDeadline)
	}
	if r.duplicates != 0 {
		t.Errorf("%d Idempotency-Keys with two calls", r.duplicates)
	}
	if r.leaked != 0 {
		t.Errorf("%d calls left alive on the simulators", r.leaked)
	}
	if r.missing != 0 {
		t.Errorf("%d calls without call.hangup", r.missing)
	}
	if r.twoEnds != 0 {
		t.Errorf("%d calls with more than one call.hangup (%d call.hangup for %d calls)", r.twoEnds, r.hangups, r.ended)
	}
	if n := r.errors["transport"]; n > 0 && !pr.transportOK {
		t.Errorf("%d requests got no HTTP answer", n)
	}
	if n := r.errors[""]; n > 0 {
		t.Errorf("%d errors without a code", n)
	}
	if r.firstOK < 0 || r.firstOK > pr.recovery {
		t.Errorf("first success %v after the fault, want <= %v", r.firstOK, pr.recovery)
	}
}

func TestCutWorkerConnections(t *testing.T) {
	needCtl(t, brokerURLs(t)[0])
	runFault(t, "cut the worker's broker connections", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		if n := s.cutConnections("callgw worker"); n == 0 {
			t.Error("no worker connection found to cut")
		}
		return time.Now()
	})
}

func TestCutGatewayConnections(t *testing.T) {
	needCtl(t, brokerURLs(t)[0])
	runFault(t, "cut the gateway's broker connections", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		if n := s.cutConnections("callgw gateway"); n == 0 {
			t.Error("no gateway connection found to cut")
		}
		return time.Now()
	})
}

func TestKillWorker(t *testing.T) {
	runFault(t, "kill -9 the worker, restart it", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		w := s.workers["pbx1"]
		w.stop(syscall.SIGKILL, 5*time.Second)
		w.start()
		return time.Now()
	})
}

func TestKillGateway(t *testing.T) {
	runFault(t, "kill -9 the gateway, restart it", sysOpts{}, promise{transportOK: true}, func(s *system, p plan) time.Time {
		g := s.gws[0]
		g.stop(syscall.SIGKILL, 5*time.Second)
		g.start()
		return time.Now()
	})
}

func TestARIDown(t *testing.T) {
	runFault(t, "ARI server down, back", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		sim := s.sims["pbx1"]
		sim.stop(syscall.SIGKILL, 5*time.Second)
		time.Sleep(p.down)
		sim.start()
		return time.Now()
	})
}

func TestWorkerSIGTERM(t *testing.T) {
	runFault(t, "SIGTERM the worker (drain), restart it", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		w := s.workers["pbx1"]
		w.stop(syscall.SIGTERM, 45*time.Second)
		w.start()
		return time.Now()
	})
}

// TestBrokerRestart restarts a private single broker (never the shared
// one): CALLGW_CHAOS_URLS=amqp://guest:guest@127.0.0.1:5691/ after
// scripts/solo-broker.sh start (another port: CALLGW_SOLO_PORT, for both).
func TestBrokerRestart(t *testing.T) {
	long(t)
	if u := os.Getenv("CALLGW_CHAOS_URLS"); urlPort(u) != soloPort() {
		t.Skip("needs the private broker: scripts/solo-broker.sh start; CALLGW_CHAOS_URLS=amqp://guest:guest@127.0.0.1:5691/")
	}
	// The processes are back within 0.4 s of the port opening, often
	// before start_app returns; the clients that retried meanwhile come
	// all at once, and the gateway and the worker shed what the node
	// cannot place promptly (docs/operations.md, "Recovery").
	runFault(t, "restart the broker", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		if out, err := ctl(t, s.urls[0], "-q", "stop_app"); err != nil {
			t.Fatalf("stop_app: %v %s", err, out)
		}
		time.Sleep(p.down)
		if out, err := ctl(t, s.urls[0], "-q", "start_app"); err != nil {
			t.Fatalf("start_app: %v %s", err, out)
		}
		return time.Now()
	})
}

// stopClusterNode stops broker node i of the cluster for p.down and
// starts it again; the fault's end is its stop (the system must fail over
// without waiting for it).
func stopClusterNode(t *testing.T, s *system, p plan, i int) time.Time {
	if out, err := ctl(t, s.urls[i-1], "-q", "stop_app"); err != nil {
		t.Fatalf("stop_app on node %d: %v %s", i, err, out)
	}
	end := time.Now()
	time.Sleep(p.down)
	if out, err := ctl(t, s.urls[i-1], "-q", "start_app"); err != nil {
		t.Fatalf("start_app on node %d: %v %s", i, err, out)
	}
	return end
}

func TestClusterStopWorkersNode(t *testing.T) {
	long(t)
	if !onCluster() {
		t.Skip("needs make cluster and CALLGW_CHAOS_URLS")
	}
	runFault(t, "stop the worker's cluster node", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		i := s.connectedNode("callgw worker")
		if i == 0 {
			t.Fatal("worker's node not found")
		}
		t.Logf("worker on node %d", i)
		return stopClusterNode(t, s, p, i)
	})
}

func TestClusterStopAnyLeader(t *testing.T) {
	long(t)
	if !onCluster() {
		t.Skip("needs make cluster and CALLGW_CHAOS_URLS")
	}
	runFault(t, "stop the any queue's leader node", sysOpts{}, promise{}, func(s *system, p plan) time.Time {
		out, err := ctl(t, s.urls[0], "-q", "list_queues", "name", "leader", "--formatter", "json")
		if err != nil {
			t.Fatalf("list_queues: %v %s", err, out)
		}
		i := 0
		for _, part := range strings.Split(out, "}") {
			if strings.Contains(part, `"`+s.prefix+`callapi.any"`) {
				for j := 1; j <= 3; j++ {
					if strings.Contains(part, "rabbit-c"+strconv.Itoa(j)+"@") {
						i = j
					}
				}
			}
		}
		if i == 0 {
			t.Fatalf("leader of %scallapi.any not found in %s", s.prefix, out)
		}
		t.Logf("any queue led by node %d", i)
		return stopClusterNode(t, s, p, i)
	})
}
