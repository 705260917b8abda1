package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process the harness started.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process exited
	err     error         // exit status, valid after done
	mu      sync.Mutex
	stopped bool // the harness asked it to stop
}

// supervisor starts child processes and stops every one of them, in
// reverse order of start, whatever happens.
type supervisor struct {
	argv0  []string // the callgw command line prefix, e.g. [bin/callgw]
	env    []string // environment of every child (childEnv), before its own
	logDir string
	onExit func(error) // called when a child exits without being asked to
	mu     sync.Mutex
	procs  []*proc
}

// start runs argv0 + args with env added to the children's environment
// (s.env), stderr and stdout to <logDir>/<name>.log.
func (s *supervisor) start(name string, args []string, env ...string) (*proc, error) {
	return s.startArgv(name, append(append([]string(nil), s.argv0...), args...), env...)
}

// startArgv runs argv (another program than callgw) as start does.
func (s *supervisor) startArgv(name string, argv []string, env ...string) (*proc, error) {
	logPath := filepath.Join(s.logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), s.env...), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a terminal's Ctrl-C reaches only the harness,
	// which then stops the children in order. Pdeathsig kills a child if
	// the harness itself dies without cleaning up (e.g. SIGKILL).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
		p.mu.Lock()
		unexpected := !p.stopped
		p.mu.Unlock()
		if unexpected && s.onExit != nil {
			s.onExit(fmt.Errorf("%s exited unexpectedly (%v); see %s", name, p.err, logPath))
		}
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// pid is the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to end (SIGTERM) and kills it after grace.
func (p *proc) stop(grace time.Duration) error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not stop within %v after SIGTERM: killed", p.name, grace)
}

// stopAll stops every child, last started first.
func (s *supervisor) stopAll(grace time.Duration) error {
	s.mu.Lock()
	ps := s.procs
	s.procs = nil
	s.mu.Unlock()
	var errs []error
	for i := len(ps) - 1; i >= 0; i-- {
		if err := ps[i].stop(grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, the process dies or ctx ends.
func waitHTTP(ctx context.Context, c *http.Client, p *proc, url, user, pass string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
		} else {
			last = err.Error()
		}
		cancel()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s (last: %s): %w; see %s", p.name, url, last, ctx.Err(), p.logPath)
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); see %s", p.name, p.err, p.logPath)
		case <-t.C:
		}
	}
}

// clockTicks is the kernel's USER_HZ, from the auxiliary vector
// (AT_CLKTCK); 100 when it cannot be read.
var clockTicks = func() float64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err == nil {
		for i := 0; i+16 <= len(b); i += 16 {
			k, v := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
			if k == 17 && v > 0 { // AT_CLKTCK
				return float64(v)
			}
		}
	}
	return 100
}()

// cpuSeconds returns utime+stime of pid in seconds: fields 14 and 15 of
// /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return float64(ut+st) / clockTicks, nil
}

// rssBytes returns the resident set size of pid (/proc/<pid>/status).
func rssBytes(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// findBeam returns the pid of RabbitMQ's Erlang VM, or 0: the oldest
// beam.smp process (rabbitmqctl and rabbitmq-diagnostics run short-lived
// beam.smp VMs of their own).
func findBeam() int { return findOldest("beam.smp") }

// findNATS returns the pid of the oldest nats-server process, or 0.
func findNATS() int { return findOldest("nats-server") }

// findOldest returns the pid of the oldest process whose command name
// (/proc/<pid>/comm) is name, or 0.
func findOldest(name string) int {
	ents, _ := os.ReadDir("/proc") // entries read before an error are still good
	best, bestStart := 0, uint64(0)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		start, err := startTime(pid)
		if err == nil && (best == 0 || start < bestStart) {
			best, bestStart = pid, start
		}
	}
	return best
}

// statFields returns the fields of /proc/<pid>/stat after the command
// name (field 3 is the first).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// The command name is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return f, nil
}

// startTime is field 22 of /proc/<pid>/stat: clock ticks after boot.
func startTime(pid int) (uint64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// cpuMeter measures the CPU time of named processes over an interval.
type cpuMeter struct {
	pids  map[string]int
	start map[string]float64
	t0    time.Time
}

func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]float64{}, t0: time.Now()}
	for name, pid := range pids {
		if pid > 0 {
			if s, err := cpuSeconds(pid); err == nil {
				m.start[name] = s
			}
		}
	}
	return m
}

// CPUSplit is the CPU each process used over a measured interval, in
// cores (CPU seconds per wall second), and per request in microseconds.
type CPUSplit struct {
	WallSeconds float64            `json:"wall_seconds"`
	Requests    int64              `json:"requests"`
	Cores       map[string]float64 `json:"cores"`
	USPerReq    map[string]float64 `json:"us_per_request"`
	TotalCores  float64            `json:"total_cores"`
	MachineCPUs int                `json:"machine_cpus"`
}

// stop ends the interval; requests is the number of requests served in it.
func (m *cpuMeter) stop(requests int64, ncpu int) CPUSplit {
	wall := time.Since(m.t0).Seconds()
	out := CPUSplit{WallSeconds: wall, Requests: requests, Cores: map[string]float64{}, USPerReq: map[string]float64{}, MachineCPUs: ncpu}
	for name, pid := range m.pids {
		s0, ok := m.start[name]
		if !ok {
			continue
		}
		s1, err := cpuSeconds(pid)
		if err != nil {
			continue
		}
		out.Cores[name] = (s1 - s0) / wall
		out.TotalCores += (s1 - s0) / wall
		if requests > 0 {
			out.USPerReq[name] = (s1 - s0) / float64(requests) * 1e6
		}
	}
	return out
}
