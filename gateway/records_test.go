package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

func recEvent(t *testing.T, typ callapi.EventType, id callapi.CallID, at time.Time, data any) *callapi.Event {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return &callapi.Event{ID: fmt.Sprint(typ, id, at.UnixNano()), Type: typ, Time: at, Node: "pbx1", Tenant: "acme", CallID: id, Tags: []string{"t1"}, Data: b}
}

// TestRecordsOutcome: a call's record carries who ended it, the cause,
// both durations, the node and tags; repeated events count once; another
// tenant does not see it.
func TestRecordsOutcome(t *testing.T) {
	r := NewRecords(10, time.Hour)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := recEvent(t, callapi.EvCallCreated, "c1", t0, callapi.CreatedData{Call: callapi.Call{ID: "c1", State: callapi.StateDown, Direction: callapi.Outbound, To: "PJSIP/a", CreatedAt: t0, Tags: []string{"t1"}}})
	ans := t0.Add(2 * time.Second)
	answered := recEvent(t, callapi.EvCallAnswered, "c1", ans, callapi.StateData{State: callapi.StateUp, AnsweredAt: &ans})
	hangup := recEvent(t, callapi.EvCallHangup, "c1", t0.Add(12*time.Second), callapi.HangupData{Hangup: callapi.Hangup{Cause: 16, CauseText: "Normal Clearing", DialStatus: "ANSWER"}, Reason: "remote"})
	for _, e := range []*callapi.Event{created, created, answered, hangup, hangup, answered} {
		r.Observe(e)
	}
	c, ok := r.Ended("acme", "c1", t0.Add(time.Minute))
	if !ok {
		t.Fatal("no record")
	}
	if c.State != callapi.StateEnded || c.Node != "pbx1" || c.To != "PJSIP/a" || c.EndReason != "remote" || c.Hangup == nil || c.Hangup.Cause != 16 ||
		*c.DurationMS != 12000 || *c.TalkMS != 10000 || !c.EndedAt.Equal(t0.Add(12*time.Second)) || len(c.Tags) != 1 {
		t.Fatalf("record %+v", c)
	}
	if _, ok := r.Ended("other", "c1", t0); ok {
		t.Error("another tenant sees the record")
	}
	// A call whose creation this gateway did not see: what the hangup says.
	r.Observe(recEvent(t, callapi.EvCallHangup, "c2", t0.Add(13*time.Second), callapi.HangupData{Hangup: callapi.Hangup{Cause: 17, CauseText: "User busy"}, Reason: "remote"}))
	if c, ok := r.Ended("acme", "c2", t0); !ok || c.Hangup.Cause != 17 || c.TalkMS != nil || c.DurationMS != nil {
		t.Fatalf("c2: %+v %v", c, ok)
	}
	if l := r.List("acme", "", callapi.ListArgs{Tag: "t1"}, t0); len(l) != 2 {
		t.Errorf("list: %d records", len(l))
	}
	if l := r.List("acme", "pbx2", callapi.ListArgs{}, t0); len(l) != 0 {
		t.Errorf("list of pbx2: %d records", len(l))
	}
}

// TestRecordsBounded: at most max records, none older than ttl, and the
// calls seen created but never ended are bounded too.
func TestRecordsBounded(t *testing.T) {
	r := NewRecords(3, time.Minute)
	t0 := time.Now()
	for i := range 5 {
		id := callapi.CallID(fmt.Sprint("c", i))
		r.Observe(recEvent(t, callapi.EvCallCreated, id, t0, callapi.CreatedData{Call: callapi.Call{CreatedAt: t0}}))
		r.Observe(recEvent(t, callapi.EvCallHangup, id, t0.Add(time.Duration(i)*time.Second), callapi.HangupData{}))
	}
	if _, ok := r.Ended("acme", "c1", t0); ok {
		t.Error("c1 kept past max")
	}
	if _, ok := r.Ended("acme", "c4", t0); !ok {
		t.Error("c4 dropped")
	}
	if _, ok := r.Ended("acme", "c4", t0.Add(2*time.Minute)); ok {
		t.Error("c4 readable past ttl")
	}
	for i := range 100 {
		r.Observe(recEvent(t, callapi.EvCallCreated, callapi.CallID(fmt.Sprint("o", i)), t0, callapi.CreatedData{}))
	}
	r.mu.Lock()
	open, order := len(r.open), r.opens.n
	r.mu.Unlock()
	if open > 3 || order > 3*2+16 {
		t.Errorf("open calls %d, order %d: unbounded", open, order)
	}
	off := NewRecords(0, time.Minute)
	off.Observe(recEvent(t, callapi.EvCallHangup, "x", t0, callapi.HangupData{}))
	if _, ok := off.Ended("acme", "x", t0); ok {
		t.Error("records off, yet kept")
	}
}

