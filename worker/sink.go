package worker

import (
	"context"
	"encoding/json"

	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
)

// eventBus is what JournalSink needs of the bus (*amqpbus.Bus): it
// passes on both ways of publishing, so that asterisk still finds an
// AsyncSink behind the journal.
type eventBus interface {
	callapi.EventSink
	asterisk.AsyncSink
}

var (
	_ eventBus           = (*amqpbus.Bus)(nil)
	_ asterisk.AsyncSink = (*JournalSink)(nil)
)

// JournalSink passes a worker's events to the bus and notes in the journal
// how journaled calls end — once the broker took the call.hangup: one lost
// at a stop (the bus closed first) is published again after the restart
// (asterisk.PBX.CloseLost).
type JournalSink struct {
	bus eventBus
	k   *Keyed
}

// NewJournalSink returns the sink of events published on bus whose
// call.hangup k's journal records.
func NewJournalSink(bus eventBus, k *Keyed) *JournalSink { return &JournalSink{bus: bus, k: k} }

func (s *JournalSink) note(e *callapi.Event) {
	if e.Type != callapi.EvCallHangup || s.k.j == nil {
		return
	}
	var hd callapi.HangupData
	if err := json.Unmarshal(e.Data, &hd); err != nil {
		return
	}
	if err := s.k.j.Ended(e.CallID, hd.Hangup); err != nil {
		s.k.log.Warn("idempotency journal: hang-up not recorded", zap.String("call_id", string(e.CallID)), zap.Error(err))
	}
}

// PublishEvent publishes e and, once the broker took it, notes a call's end.
func (s *JournalSink) PublishEvent(ctx context.Context, e *callapi.Event) error {
	err := s.bus.PublishEvent(ctx, e)
	if err == nil {
		s.note(e)
	}
	return err
}

// PublishEventAsync publishes e; a call's end is noted once confirmed.
func (s *JournalSink) PublishEventAsync(ctx context.Context, e *callapi.Event) (asterisk.Confirm, error) {
	c, err := s.bus.PublishEventAsync(ctx, e)
	if err != nil || e.Type != callapi.EvCallHangup {
		return c, err
	}
	if c == nil {
		s.note(e)
		return nil, nil
	}
	return &notedConfirm{c: c, s: s, e: e}, nil
}

// notedConfirm records a call.hangup in the journal once it is confirmed.
type notedConfirm struct {
	c asterisk.Confirm
	s *JournalSink
	e *callapi.Event
}

func (n *notedConfirm) Wait(ctx context.Context) error {
	err := n.c.Wait(ctx)
	if err == nil {
		n.s.note(n.e)
	}
	return err
}
