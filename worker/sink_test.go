package worker

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/worker/journal"
)

// TestCloseLost: after a start, the journaled calls that are not up and
// whose end was never recorded get one call.hangup (reason lost), recorded
// so that the next start publishes none; calls up get none.
func TestCloseLost(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.journal")
	j, err := journal.Open(path, time.Hour, "boot1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []callapi.CallID{"call-gone", "call-up", "call-ended"} {
		cmd := originate("c-"+string(id), id, "k")
		if _, err := j.Begin(cmd); err != nil {
			t.Fatal(err)
		}
		if err := j.Finish(cmd, callapi.OKReply(cmd.ID, testNode, &callapi.Call{ID: id, Tenant: "acme", Tags: []string{"t1"}})); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Ended("call-ended", callapi.Hangup{Cause: 16}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	calls := &fakeCalls{}
	calls.set(&callapi.Call{ID: "call-up", Tenant: "acme", State: callapi.StateUp})
	k, _ := newKeyed(t, path, "boot2", calls)
	bus := &fakeBus{}
	sink := NewJournalSink(bus, k)
	pbx := lostPBX{calls: calls, sink: sink}
	k.closeLost(ctx, pbx)
	k.closeLost(ctx, pbx)
	evs := bus.events()
	if len(evs) != 1 {
		t.Fatalf("published %d events, want 1 (call-gone, once): %+v", len(evs), evs)
	}
	e := evs[0]
	var hd callapi.HangupData
	if err := json.Unmarshal(e.Data, &hd); err != nil {
		t.Fatal(err)
	}
	if e.Type != callapi.EvCallHangup || e.CallID != "call-gone" || e.Tenant != "acme" || hd.Reason != "lost" || len(e.Tags) != 1 {
		t.Fatalf("event %+v data %+v", e, hd)
	}
}

// TestJournalSink: a call.hangup is recorded in the journal once the
// broker took it, not when publishing failed; async, once confirmed.
func TestJournalSink(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		async    bool
		fail     error // of the publish
		failWait error // of the confirm
		recorded bool
	}{
		{"published", false, nil, nil, true},
		{"publish failed", false, errors.New("broker away"), nil, false},
		{"async confirmed", true, nil, nil, true},
		{"async publish failed", true, errors.New("broker away"), nil, false},
		{"async nacked", true, nil, errors.New("nack"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{}
			k, _ := newKeyed(t, "", "boot1", calls)
			k.Handle(ctx, originate("c1", "call-1", "k1"))
			calls.drop("call-1")
			bus := &fakeBus{fail: tc.fail, failWait: tc.failWait}
			sink := NewJournalSink(bus, k)
			e := hangupEvent("call-1", 17)
			if tc.async {
				c, err := sink.PublishEventAsync(ctx, e)
				if err == nil && c != nil {
					_ = c.Wait(ctx)
				}
			} else {
				_ = sink.PublishEvent(ctx, e)
			}
			rec, err := k.j.Get("acme", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Hangup != nil; got != tc.recorded {
				t.Fatalf("hang-up recorded %v, want %v", got, tc.recorded)
			}
		})
	}
}

func hangupEvent(id callapi.CallID, cause int) *callapi.Event {
	data, _ := json.Marshal(callapi.HangupData{Hangup: callapi.Hangup{Cause: cause}, Reason: "remote"})
	return &callapi.Event{ID: "e-" + string(id), Type: callapi.EvCallHangup, Tenant: "acme", CallID: id, Data: data}
}

// lostPBX closes lost calls as asterisk.PBX.CloseLost does, on calls.
// during, when set, runs as each call's turn begins.
type lostPBX struct {
	calls  *fakeCalls
	sink   callapi.EventSink
	during func(asterisk.Lost)
}

func (p lostPBX) CloseLost(ctx context.Context, lost []asterisk.Lost) int {
	n := 0
	for _, l := range lost {
		if p.during != nil {
			p.during(l)
		}
		if _, err := p.calls.Call(ctx, l.Tenant, l.ID); callapi.ErrorCode(err) == callapi.CodeNotFound &&
			p.sink.PublishEvent(ctx, asterisk.LostHangup(testNode, l, time.Now())) == nil {
			n++
		}
	}
	return n
}

// fakeBus records the events published; fail fails the publish, failWait
// the confirm of an async one.
type fakeBus struct {
	mu             sync.Mutex
	evs            []*callapi.Event
	fail, failWait error
}

func (b *fakeBus) PublishEvent(_ context.Context, e *callapi.Event) error {
	if b.fail != nil {
		return b.fail
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.evs = append(b.evs, e)
	return nil
}

func (b *fakeBus) PublishEventAsync(ctx context.Context, e *callapi.Event) (asterisk.Confirm, error) {
	if err := b.PublishEvent(ctx, e); err != nil {
		return nil, err
	}
	return confirmFunc(func(context.Context) error { return b.failWait }), nil
}

func (b *fakeBus) events() []*callapi.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*callapi.Event(nil), b.evs...)
}

type confirmFunc func(context.Context) error

func (f confirmFunc) Wait(ctx context.Context) error { return f(ctx) }

// TestCloseLostSkipsCallsEndedDuringTheWalk: a call whose call.hangup is
// published while the walk over the journal's unended calls goes on (a
// DELETE through the API, a hang-up by the far end) gets no second one
// (reason lost) when its turn comes: exactly one call.hangup per call.
func TestCloseLostSkipsCallsEndedDuringTheWalk(t *testing.T) {
	ctx := context.Background()
	calls := &fakeCalls{}
	k, _ := newKeyed(t, filepath.Join(t.TempDir(), "w.journal"), "boot1", calls)
	ids := []callapi.CallID{"call-a", "call-b"}
	for _, id := range ids {
		k.Handle(ctx, originate("c-"+string(id), id, "k-"+string(id)))
	}
	bus := &fakeBus{}
	sink := NewJournalSink(bus, k)
	// Both calls are gone from the PBX by their turn; the first turn ends
	// the other call through the API meanwhile, as a DELETE would.
	turns := 0
	pbx := lostPBX{calls: calls, sink: sink, during: func(l asterisk.Lost) {
		if turns++; turns > 1 {
			return
		}
		other := ids[0]
		if l.ID == other {
			other = ids[1]
		}
		e := hangupEvent(other, 16)
		e.Data, _ = json.Marshal(callapi.HangupData{Hangup: callapi.Hangup{Cause: 16}, Reason: "api"})
		if err := sink.PublishEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}}
	for _, id := range ids {
		calls.drop(id)
	}
	k.closeLost(ctx, pbx)
	ends := map[callapi.CallID]int{}
	for _, e := range bus.events() {
		if e.Type == callapi.EvCallHangup {
			ends[e.CallID]++
		}
	}
	if ends["call-a"] != 1 || ends["call-b"] != 1 {
		t.Fatalf("call.hangup per call %v, want exactly one each", ends)
	}
}