// TestServiceRecordsAndSilentNodes: an ended call is answered from the
// records; listing ended calls reads them; a node that stopped beating
// without announcing it is named in missing_nodes until it beats again.
func TestServiceRecordsAndSilentNodes(t *testing.T) {
	p1 := fakepbx.NewBasic()
	bus := &loopBus{nodes: map[callapi.NodeID]*worker.Executor{"pbx1": {Node: "pbx1", PBX: p1}, "pbx2": {Node: "pbx2", PBX: fakepbx.NewBasic()}}}
	reg := NewRegistry()
	now := time.Now()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, IntervalMS: 1000}, now)
	reg.Observe(callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, IntervalMS: 1000}, now.Add(-10*time.Second)) // silent since
	reg.Observe(callapi.Heartbeat{Node: "pbx3", State: callapi.NodeDown, IntervalMS: 1000}, now)                    // said goodbye
	s := NewService(bus, reg, NewLocations(0))
	s.Records = NewRecords(10, time.Hour)
	s.Records.Observe(recEvent(t, callapi.EvCallHangup, "gone", now, callapi.HangupData{Hangup: callapi.Hangup{Cause: 16}, Reason: "api"}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	bus.sent = nil
	c, err := decodedCall(s.Call(ctx, Options{Tenant: "acme"}, "gone"))
	if err != nil || c.State != callapi.StateEnded || c.EndReason != "api" || len(bus.sent) != 0 {
		t.Fatalf("ended call: %+v %v, sent %v", c, err, bus.sent)
	}
	if _, err := s.Call(ctx, Options{Tenant: "default"}, "gone"); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("other tenant: %v", err)
	}
	l, _, err := s.Calls(ctx, Options{Tenant: "acme"}, ListRequest{ListArgs: callapi.ListArgs{State: callapi.StateEnded}})
	if err != nil || len(l) != 1 {
		t.Fatalf("ended list: %v %v", l, err)
	}
	if l, _, err := s.Calls(ctx, Options{Tenant: "default"}, ListRequest{ListArgs: callapi.ListArgs{State: callapi.StateEnded}}); err != nil || len(l) != 0 {
		t.Fatalf("another tenant's ended list: %v %v", l, err)
	}
	if l, _, err := s.Calls(ctx, Options{Tenant: "default"}, ListRequest{ListArgs: callapi.ListArgs{State: callapi.StateEnded}, AllTenants: true}); err != nil || len(l) != 1 {
		t.Fatalf("every tenant's ended list: %v %v", l, err)
	}
	// Every tenant's live calls: the nodes list them for a call.list whose
	// tenant is callapi.AllTenants, each call with its tenant.
	for _, tn := range []string{"acme", "beta"} {
		if _, err := p1.Originate(ctx, tn, callapi.CallID("live-"+tn), callapi.OriginateArgs{To: "PJSIP/1"}); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := s.Calls(ctx, Options{Tenant: "globex"}, ListRequest{AllTenants: true})
	tenants := map[string]bool{}
	for _, c := range all {
		tenants[c.Tenant] = true
	}
	if err != nil || len(all) != 2 || !tenants["acme"] || !tenants["beta"] {
		t.Fatalf("every tenant's live calls: %v %v", all, err)
	}
	if own, _, err := s.Calls(ctx, Options{Tenant: "acme"}, ListRequest{}); err != nil || len(own) != 1 || own[0].Tenant != "acme" {
		t.Fatalf("acme's live calls: %v %v", own, err)
	}
	_, missing, err := s.Calls(ctx, Options{Tenant: "acme"}, ListRequest{})
	if err != nil || len(missing) != 1 || missing[0] != "pbx2" {
		t.Fatalf("missing %v %v, want [pbx2]", missing, err)
	}
	reg.Sweep(now) // declared down: still missing
	if _, missing, _ := s.Calls(ctx, Options{Tenant: "acme"}, ListRequest{}); len(missing) != 1 {
		t.Fatalf("after sweep: missing %v", missing)
	}
	reg.Observe(callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, IntervalMS: 1000}, time.Now())
	if _, missing, _ := s.Calls(ctx, Options{Tenant: "acme"}, ListRequest{}); len(missing) != 0 {
		t.Fatalf("after it beat again: missing %v", missing)
	}
}

