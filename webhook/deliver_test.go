package webhook

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

func TestDeliversSignedInOrder(t *testing.T) {
	e := newEnv(t)
	e.names.QueueType = QueueTypeQuorum // the production default
	e.cfg.Names = e.names
	rc := newReceiver(t, nil)
	e.subscribe(rc.srv.URL, nil)
	e.start(e.cfg)
	e.publish("c1", 0, 20)
	testenv.WaitFor(t, "20 events", 10*time.Second, func() bool { return len(rc.events()) >= 20 })
	wantInOrder(t, seqs(rc.events()), 20)
}

func TestRetriesA500InOrder(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n <= 3 { // the first three attempts fail
			w.WriteHeader(500)
			return false
		}
		return true
	})
	e.subscribe(rc.srv.URL, nil)
	e.start(e.cfg)
	e.publish("c1", 0, 5)
	testenv.WaitFor(t, "5 events", 10*time.Second, func() bool { return len(seqs(rc.events())) >= 5 })
	wantInOrder(t, seqs(rc.events()), 5)
}

func TestTimeoutAndRedirectAreRetriedThenDead(t *testing.T) {
	for name, h := range map[string]func(int, http.ResponseWriter, *http.Request) bool{
		"timeout": func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(time.Second); return true },
		"redirect": func(_ int, w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return false
		},
		"500": func(_ int, w http.ResponseWriter, _ *http.Request) bool { w.WriteHeader(500); return false },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t, h)
			s := e.subscribe(rc.srv.URL, nil)
			cfg := e.cfg
			cfg.MaxAge = 600 * time.Millisecond
			e.start(cfg)
			e.publish("c1", 0, 1)
			testenv.WaitFor(t, "dead letter", 10*time.Second, func() bool { return e.count(e.names.Dead(s.ID)) == 1 })
			rc.mu.Lock()
			hits := rc.hits
			rc.mu.Unlock()
			if hits < 2 {
				t.Fatalf("%d attempts before the dead letter, want retries", hits)
			}
			if name == "redirect" && len(rc.events()) != 0 {
				t.Fatal("redirect followed")
			}
		})
	}
}

func (e *env) count(q string) int {
	ch, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer ch.Close()
	st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		return -1
	}
	return st.Messages
}

func TestAFailingReceiverDoesNotDelayTheOthers(t *testing.T) {
	e := newEnv(t)
	bad := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(2 * time.Second); return true })
	good := newReceiver(t, nil)
	e.subscribe(bad.srv.URL, nil)
	e.subscribe(good.srv.URL, nil)
	e.start(e.cfg)
	start := time.Now()
	e.publish("c1", 0, 10)
	testenv.WaitFor(t, "good receiver", 10*time.Second, func() bool { return len(good.events()) >= 10 })
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("good receiver took %v behind a slow one", d)
	}
}

// TestKilledMidBurstLosesNothing: two delivery processes run; the one
// delivering is killed (its connection dropped, as a crash) in the middle
// of a burst of three calls' events; the other takes over. Every event
// reaches the receiver at least once, and each call's events arrive in seq
// order (counting each event at its first arrival).
func TestKilledMidBurstLosesNothing(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(time.Millisecond); return true })
	e.subscribe(rc.srv.URL, nil)
	stopFirst := e.start(e.cfg)
	time.Sleep(200 * time.Millisecond) // the first is the active consumer
	e.start(e.cfg)
	const perCall = 100
	calls := []string{"c1", "c2", "c3"}
	go func() {
		for i := 0; i < perCall; i += 10 { // interleaved, as calls' events are
			for _, c := range calls {
				e.publish(c, i, 10)
			}
		}
	}()
	testenv.WaitFor(t, "some deliveries", 10*time.Second, func() bool { return len(rc.events()) >= 40 })
	stopFirst()
	killedAt := len(rc.events())
	sub := e.store.List("")[0].ID
	for deadline := time.Now().Add(30 * time.Second); distinct(rc.events()) < perCall*len(calls); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			have := map[string]bool{}
			for _, ev := range rc.events() {
				have[string(ev.CallID)+"/"+strconv.FormatUint(ev.Seq, 10)] = true
			}
			var missing []string
			for _, c := range calls {
				for i := range perCall {
					if k := c + "/" + strconv.Itoa(i); !have[k] {
						missing = append(missing, k)
					}
				}
			}
			t.Fatalf("%d of %d events (missing %v); queues: intake %d, subscription %d, wait %d, dead %d", distinct(rc.events()), perCall*len(calls), missing,
				e.count(e.names.Intake()), e.count(e.names.Queue(sub)), e.count(e.names.Wait(sub)), e.count(e.names.Dead(sub)))
		}
	}
	got := rc.events()
	if killedAt >= len(got) {
		t.Fatalf("the burst was over (%d of %d) when the first process was killed", killedAt, len(got))
	}
	first := map[string]bool{}
	next := map[string]uint64{}
	for _, ev := range got {
		if first[ev.ID] {
			continue // a redelivery after the kill
		}
		first[ev.ID] = true
		c := string(ev.CallID)
		if ev.Seq != next[c] {
			t.Fatalf("call %s: seq %d arrived when %d was due", c, ev.Seq, next[c])
		}
		next[c]++
	}
	t.Logf("%d events, %d POSTs (%d redelivered); killed after %d", len(first), len(got), len(got)-len(first), killedAt)
}

// distinct counts the distinct event ids.
func distinct(evs []callapi.Event) int {
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.ID] = true
	}
	return len(seen)
}
