package worker

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/worker/journal"
)

// fakeCalls is the PBX as keyed sees it: the calls that are up.
type fakeCalls struct {
	mu  sync.Mutex
	up  map[callapi.CallID]*callapi.Call
	err error // when set, every read fails with it (ARI away)
}

func (f *fakeCalls) Call(_ context.Context, tenant string, id callapi.CallID) (*callapi.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	c := f.up[id]
	if c == nil || c.Tenant != tenant {
		return nil, callapi.Errorf(callapi.CodeNotFound, "call %s not found", id)
	}
	cc := *c
	return &cc, nil
}

func (f *fakeCalls) set(c *callapi.Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up == nil {
		f.up = map[callapi.CallID]*callapi.Call{}
	}
	f.up[c.ID] = c
}

func (f *fakeCalls) drop(id callapi.CallID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.up, id)
}

// fakeExec is the executor behind Keyed: it counts the checks and the
// commands it ran and answers with reply (or places the call on calls when
// reply is nil); a lookup it answers as the Executor does, through x.
type fakeExec struct {
	mu     sync.Mutex
	ran    []*callapi.Command
	checks int
	reply  func(cmd *callapi.Command) *callapi.Reply
	x      *Executor
}

func (f *fakeExec) run(cmd *callapi.Command) *callapi.Reply {
	f.mu.Lock()
	f.ran = append(f.ran, cmd)
	f.mu.Unlock()
	return f.reply(cmd)
}

func (f *fakeExec) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	if cmd.Action == callapi.ActKeyLookup {
		return f.x.Handle(ctx, cmd)
	}
	return f.run(cmd)
}

func (f *fakeExec) Check(cmd *callapi.Command) (*callapi.Spec, callapi.Validator, error) {
	f.mu.Lock()
	f.checks++
	f.mu.Unlock()
	return f.x.Check(cmd)
}

func (f *fakeExec) Run(_ context.Context, _ *callapi.Spec, cmd *callapi.Command, _ callapi.Validator) *callapi.Reply {
	return f.run(cmd)
}

func (f *fakeExec) runs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ran)
}

func (f *fakeExec) checked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks
}

const testNode callapi.NodeID = "pbx1"

