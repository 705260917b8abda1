package asterisk

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
)

// lostSink records what closeLost publishes; fail refuses one call's.
type lostSink struct {
	got  []*callapi.Event
	fail callapi.CallID
}

func (s *lostSink) PublishEvent(_ context.Context, e *callapi.Event) error {
	if e.CallID == s.fail {
		return errors.New("broker away")
	}
	s.got = append(s.got, e)
	return nil
}

// TestCloseLost: of the calls a worker's journal says were never seen to
// end, those not up get one call.hangup (reason lost, cause unknown, with
// the call's tenant and tags); calls up get none; a publish that fails is
// not counted.
func TestCloseLost(t *testing.T) {
	pbx := fakepbx.NewBasic(&callapi.Call{ID: "call-up", Tenant: "acme", State: callapi.StateUp})
	sink := &lostSink{fail: "call-refused"}
	n := closeLost(context.Background(), pbx, func(callapi.CallID) bool { return true }, sink, "pbx1", zap.NewNop(), []Lost{
		{Tenant: "acme", ID: "call-gone", Tags: []string{"t1"}},
		{Tenant: "acme", ID: "call-up"},
		{Tenant: "acme", ID: "call-refused"},
	})
	if n != 1 || len(sink.got) != 1 {
		t.Fatalf("published %d (%d events), want 1: %+v", n, len(sink.got), sink.got)
	}
	e := sink.got[0]
	var hd callapi.HangupData
	if err := json.Unmarshal(e.Data, &hd); err != nil {
		t.Fatal(err)
	}
	if e.Type != callapi.EvCallHangup || e.CallID != "call-gone" || e.Tenant != "acme" || e.Node != "pbx1" ||
		len(e.Tags) != 1 || hd.Reason != ReasonLost || hd.Cause != 0 || hd.CauseText != "Unknown" || e.Seq == 0 {
		t.Fatalf("event %+v data %+v", e, hd)
	}
}

// TestCloseLostAfterAPIHangup: a restarted worker re-adopts a call, the
// call is hung up through the API (its call.hangup, reason api, is
// published) before the walk over the journal's unended calls reaches it;
// the walk publishes no second call.hangup (reason lost) for it.
func TestCloseLostAfterAPIHangup(t *testing.T) {
	_, ts := newSim(t)
	p1, _, stop1 := startPBX(t, ts, nil)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p1.Originate(ctx, "beta", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	stop1()

	p2, sink2, _ := startPBX(t, ts, nil)
	sink2.waitFor(t, id, callapi.EvCallCreated)
	if err := p2.Hangup(ctx, "beta", id, ""); err != nil {
		t.Fatal(err)
	}
	sink2.waitFor(t, id, callapi.EvCallHangup)
	if n := p2.CloseLost(ctx, []Lost{{Tenant: "beta", ID: id}}); n != 0 {
		t.Errorf("CloseLost published %d hang-ups for a call whose end was published", n)
	}
	var ends []string
	for _, e := range sink2.of(id) {
		if e.Type == callapi.EvCallHangup {
			ends = append(ends, hangupData(t, e).Reason)
			// A worker killed between publishing this end and recording
			// it in its journal is followed by one that publishes a lost
			// end: the same event, by id, for subscribers that drop
			// repeats by id.
			if lost := LostHangup("pbx1", Lost{Tenant: "beta", ID: id}, time.Now()); lost.ID != e.ID {
				t.Errorf("lost hang-up id %s, the call's hang-up %s: want one id per call's end", lost.ID, e.ID)
			}
		}
	}
	if len(ends) != 1 || ends[0] != ReasonAPI {
		t.Fatalf("call.hangup reasons %v, want exactly one (api)", ends)
	}
}
