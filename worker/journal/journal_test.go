package journal

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

func cmdOf(id string) *callapi.Command {
	return &callapi.Command{ID: id, Tenant: "acme", Action: callapi.ActCallOriginate, CallID: callapi.CallIDFor(id), IdempotencyKey: "k-" + id}
}

func open(t *testing.T, path, boot string) *Journal {
	t.Helper()
	j, err := Open(path, time.Hour, boot)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// The journal's contract, in memory and on disk: a command is begun once;
// a copy gets the record; a transient failure is forgotten; how the call
// ended is kept; on disk all of it survives a reopen by another process,
// where a record left running reads as interrupted.
func TestJournal(t *testing.T) {
	inEachStore(t, func(t *testing.T, path string, durable bool) {
		j := open(t, path, "boot1")
		ok, failed, transient, crashed := cmdOf("ok"), cmdOf("failed"), cmdOf("transient"), cmdOf("crashed")
		for _, c := range []*callapi.Command{ok, failed, transient, crashed} {
			if rec, err := j.Begin(c); err != nil || rec != nil {
				t.Fatalf("Begin %s: %+v %v", c.ID, rec, err)
			}
		}
		if rec, _ := j.Begin(ok); rec == nil || !j.RunningHere(rec) {
			t.Fatalf("second Begin while running: %+v", rec)
		}
		if rec, _ := j.Get("acme", "ok"); rec == nil || !j.RunningHere(rec) {
			t.Fatalf("Get while running: %+v", rec)
		}
		okRep := callapi.OKReply("ok", "pbx1", callapi.Call{ID: ok.CallID, State: callapi.StateUp})
		must(t, j.Finish(ok, okRep))
		must(t, j.Finish(failed, callapi.ErrReply("failed", "pbx1", callapi.Errorf(callapi.CodeInvalidArgument, "bad endpoint"))))
		must(t, j.Finish(transient, callapi.ErrReply("transient", "pbx1", callapi.Errorf(callapi.CodePBXError, "asterisk unreachable"))))
		must(t, j.Ended(ok.CallID, callapi.Hangup{Cause: 16, CauseText: "Normal Clearing"}))
		must(t, j.Ended("unknown-call", callapi.Hangup{Cause: 16})) // ignored

		check := func(j *Journal, reopened bool) {
			t.Helper()
			rec, err := j.Begin(ok)
			if err != nil || rec == nil || rec.State != Done || !rec.Reply.OK || rec.Hangup == nil || rec.Hangup.Cause != 16 {
				t.Fatalf("ok: %+v %v", rec, err)
			}
			if rec, _ := j.Begin(failed); rec == nil || rec.Reply.OK || rec.Reply.Error.Code != callapi.CodeInvalidArgument {
				t.Fatalf("failed: %+v", rec)
			}
			if rec, _ := j.Get("acme", "transient"); rec != nil {
				t.Fatalf("transient failure remembered: %+v", rec)
			}
			if rec, _ := j.Get("beta", "ok"); rec != nil {
				t.Fatalf("other tenant sees the record: %+v", rec)
			}
			if reopened {
				rec, _ := j.Get("acme", "crashed")
				if rec == nil || rec.State != Running || j.RunningHere(rec) {
					t.Fatalf("interrupted record after reopen: %+v", rec)
				}
				must(t, j.Settle(rec, callapi.ErrReply("crashed", "pbx1", callapi.Errorf(callapi.CodeConflict, "interrupted"))))
				if rec, _ := j.Get("acme", "crashed"); rec == nil || rec.State != Done {
					t.Fatalf("settled: %+v", rec)
				}
			}
		}
		check(j, false)
		if !durable {
			return
		}
		if _, err := Open(path, time.Hour, "boot2"); !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open of a held journal: %v, want ErrLocked", err)
		}
		must(t, j.Close())
		j2 := open(t, path, "boot2")
		defer j2.Close()
		check(j2, true)
		if j2.Len() != 3 {
			t.Fatalf("Len %d, want 3", j2.Len())
		}
		j2.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if n, err := j2.Prune(); err != nil || n != 3 {
			t.Fatalf("Prune = %d, %v", n, err)
		}
		if rec, _ := j2.Get("acme", "ok"); rec != nil {
			t.Fatalf("pruned record still there: %+v", rec)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRunPruning: the pruning loop deletes finished records once they are
// older than the window, a tenth of the window after at the latest, reports
// the pass, and stops with its context. The interval is a tenth of the
// window, at most 10 minutes; no window is DefaultWindow.
func TestRunPruning(t *testing.T) {
	j, err := Open("", 300*time.Millisecond, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if got := j.PruneInterval(); got != 30*time.Millisecond {
		t.Fatalf("interval %v, want a tenth of the window", got)
	}
	cmd := cmdOf("p1")
	if _, err := j.Begin(cmd); err != nil {
		t.Fatal(err)
	}
	must(t, j.Finish(cmd, &callapi.Reply{ID: cmd.ID, OK: true}))
	ctx, cancel := context.WithCancel(context.Background())
	pruned := make(chan int, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.RunPruning(ctx, func(n int, err error) {
			if err != nil {
				t.Error(err)
			}
			pruned <- n
		})
	}()
	select {
	case n := <-pruned:
		if n != 1 || j.Len() != 0 {
			t.Errorf("pruned %d, %d left; want 1, 0", n, j.Len())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the record was never pruned")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("RunPruning did not stop with its context")
	}

	long, err := Open("", 0, "b2")
	if err != nil {
		t.Fatal(err)
	}
	if long.Window() != DefaultWindow || long.PruneInterval() != 10*time.Minute {
		t.Errorf("no window: window %v, interval %v; want %v, 10m", long.Window(), long.PruneInterval(), DefaultWindow)
	}
}

// TestPruneKeepsWhatRuns: pruning has one rule in memory and on disk: past
// the window a finished record goes, and so does one an earlier process
// left running (interrupted), but not one this process is running: a retry
// would find no record and run the command twice. Once finished, it goes
// after the window too.
func TestPruneKeepsWhatRuns(t *testing.T) {
	inEachStore(t, func(t *testing.T, path string, durable bool) {
		start := time.Now()
		at := func(d time.Duration) func() time.Time { return func() time.Time { return start.Add(d) } }
		j := open(t, path, "boot1")
		j.now = at(0)
		interrupted := cmdOf("interrupted")
		if _, err := j.Begin(interrupted); err != nil {
			t.Fatal(err)
		}
		if durable {
			// Left running by a process that died: reopened by the next.
			must(t, j.Close())
			j = open(t, path, "boot2")
		} else {
			// A memory journal dies with its process; the rule is the
			// same for a record of another boot all the same.
			j.mu.Lock()
			j.mem[key(interrupted.Tenant, interrupted.ID)].Boot = "boot0"
			delete(j.runs, key(interrupted.Tenant, interrupted.ID))
			j.mu.Unlock()
		}
		defer j.Close()
		j.now = at(0)
		done, running := cmdOf("done"), cmdOf("running")
		for _, c := range []*callapi.Command{done, running} {
			if rec, err := j.Begin(c); err != nil || rec != nil {
				t.Fatalf("Begin %s: %+v %v", c.ID, rec, err)
			}
		}
		must(t, j.Finish(done, callapi.OKReply("done", "pbx1", callapi.Call{ID: done.CallID})))

		j.now = at(2 * time.Hour) // the window is an hour
		if n, err := j.Prune(); err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want the done and the interrupted record", n, err)
		}
		for _, id := range []string{"done", "interrupted"} {
			if rec, _ := j.Get("acme", id); rec != nil {
				t.Errorf("%s: still there after the window: %+v", id, rec)
			}
		}
		if rec, _ := j.Begin(running); rec == nil || !j.RunningHere(rec) {
			t.Fatalf("a copy of the running command: %+v, want it running here", rec)
		}
		must(t, j.Finish(running, callapi.OKReply("running", "pbx1", callapi.Call{ID: running.CallID})))
		if rec, _ := j.Get("acme", "running"); rec == nil || rec.State != Done || !rec.Reply.OK {
			t.Fatalf("finished after a prune: %+v, want its outcome recorded", rec)
		}
		if n, err := j.Prune(); err != nil || n != 0 {
			t.Fatalf("Prune of a record just finished = %d, %v", n, err)
		}
		j.now = at(4 * time.Hour)
		if n, err := j.Prune(); err != nil || n != 1 || j.Len() != 0 {
			t.Fatalf("Prune once finished and past the window = %d, %v, %d left", n, err, j.Len())
		}
	})
}

// inEachStore runs f on a memory-only journal (path "") and on one in a
// file (durable), each as a subtest.
func inEachStore(t *testing.T, f func(t *testing.T, path string, durable bool)) {
	for _, durable := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "bolt"}[durable], func(t *testing.T) {
			path := ""
			if durable {
				path = filepath.Join(t.TempDir(), "pbx1.journal")
			}
			f(t, path, durable)
		})
	}
}
