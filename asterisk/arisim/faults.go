package arisim

import (
	"strings"
	"sync"
	"time"
)

// faults holds the injected failures. It has its own lock so that a slowed request never holds s.mu.
type faults struct {
	mu          sync.Mutex
	refuseUntil time.Time
	fail        []failRule
	slow        []slowRule
	closed      chan struct{}
	closeOnce   sync.Once
}

type failRule struct {
	method, prefix string
	status, n      int
}

type slowRule struct {
	method, prefix string
	d              time.Duration
}

func ruleMatches(ruleMethod, prefix, method, path string) bool {
	return (ruleMethod == "" || strings.EqualFold(ruleMethod, method)) && strings.HasPrefix(path, prefix)
}

func (f *faults) refusing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Before(f.refuseUntil)
}

// match consumes one failure matching the request, if any.
func (f *faults) match(method, path string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.fail {
		r := &f.fail[i]
		if r.n > 0 && ruleMatches(r.method, r.prefix, method, path) {
			r.n--
			st := r.status
			if r.n == 0 {
				f.fail = append(f.fail[:i], f.fail[i+1:]...)
			}
			return st, true
		}
	}
	return 0, false
}

func (f *faults) delay(method, path string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d time.Duration
	for _, r := range f.slow {
		if ruleMatches(r.method, r.prefix, method, path) {
			d = max(d, r.d)
		}
	}
	return d
}

func (f *faults) closedCh() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed == nil {
		f.closed = make(chan struct{})
	}
	return f.closed
}

func (f *faults) closeSlow() {
	ch := f.closedCh()
	f.closeOnce.Do(func() { close(ch) })
}

// normPrefix accepts "/ari/channels" or "/channels" alike.
func normPrefix(p string) string {
	if !strings.HasPrefix(p, "/ari/") && p != "/ari" {
		p = "/ari" + "/" + strings.TrimPrefix(p, "/")
	}
	return p
}

// RefuseFor drops the events WebSockets and refuses every HTTP request (the connection is closed
// without an answer) for d, as an unreachable or restarting Asterisk.
func (s *Server) RefuseFor(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.refuseUntil = time.Now().Add(d)
	s.faults.mu.Unlock()
	s.DropWebSockets()
}

// FailRequests makes the next n requests whose method matches (""= any) and whose path starts
// with pathPrefix ("/ari/channels" or "/channels") fail with status and {"message": …}.
func (s *Server) FailRequests(method, pathPrefix string, status int, n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.fail = append(s.faults.fail, failRule{method: method, prefix: normPrefix(pathPrefix), status: status, n: n})
}

// SlowRequests delays matching requests by d from now on; d <= 0 removes the rule.
func (s *Server) SlowRequests(method, pathPrefix string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	pfx := normPrefix(pathPrefix)
	out := s.faults.slow[:0]
	for _, r := range s.faults.slow {
		if !(r.method == method && r.prefix == pfx) {
			out = append(out, r)
		}
	}
	s.faults.slow = out
	if d > 0 {
		s.faults.slow = append(s.faults.slow, slowRule{method: method, prefix: pfx, d: d})
	}
}

// ClearFaults removes every injected failure, slowdown and refusal.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.fail, s.faults.slow, s.faults.refuseUntil = nil, nil, time.Time{}
}
