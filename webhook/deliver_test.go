package webhook

import (
	"net/http"
	"testing"
	"time"

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

func TestKilledMidBurstLosesNothing(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(2 * time.Millisecond); return true })
	e.subscribe(rc.srv.URL, nil)
	stop := e.start(e.cfg)
	e.publish("c1", 0, 300)
	testenv.WaitFor(t, "some deliveries", 10*time.Second, func() bool { return len(rc.events()) >= 30 })
	stop()
	e.start(e.cfg)
	deadline := time.Now().Add(30 * time.Second)
	for len(seqs(rc.events())) < 300 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := seqs(rc.events()); len(got) != 300 {
		t.Fatalf("got %d distinct events of 300 (%d POSTs); queue holds %d", len(got), len(rc.events()), e.count(e.names.Queue(e.store.List("")[0].ID)))
	}
}