// TestHangupOfEndedCall: hanging up a call that already ended, whose record
// GET still shows, succeeds without asking a node (DELETE is idempotent:
// the call is down either way), also when the record arrives while the
// node answers not_found; another tenant, or a bad reason, still fails.
func TestHangupOfEndedCall(t *testing.T) {
	bus := &loopBus{nodes: map[callapi.NodeID]*worker.Executor{"pbx1": {Node: "pbx1", PBX: fakepbx.NewBasic()}}}
	reg := NewRegistry()
	now := time.Now()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, IntervalMS: 1000}, now)
	s := NewService(bus, reg, NewLocations(0))
	s.Records = NewRecords(10, time.Hour)
	s.Records.Observe(recEvent(t, callapi.EvCallHangup, "gone", now, callapi.HangupData{Hangup: callapi.Hangup{Cause: 16}, Reason: "api"}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	bus.sent = nil
	if acc, err := s.Hangup(ctx, Options{Tenant: "acme"}, "gone", "busy"); err != nil || acc != nil || len(bus.sent) != 0 {
		t.Fatalf("hangup of an ended call: %v %v, sent %v", acc, err, bus.sent)
	}
	if _, err := s.Hangup(ctx, Options{Tenant: "acme"}, "gone", "bogus"); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Fatalf("bad reason on an ended call: %v", err)
	}
	if _, err := s.Hangup(ctx, Options{Tenant: "default"}, "gone", ""); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("other tenant: %v", err)
	}
	late := &hookBus{loopBus: bus, before: func() {
		s.Records.Observe(recEvent(t, callapi.EvCallHangup, "late", time.Now(), callapi.HangupData{Hangup: callapi.Hangup{Cause: 16}, Reason: "remote"}))
	}}
	s.Bus = late
	if acc, err := s.Hangup(ctx, Options{Tenant: "acme"}, "late", ""); err != nil || acc != nil {
		t.Fatalf("hangup as the call ended: %v %v", acc, err)
	}
}

// hookBus runs before ahead of each request and gathering.
type hookBus struct {
	*loopBus
	before func()
}

func (b *hookBus) Request(ctx context.Context, t callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	b.before()
	return b.loopBus.Request(ctx, t, cmd)
}

func (b *hookBus) Gather(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
	b.before()
	return b.loopBus.Gather(ctx, cmd, expect)
}

// TestRecordsPerTenant: one tenant's burst of short calls (and of calls
// that never end) pushes out only its own records; all tenants together
// stay bounded, the tenant holding the most losing first.
func TestRecordsPerTenant(t *testing.T) {
	r := NewRecords(10, time.Hour)
	t0 := time.Now()
	call := func(tenant string, id callapi.CallID, end bool) {
		c := recEvent(t, callapi.EvCallCreated, id, t0, callapi.CreatedData{Call: callapi.Call{CreatedAt: t0}})
		c.Tenant = tenant
		r.Observe(c)
		if end {
			h := recEvent(t, callapi.EvCallHangup, id, t0.Add(time.Second), callapi.HangupData{})
			h.Tenant = tenant
			r.Observe(h)
		}
	}
	call("globex", "g1", true)
	call("globex", "g2", false) // open, answered later
	for i := range 1000 {
		call("acme", callapi.CallID(fmt.Sprint("a", i)), true)
		call("acme", callapi.CallID(fmt.Sprint("o", i)), false)
	}
	if _, ok := r.Ended("globex", "g1", t0); !ok {
		t.Fatal("acme's 1000 short calls evicted globex's record")
	}
	if l := r.List("acme", "", callapi.ListArgs{}, t0); len(l) != 10 {
		t.Fatalf("acme keeps %d records, want its bound 10", len(l))
	}
	all := r.List(AllTenants, "", callapi.ListArgs{}, t0)
	tenants := map[string]int{}
	for _, c := range all {
		tenants[c.Tenant]++
	}
	if len(all) != 11 || tenants["acme"] != 10 || tenants["globex"] != 1 {
		t.Fatalf("every tenant's records: %d, by tenant %v; want acme's 10 and globex's 1", len(all), tenants)
	}
	r.mu.Lock()
	_, g2open := r.open["g2"]
	r.mu.Unlock()
	if !g2open {
		t.Fatal("acme's open calls evicted globex's open call")
	}
	// Past the total (10 x 10), the biggest tenant loses first.
	for i := range 30 {
		for _, tenant := range []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10"} {
			call(tenant, callapi.CallID(fmt.Sprint(tenant, "-", i)), true)
		}
	}
	r.mu.Lock()
	n := len(r.ended)
	r.mu.Unlock()
	if n > 10*RecordsTotalFactor {
		t.Fatalf("%d records in all, bound %d", n, 10*RecordsTotalFactor)
	}
	if _, ok := r.Ended("globex", "g1", t0); !ok {
		t.Fatal("the smallest tenant lost its record to the total bound")
	}
}

