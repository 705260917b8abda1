package asterisk

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Lost is a call this node placed whose end nobody recorded (the worker's
// journal says so): it may have ended while no worker listened.
type Lost struct {
	Tenant string
	ID     callapi.CallID
	Tags   []string
}

// CloseLost publishes, once the calls were re-read after a start, the
// call.hangup (LostHangup) of every call of lost that is not up: it ended
// while no worker listened (the worker was dead), and no re-read can tell,
// since a new process tracks no call. A call that was never placed (an
// originate interrupted before Asterisk took it) gets one too; subscribers
// that never saw it ignore it. It returns how many it published.
//
// A call this process tracks, or whose end it published (hung up through
// the API while the walk went on), is skipped: its end is the call
// table's to publish, exactly once. A call CloseLost closes is claimed in
// the table first, so the table never adopts it afterwards.
func (p *PBX) CloseLost(ctx context.Context, lost []Lost) int {
	return closeLost(ctx, p, p.calls.claimLost, p.sink, p.cfg.Node, p.log, lost)
}

// closeLost is CloseLost on calls; claim(id) reports whether the end of
// id is still to be published, and takes it if so.
func closeLost(ctx context.Context, calls callapi.PBX, claim func(callapi.CallID) bool, sink callapi.EventSink, node callapi.NodeID, log *zap.Logger, lost []Lost) int {
	n := 0
	for _, l := range lost {
		if _, err := calls.Call(ctx, l.Tenant, l.ID); callapi.ErrorCode(err) != callapi.CodeNotFound {
			continue // up (adopted), or cannot tell now
		}
		if !claim(l.ID) {
			continue // tracked here: its end is (or was) published by the table
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := sink.PublishEvent(pctx, LostHangup(node, l, time.Now()))
		cancel()
		if err != nil {
			log.Warn("call.hangup of a call lost while the worker was down not published", zap.String("call_id", string(l.ID)), zap.Error(err))
			continue
		}
		n++
	}
	return n
}

// LostHangup is the call.hangup of a call lost while no worker listened:
// reason lost and cause 0 (unknown), like a call found gone on re-read.
func LostHangup(node callapi.NodeID, l Lost, now time.Time) *callapi.Event {
	now = now.UTC()
	data, _ := json.Marshal(callapi.HangupData{Hangup: callapi.Hangup{CauseText: "Unknown"}, Reason: ReasonLost})
	return &callapi.Event{ID: callapi.HangupEventID(l.Tenant, l.ID), Type: callapi.EvCallHangup, Time: now, Node: node, Tenant: l.Tenant,
		CallID: l.ID, Seq: uint64(now.UnixMicro()), Tags: l.Tags, Data: data}
}
