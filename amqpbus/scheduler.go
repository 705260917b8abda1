package amqpbus

import (
	"context"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
)

// scheduler runs tasks with bounded concurrency; tasks of one call (or
// bridge) run one at a time in submission order, each call in its lane.
// Lanes run on a pool of runner goroutines that stay alive for a while
// when idle (their stacks already grown), so a command does not pay for a
// new goroutine.
type scheduler struct {
	mu      sync.Mutex
	lanes   map[string]*lane
	sem     chan struct{}
	active  sync.WaitGroup // tasks submitted and not finished
	runners sync.WaitGroup // runner goroutines
	work    chan job       // hand-off to an idle runner
	quit    chan struct{}
	once    sync.Once
	run     func(*task)
}

type lane struct{ q []*task }

type job struct {
	t   *task
	l   *lane // nil: no lane
	key string
}

// runnerIdle is how long an idle runner waits for work before it exits.
const runnerIdle = 10 * time.Second

func newScheduler(n int, run func(*task)) *scheduler {
	return &scheduler{lanes: make(map[string]*lane), sem: make(chan struct{}, n),
		work: make(chan job), quit: make(chan struct{}), run: run}
}

func laneKey(cmd *callapi.Command) string {
	switch {
	case cmd.CallID != "":
		return "call\x00" + cmd.Tenant + "\x00" + string(cmd.CallID)
	case cmd.BridgeID != "":
		return "bridge\x00" + cmd.Tenant + "\x00" + string(cmd.BridgeID)
	}
	return ""
}

// submit queues t behind the running tasks of its call, or starts it when
// a slot is free (blocking the caller, a dispatcher, until then: with the
// prefetch this is the back-pressure to the broker).
func (s *scheduler) submit(t *task) {
	j := job{t: t, key: laneKey(t.cmd)}
	if j.key != "" {
		s.mu.Lock()
		if cur, ok := s.lanes[j.key]; ok {
			cur.q = append(cur.q, t)
			s.mu.Unlock()
			return
		}
		j.l = &lane{}
		s.lanes[j.key] = j.l
		s.active.Add(1) // counted at once so wait sees the lane
		s.mu.Unlock()
	} else {
		s.active.Add(1)
	}
	s.sem <- struct{}{}
	select {
	case s.work <- j: // an idle runner took it
	default:
		s.runners.Add(1)
		go s.runner(j) // owner: the scheduler (close waits for it)
	}
}

func (s *scheduler) runner(j job) {
	defer s.runners.Done()
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		s.do(j)
		idle.Reset(runnerIdle)
		select {
		case j = <-s.work:
		case <-idle.C:
			return
		case <-s.quit:
			return
		}
	}
}

// do runs j's task, then the rest of its lane.
func (s *scheduler) do(j job) {
	defer s.active.Done()
	defer func() { <-s.sem }()
	s.run(j.t)
	if j.l == nil {
		return
	}
	for {
		s.mu.Lock()
		if len(j.l.q) == 0 {
			delete(s.lanes, j.key)
			s.mu.Unlock()
			return
		}
		next := j.l.q[0]
		j.l.q[0] = nil
		j.l.q = j.l.q[1:]
		s.mu.Unlock()
		s.run(next)
	}
}

// wait waits for every task, or until ctx ends (false).
func (s *scheduler) wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }() // ends when the tasks end
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// close stops the idle runners and waits for them (after wait).
func (s *scheduler) close() {
	s.once.Do(func() { close(s.quit) })
	s.runners.Wait()
}