// TestRecordsWarm: a tenant's records are loaded from its history once
// (concurrent readers wait for the one load) with the ttl's window; a
// live event seen first wins over the loaded ones; a failed load is tried
// again by the next reader; another tenant loads its own.
func TestRecordsWarm(t *testing.T) {
	t0 := time.Now().Add(-10 * time.Minute)
	r := NewRecords(10, time.Hour)
	var mu sync.Mutex
	loads := map[string]int{}
	fail := true
	r.Loader = func(ctx context.Context, tenant string, since time.Time, observe func(*callapi.Event)) error {
		mu.Lock()
		loads[tenant]++
		f := fail && tenant == "beta"
		mu.Unlock()
		if d := time.Since(since); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("loaded since %v ago, want the ttl", d)
		}
		if f {
			return errors.New("broker away")
		}
		time.Sleep(20 * time.Millisecond)
		observe(recEvent(t, callapi.EvCallCreated, "old", t0, callapi.CreatedData{Call: callapi.Call{ID: "old", CreatedAt: t0}}))
		observe(recEvent(t, callapi.EvCallHangup, "old", t0.Add(5*time.Second), callapi.HangupData{Reason: "remote"}))
		observe(recEvent(t, callapi.EvCallHangup, "live", t0.Add(time.Second), callapi.HangupData{Reason: "lost"}))
		return nil
	}
	r.Observe(recEvent(t, callapi.EvCallHangup, "live", t0.Add(time.Second), callapi.HangupData{Reason: "api"}))
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := r.Warm(context.Background(), "acme", time.Now()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if loads["acme"] != 1 {
		t.Errorf("%d loads of acme", loads["acme"])
	}
	if c, ok := r.Ended("acme", "old", time.Now()); !ok || *c.DurationMS != 5000 {
		t.Fatalf("loaded record %+v %v", c, ok)
	}
	if c, _ := r.Ended("acme", "live", time.Now()); c == nil || c.EndReason != "api" {
		t.Errorf("live record %+v, want the live event's", c)
	}
	if err := r.Warm(context.Background(), "beta", time.Now()); err == nil {
		t.Error("failed load: no error")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if err := r.Warm(context.Background(), "beta", time.Now()); err != nil || loads["beta"] != 2 {
		t.Errorf("second load: %v, %d loads", err, loads["beta"])
	}
	_ = r.Warm(context.Background(), "beta", time.Now())
	if loads["beta"] != 2 {
		t.Errorf("a loaded tenant loaded again")
	}
	if err := NewRecords(0, time.Hour).Warm(context.Background(), "acme", time.Now()); err != nil {
		t.Error(err)
	}
}

// TestRecordsWarmHonoursDeadline: the caller that starts a slow load
// (the broker slow or away) waits no longer than its own deadline, and
// the load, which goes on, serves the next caller without a second one.
func TestRecordsWarmHonoursDeadline(t *testing.T) {
	r := NewRecords(10, time.Hour)
	release := make(chan struct{})
	var loads atomic.Int32
	r.Loader = func(ctx context.Context, tenant string, since time.Time, observe func(*callapi.Event)) error {
		loads.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := r.Warm(ctx, "acme", time.Now()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Warm = %v, want the caller's deadline", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the first caller waited %v for a slow load, past its 50ms deadline", d)
	}
	close(release)
	if err := r.Warm(context.Background(), "acme", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("%d loads, want the one that went on", n)
	}
}
