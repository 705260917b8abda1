package webhook

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/internal/testenv"
)

// TestSenderAgainstRealReceivers: one POST to a real HTTP server on
// loopback for each behaviour a receiver may have; what the attempt
// reports and how long it takes.
func TestSenderAgainstRealReceivers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var streamed atomic.Int64
	for _, c := range []struct {
		name    string
		handler func(int, http.ResponseWriter, *http.Request) bool
		policy  Policy
		status  int
		err     string // "" : delivered
		maxTime time.Duration
	}{
		{name: "ok", status: 200},
		{name: "500", handler: func(_ int, w http.ResponseWriter, _ *http.Request) bool { w.WriteHeader(500); return false },
			status: 500, err: "receiver answered 500"},
		{name: "slow but in time", handler: func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(100 * time.Millisecond); return true },
			status: 200},
		{name: "timeout", handler: func(int, http.ResponseWriter, *http.Request) bool { time.Sleep(2 * time.Second); return true },
			err: "Client.Timeout", maxTime: timeout + 200*time.Millisecond},
		{name: "redirect not followed", handler: func(_ int, w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			return false
		}, status: 307, err: "redirect to \"/elsewhere\" not followed"},
		{name: "refused address", policy: Policy{}, err: "loopback address 127.0.0.1 refused"},
		{name: "refused address, http allowed", policy: Policy{AllowHTTP: true}, err: "loopback address 127.0.0.1 refused"},
		{name: "endless answer read to the limit", handler: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(200)
			buf := make([]byte, 32<<10)
			for range 2048 { // up to 64 MiB, unless the sender hangs up first
				n, err := w.Write(buf)
				streamed.Add(int64(n))
				if err != nil {
					break
				}
			}
			return false
		}, status: 200, maxTime: timeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, c.handler)
			p := c.policy
			if c.policy == (Policy{}) && c.name != "refused address" {
				p = Policy{AllowLoopback: true}
			}
			s := NewSender(p, timeout, 4<<10)
			start := time.Now()
			body := []byte(`{"id":"e1"}`)
			res := s.Post(context.Background(), rc.srv.URL+"/hook", "sub1", "e1", body, []string{"s3cret"})
			took := time.Since(start)
			if res.Status != c.status || (c.err == "") != (res.Err == nil) || (c.err != "" && !strings.Contains(res.Err.Error(), c.err)) {
				t.Fatalf("got status %d, error %v; want %d, %q", res.Status, res.Err, c.status, c.err)
			}
			if c.maxTime > 0 && took > c.maxTime {
				t.Errorf("took %v, want at most %v", took, c.maxTime)
			}
			rc.mu.Lock()
			hits := rc.hits
			rc.mu.Unlock()
			if strings.HasPrefix(c.name, "refused") && hits != 0 {
				t.Fatal("the refused receiver was reached")
			}
			if strings.HasPrefix(c.name, "redirect") && hits != 1 {
				t.Fatalf("%d requests: the redirect was followed", hits)
			}
		})
	}
	if n := streamed.Load(); n > 8<<20 {
		t.Errorf("the receiver wrote %d bytes before the sender hung up: the answer was not limited", n)
	}
}

// TestBackoffSchedule: retries double from RetryBase up to RetryMax, each
// within ±20 % jitter, and the jitter spreads them.
func TestBackoffSchedule(t *testing.T) {
	c := Config{RetryBase: time.Second, RetryMax: 30 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := c.backoff(n)
			if d < want*8/10 || d > want*12/10 {
				t.Fatalf("attempt %d: %v, want %v ± 20 %%", n, d, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays in 50: no jitter", n, len(seen))
		}
	}
}

// TestA500IsRetriedWithBackoffThenDelivered: through the whole pipeline a
// receiver failing its first three attempts gets the event on the fourth,
// the pauses between attempts growing as the schedule says.
func TestA500IsRetriedWithBackoffThenDelivered(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var at []time.Time
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n <= 3 {
			w.WriteHeader(500)
			return false
		}
		return true
	})
	e.subscribe(rc.srv.URL, nil)
	cfg := e.cfg
	cfg.RetryBase, cfg.RetryMax = 100*time.Millisecond, time.Second
	e.start(cfg)
	e.publish("c1", 0, 1)
	testenv.WaitFor(t, "the event", 10*time.Second, func() bool { return len(rc.events()) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("%d attempts, want 4", len(at))
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if gap := at[i+1].Sub(at[i]); gap < want*8/10 {
			t.Errorf("pause %d: %v, want at least %v (backoff %v - 20 %%)", i+1, gap, want*8/10, want)
		}
	}
}

// TestRefusedTargetIsDeadLettered: a subscription whose URL became
// refused (the operator removed the leave for loopback) is never reached:
// its deliveries are retried, then dead.
func TestRefusedTargetIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	s := e.subscribe(rc.srv.URL, nil)
	cfg := e.cfg
	cfg.Policy = Policy{AllowHTTP: true}
	cfg.MaxAge = 300 * time.Millisecond
	e.start(cfg)
	e.publish("c1", 0, 1)
	testenv.WaitFor(t, "dead letter", 10*time.Second, func() bool { return e.count(e.names.Dead(s.ID)) == 1 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.hits != 0 {
		t.Fatal("a refused target was reached")
	}
}

// TestConnectRefusesPrivateAddresses: the dialer's check refuses private,
// link-local, shared and metadata addresses whatever name led to them
// (no receiver can listen on them here: the check is called directly).
func TestConnectRefusesPrivateAddresses(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:443", "172.16.5.4:443", "192.168.1.1:443", "169.254.169.254:80", "[fd00:ec2::254]:80", "[fe80::1]:443", "100.64.0.1:443", "0.0.0.0:443"} {
		if err := (Policy{AllowHTTP: true, AllowLoopback: true}).control("tcp", addr, nil); err == nil {
			t.Errorf("%s allowed", addr)
		}
	}
	if err := (Policy{AllowPrivate: true}).control("tcp", "10.0.0.1:443", nil); err != nil {
		t.Errorf("private allowed by the operator: %v", err)
	}
	if err := (Policy{}).control("tcp", "203.0.113.9:443", nil); err != nil {
		t.Errorf("public address: %v", err)
	}
}