// newKeyed returns a keyed over a journal at path ("" memory only) whose
// executor places the call on calls and answers it.
func newKeyed(t *testing.T, path, boot string, calls *fakeCalls) (*Keyed, *fakeExec) {
	t.Helper()
	j, err := journal.Open(path, time.Hour, boot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	exec := &fakeExec{reply: func(cmd *callapi.Command) *callapi.Reply {
		c := &callapi.Call{ID: cmd.CallID, Node: testNode, Tenant: cmd.Tenant, State: callapi.StateUp, Direction: callapi.Outbound}
		calls.set(c)
		return callapi.OKReply(cmd.ID, testNode, c)
	}}
	k := &Keyed{node: testNode, pbx: calls, next: exec, log: zap.NewNop(), j: j}
	exec.x = &Executor{Node: testNode, Journal: k}
	return k, exec
}

func originate(id string, callID callapi.CallID, key string) *callapi.Command {
	return &callapi.Command{ID: id, Action: callapi.ActCallOriginate, Tenant: "acme", CallID: callID, IdempotencyKey: key,
		Args: json.RawMessage(`{"to":"PJSIP/100"}`)}
}

func lookup(commandID string) *callapi.Command {
	args, _ := json.Marshal(callapi.KeyLookupArgs{CommandID: commandID})
	return &callapi.Command{ID: "lk-" + commandID, Action: callapi.ActKeyLookup, Tenant: "acme", Args: args}
}

func callOf(t *testing.T, r *callapi.Reply) callapi.Call {
	t.Helper()
	var c callapi.Call
	if err := r.Decode(&c); err != nil {
		t.Fatalf("reply %+v: %v", r, err)
	}
	return c
}

func code(r *callapi.Reply) callapi.Code {
	if r.OK || r.Error == nil {
		return ""
	}
	return r.Error.Code
}

// TestKeyedPassesThrough: what is not a keyed originate runs as it is,
// every time, and is not journaled. (A command without tenant is the
// default tenant's from its decoding on: amqpbus's TestTenantDefaultedAtDecode;
// an expired command never gets here: amqpbus's
// TestExpiredCommandIsDeadLetteredNeverRun.)
func TestKeyedPassesThrough(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func() *callapi.Command
	}{
		{"other action", func() *callapi.Command {
			return &callapi.Command{ID: "c-h", Action: callapi.ActCallHangup, Tenant: "acme", CallID: "call-1"}
		}},
		{"originate without key", func() *callapi.Command { return originate("c-nokey", "call-nokey", "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, exec := newKeyed(t, "", "boot1", &fakeCalls{})
			for range 2 {
				if r := k.Handle(context.Background(), tc.cmd()); !r.OK {
					t.Fatalf("reply %+v", r)
				}
			}
			if exec.runs() != 2 {
				t.Fatalf("executor ran %d times, want 2 (not answered from the journal)", exec.runs())
			}
			if n := k.j.Len(); n != 0 {
				t.Fatalf("journal holds %d records, want 0", n)
			}
		})
	}
}

// TestKeyedRefusesInvalid: a keyed originate the executor would refuse
// (its id or its arguments, as a raw AMQP client may publish them) is
// answered invalid_argument before it is journaled, and never runs.
func TestKeyedRefusesInvalid(t *testing.T) {
	long := callapi.CallID(strings.Repeat("c", 40000)) // over bbolt's key limit, as well as ValidID's
	for _, tc := range []struct {
		name, field string
		cmd         *callapi.Command
	}{
		{"no call id", "call_id", originate("c1", "", "k1")},
		{"oversized call id", "call_id", originate("c1", long, "k1")},
		{"call id with a slash", "call_id", originate("c1", "a/b", "k1")},
		{"no to", "to", withArgs(originate("c1", "call-1", "k1"), `{}`)},
		{"unknown field", "", withArgs(originate("c1", "call-1", "k1"), `{"to":"PJSIP/100","tooo":1}`)},
		{"reserved variable", "variables", withArgs(originate("c1", "call-1", "k1"), `{"to":"PJSIP/100","variables":{"__CALLGW_TAGS":"x"}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, exec := newKeyed(t, "", "boot1", &fakeCalls{})
			r := k.Handle(context.Background(), tc.cmd)
			if code(r) != callapi.CodeInvalidArgument || (tc.field != "" && r.Error.Field != tc.field) {
				t.Fatalf("reply %+v, want invalid_argument on %q", r, tc.field)
			}
			if exec.runs() != 0 || k.j.Len() != 0 {
				t.Fatalf("executor ran %d times, journal holds %d records: want none", exec.runs(), k.j.Len())
			}
		})
	}
}

func withArgs(cmd *callapi.Command, args string) *callapi.Command {
	cmd.Args = json.RawMessage(args)
	return cmd
}

// TestKeyedOriginateOnce: a copy of a keyed originate does not run again;
// it is answered from the journal with the call as it is now, with the
// recorded refusal, or with the recorded end, and a lookup finds it.
func TestKeyedOriginateOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("up", func(t *testing.T) {
		calls := &fakeCalls{}
		k, exec := newKeyed(t, "", "boot1", calls)
		first := k.Handle(ctx, originate("c1", "call-1", "k1"))
		if exec.checked() != 1 {
			t.Fatalf("the keyed originate was checked %d times, want once (then run through Run)", exec.checked())
		}
		calls.set(&callapi.Call{ID: "call-1", Node: testNode, Tenant: "acme", State: callapi.StateRinging})
		again := k.Handle(ctx, originate("c1", "call-1", "k1"))
		if exec.runs() != 1 {
			t.Fatalf("executor ran %d times, want 1", exec.runs())
		}
		if !first.OK || !again.OK || again.ID != "c1" {
			t.Fatalf("replies %+v, %+v", first, again)
		}
		if st := callOf(t, again).State; st != callapi.StateRinging {
			t.Fatalf("copy answered with state %q, want the call as it is now (ringing)", st)
		}
	})
	t.Run("refused", func(t *testing.T) {
		k, exec := newKeyed(t, "", "boot1", &fakeCalls{})
		exec.reply = func(cmd *callapi.Command) *callapi.Reply {
			return callapi.ErrReply(cmd.ID, testNode, callapi.Errorf(callapi.CodeInvalidArgument, "no such endpoint"))
		}
		k.Handle(ctx, originate("c1", "call-1", "k1"))
		again := k.Handle(ctx, originate("c1", "call-1", "k1"))
		if exec.runs() != 1 || code(again) != callapi.CodeInvalidArgument {
			t.Fatalf("runs %d, copy %+v: want 1 run and the recorded refusal", exec.runs(), again)
		}
	})
	t.Run("retryable failure runs again", func(t *testing.T) {
		k, exec := newKeyed(t, "", "boot1", &fakeCalls{})
		exec.reply = func(cmd *callapi.Command) *callapi.Reply {
			return callapi.ErrReply(cmd.ID, testNode, callapi.Errorf(callapi.CodeNodeUnavailable, "ARI down"))
		}
		k.Handle(ctx, originate("c1", "call-1", "k1"))
		k.Handle(ctx, originate("c1", "call-1", "k1"))
		if exec.runs() != 2 {
			t.Fatalf("executor ran %d times, want 2 (a retryable failure is not remembered)", exec.runs())
		}
	})
	t.Run("ended", func(t *testing.T) {
		calls := &fakeCalls{}
		k, exec := newKeyed(t, "", "boot1", calls)
		bus := &fakeBus{}
		sink := NewJournalSink(bus, k)
		k.Handle(ctx, originate("c1", "call-1", "k1"))
		calls.drop("call-1")
		if err := sink.PublishEvent(ctx, hangupEvent("call-1", 17)); err != nil {
			t.Fatal(err)
		}
		again := k.Handle(ctx, originate("c1", "call-1", "k1"))
		c := callOf(t, again)
		if exec.runs() != 1 || c.State != callapi.StateEnded || c.Hangup == nil || c.Hangup.Cause != 17 {
			t.Fatalf("runs %d, copy %+v: want the recorded end (cause 17)", exec.runs(), c)
		}
	})
	t.Run("ARI away", func(t *testing.T) {
		calls := &fakeCalls{}
		k, _ := newKeyed(t, "", "boot1", calls)
		k.Handle(ctx, originate("c1", "call-1", "k1"))
		calls.err = callapi.Errorf(callapi.CodeNodeUnavailable, "ARI down")
		if r := k.Handle(ctx, originate("c1", "call-1", "k1")); code(r) != callapi.CodeNodeUnavailable {
			t.Fatalf("copy %+v, want node_unavailable (cannot tell now)", r)
		}
	})
	t.Run("still running", func(t *testing.T) {
		calls := &fakeCalls{}
		k, exec := newKeyed(t, "", "boot1", calls)
		started, release := make(chan struct{}), make(chan struct{})
		placed := exec.reply
		exec.reply = func(cmd *callapi.Command) *callapi.Reply {
			close(started)
			<-release
			return placed(cmd)
		}
		done := make(chan *callapi.Reply)
		go func() { done <- k.Handle(ctx, originate("c1", "call-1", "k1")) }()
		<-started
		copyRep := k.Handle(ctx, originate("c1", "call-1", "k1"))
		var res callapi.KeyLookup
		if err := k.Handle(ctx, lookup("c1")).Decode(&res); err != nil {
			t.Fatal(err)
		}
		close(release)
		if r := <-done; !r.OK {
			t.Fatalf("first %+v", r)
		}
		if code(copyRep) != callapi.CodeOutcomeUnknown {
			t.Fatalf("copy while running %+v, want outcome_unknown", copyRep)
		}
		if !res.Found || !res.Running {
			t.Fatalf("lookup while running %+v, want found and running", res)
		}
	})
}

// TestKeyedInterrupted: an originate begun by an earlier process of this
// worker (it died meanwhile) is answered with its call when the call is
// up, with conflict when not; that answer is recorded for every later copy.
func TestKeyedInterrupted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		up     bool
		wantOK bool
		code   callapi.Code
	}{
		{"call up", true, true, ""},
		{"call not up", false, false, callapi.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.journal")
			j, err := journal.Open(path, time.Hour, "boot1")
			if err != nil {
				t.Fatal(err)
			}
			if rec, err := j.Begin(originate("c1", "call-1", "k1")); err != nil || rec != nil {
				t.Fatalf("begin: %v %v", rec, err)
			}
			if err := j.Close(); err != nil { // the worker died with the originate running
				t.Fatal(err)
			}
			calls := &fakeCalls{}
			if tc.up {
				calls.set(&callapi.Call{ID: "call-1", Node: testNode, Tenant: "acme", State: callapi.StateUp})
			}
			k, exec := newKeyed(t, path, "boot2", calls)
			r := k.Handle(ctx, originate("c1", "call-1", "k1"))
			if exec.runs() != 0 || r.OK != tc.wantOK || code(r) != tc.code {
				t.Fatalf("runs %d, reply %+v: want ok=%v code %q", exec.runs(), r, tc.wantOK, tc.code)
			}
			// Settled: a later copy gets the same even once the call is gone.
			calls.drop("call-1")
			again := k.Handle(ctx, originate("c1", "call-1", "k1"))
			if again.OK != tc.wantOK || code(again) != tc.code {
				t.Fatalf("later copy %+v, want the recorded answer", again)
			}
		})
	}
}

// TestKeyedLookup: ActKeyLookup answers from the journal.
func TestKeyedLookup(t *testing.T) {
	ctx := context.Background()
	k, _ := newKeyed(t, "", "boot1", &fakeCalls{})
	for _, args := range []string{`{}`, `{"command_id":""}`, `{"command_id":"c1","extra":1}`, `{"command_id":1}`, `[]`, `{`} {
		r := k.Handle(ctx, &callapi.Command{ID: "lk", Action: callapi.ActKeyLookup, Tenant: "acme", Args: json.RawMessage(args)})
		if code(r) != callapi.CodeInvalidArgument {
			t.Fatalf("lookup with args %s: %+v, want invalid_argument", args, r)
		}
	}
	var res callapi.KeyLookup
	if err := k.Handle(ctx, lookup("nope")).Decode(&res); err != nil || res.Found {
		t.Fatalf("unknown: %+v %v, want not found", res, err)
	}
	k.Handle(ctx, originate("c1", "call-1", "k1"))
	if err := k.Handle(ctx, lookup("c1")).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Found || res.Running || res.Reply == nil || !res.Reply.OK || res.Reply.ID != "c1" {
		t.Fatalf("known: %+v, want found with the call's reply", res)
	}
	other := lookup("c1")
	other.Tenant = "other"
	if err := k.Handle(ctx, other).Decode(&res); err != nil || res.Found {
		t.Fatalf("another tenant's lookup: %+v %v, want not found", res, err)
	}
}
