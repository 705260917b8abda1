package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// profile takes CPU profiles of gateway and worker while op runs at
// inflight, and writes them (<label>.<process>.cpu.pprof, or without the
// label for the command path's) with their `go tool pprof -top`.
func (b *bench) profile(ctx context.Context, op opFunc, label string, inflight int) error {
	if err := os.MkdirAll(b.o.ProfileDir, 0o755); err != nil {
		return err
	}
	secs := b.o.ProfileSeconds
	b.log.Info("profiling gateway and worker", zap.String("load", label), zap.Int("inflight", inflight), zap.Int("seconds", secs))
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		closedLoop(lctx, inflight, time.Duration(secs+2)*time.Second, 0, opTimeout, op)
	}()
	defer func() { stopLoad(); wg.Wait() }()
	time.Sleep(500 * time.Millisecond)
	targets := map[string]string{"gateway": b.e.gwOps, "worker": b.e.workerOps}
	errs := make(chan error, len(targets))
	if b.res.Profiles == nil {
		b.res.Profiles = map[string]string{}
	}
	var mu sync.Mutex
	for name, base := range targets {
		go func() {
			file := name + ".cpu.pprof"
			if label != "" {
				file = label + "." + file
			}
			path := filepath.Join(b.o.ProfileDir, file)
			pctx, cancel := context.WithTimeout(ctx, time.Duration(secs+15)*time.Second)
			defer cancel()
			body, err := do(pctx, b.e.http, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil, http.StatusOK, "", "")
			if err == nil {
				err = os.WriteFile(path, body, 0o644)
			}
			if err == nil {
				mu.Lock()
				b.res.Profiles[strings.TrimSuffix(file, ".cpu.pprof")] = path
				mu.Unlock()
			}
			errs <- err
		}()
	}
	var all []error
	for range targets {
		all = append(all, <-errs)
	}
	stopLoad()
	wg.Wait()
	if err := errors.Join(all...); err != nil {
		return err
	}
	// The top of each profile, as text beside it (needs the go tool).
	for name, path := range b.res.Profiles {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(tctx, "go", "tool", "pprof", "-top", "-nodecount=40", path).Output()
		cancel()
		if err != nil {
			b.log.Warn("go tool pprof -top failed", zap.String("profile", path), zap.Error(err))
			continue
		}
		_ = os.WriteFile(strings.TrimSuffix(path, ".pprof")+".top.txt", out, 0o644)
		b.log.Info("profile written", zap.String("process", name), zap.String("path", path))
	}
	return nil
}

// heapDiff writes `go tool pprof -top -base <before> <after>` of the heap
// profiles beside them (needs the go tool).
func (b *bench) heapDiff(before, after string) {
	if b.o.ProfileDir == "" {
		return
	}
	for _, proc := range []string{"worker", "gateway"} {
		p0 := filepath.Join(b.o.ProfileDir, proc+"."+before+".heap.pprof")
		p1 := filepath.Join(b.o.ProfileDir, proc+"."+after+".heap.pprof")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-inuse_space", "-nodecount=30", "-base", p0, p1).Output()
		cancel()
		if err != nil {
			b.log.Warn("go tool pprof -base failed", zap.String("process", proc), zap.Error(err))
			continue
		}
		path := filepath.Join(b.o.ProfileDir, proc+"."+before+"-to-"+after+".heap-diff.txt")
		_ = os.WriteFile(path, out, 0o644)
		b.log.Info("heap growth over the soak written", zap.String("process", proc), zap.String("path", path))
	}
}
