package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/callgw/callgw/callapi"
)

// CallHandle is one call: the Client's call operations bound to its id.
// Client.Call makes one for a known id; Client.Dial places a call and
// returns its handle with an event subscription that began before the
// call existed. A handle is safe for concurrent use; it holds nothing but
// its id (and Dial's subscription, released by Close).
type CallHandle struct {
	c      *Client
	id     callapi.CallID
	placed *callapi.Call

	mu     sync.Mutex
	events *CallEvents // Dial's subscription, handed out once
}

// Call returns the handle of the call id. It sends nothing.
func (c *Client) Call(id callapi.CallID) *CallHandle { return &CallHandle{c: c, id: id} }

// ErrCallEnded is returned by CallHandle.PlayAndWait when the call hung up
// before the playback finished.
var ErrCallEnded = errors.New("callapi: the call ended")

// Dial places a call as Originate does and returns its handle, whose
// Events (the first call) returns a subscription opened before the
// originate was sent: it holds every event of the call from call.created
// on, even those published before Dial returned. The subscription lives
// until ctx ends, the call's call.hangup was read or Close is called;
// with Wait: WaitAnswered, a call that was not answered comes with a
// *NotAnsweredError and its handle, whose events end with call.hangup.
//
// Until the gateway names the call, the subscription receives the
// tenant's call events (only those carrying the request's first tag, when
// it has tags) and keeps them; give the call a tag of its own when the
// tenant places many calls at once.
func (c *Client) Dial(ctx context.Context, req callapi.OriginateRequest, opts ...CallOption) (*CallHandle, error) {
	f := EventFilter{Types: []callapi.EventType{"call."}}
	if len(req.Tags) > 0 {
		f.Tag = req.Tags[0]
	}
	st, err := c.Events(ctx, f, StreamOptions{})
	if err != nil {
		return nil, fmt.Errorf("callapi: dial: subscribing to the call's events: %w", err)
	}
	sub := newCallEvents(st, "")
	call, err := c.Originate(ctx, req, opts...)
	if call == nil {
		_ = sub.Close()
		return nil, err
	}
	sub.setID(call.ID)
	return &CallHandle{c: c, id: call.ID, placed: call, events: sub}, err
}

// ID is the call's id.
func (h *CallHandle) ID() callapi.CallID { return h.id }

// Originated is the call as Dial's originate answered it (state up once
// answered with WaitAnswered); nil for a handle from Client.Call.
func (h *CallHandle) Originated() *callapi.Call { return h.placed }

// Events returns a subscription to the call's events, connected when it
// returns. For a handle from Dial, the first call returns the
// subscription Dial opened (from call.created on); otherwise it holds the
// events published from now on. types narrow it (none: every call event).
func (h *CallHandle) Events(ctx context.Context, types ...callapi.EventType) (*CallEvents, error) {
	h.mu.Lock()
	sub := h.events
	h.events = nil
	h.mu.Unlock()
	if sub != nil && len(types) == 0 {
		return sub, nil
	}
	if sub != nil {
		_ = sub.Close()
	}
	return h.c.subscribeCall(ctx, h.id, types...)
}

// Close releases Dial's subscription when Events did not hand it out.
func (h *CallHandle) Close() error {
	h.mu.Lock()
	sub := h.events
	h.events = nil
	h.mu.Unlock()
	if sub != nil {
		return sub.Close()
	}
	return nil
}

// Get returns the call as it is now (GET /v1/calls/{id}); an ended call's
// record once it hung up.
func (h *CallHandle) Get(ctx context.Context, opts ...CallOption) (*callapi.Call, error) {
	return h.c.GetCall(ctx, h.id, opts...)
}

// Hangup ends the call (reason "": normal).
func (h *CallHandle) Hangup(ctx context.Context, reason string, opts ...CallOption) error {
	return h.c.Hangup(ctx, h.id, reason, opts...)
}

// Answer answers an inbound call.
func (h *CallHandle) Answer(ctx context.Context, opts ...CallOption) error {
	return h.c.Answer(ctx, h.id, opts...)
}

// Hold puts the call on hold.
func (h *CallHandle) Hold(ctx context.Context, opts ...CallOption) error {
	return h.c.Hold(ctx, h.id, opts...)
}

// Unhold takes the call off hold.
func (h *CallHandle) Unhold(ctx context.Context, opts ...CallOption) error {
	return h.c.Unhold(ctx, h.id, opts...)
}

// SendDTMF sends digits to the call.
func (h *CallHandle) SendDTMF(ctx context.Context, req DTMFRequest, opts ...CallOption) error {
	return h.c.SendDTMF(ctx, h.id, req, opts...)
}

// Play starts playing media to the call; PlayAndWait waits for the end.
func (h *CallHandle) Play(ctx context.Context, req PlayRequest, opts ...CallOption) (*callapi.Playback, error) {
	return h.c.Play(ctx, h.id, req, opts...)
}

// Record records the call.
func (h *CallHandle) Record(ctx context.Context, req RecordRequest, opts ...CallOption) (*callapi.Recording, error) {
	return h.c.Record(ctx, h.id, req, opts...)
}

// PlayAndWait plays media to the call and returns when the playback
// finished (its call.playback.finished): the Playback with its final
// state (done, or failed). It returns ErrCallEnded when the call hung up
// first, and ctx's error when ctx ended first (the playback goes on:
// StopPlayback stops it).
func (h *CallHandle) PlayAndWait(ctx context.Context, req PlayRequest, opts ...CallOption) (*callapi.Playback, error) {
	sub, err := h.c.subscribeCall(ctx, h.id, callapi.EvCallPlaybackFinished, callapi.EvCallHangup)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	p, err := h.Play(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	for {
		e, err := sub.Next()
		if err != nil {
			return p, err
		}
		if e.Type == callapi.EvCallHangup {
			return p, ErrCallEnded
		}
		d, err := callapi.Data[callapi.PlaybackData](e)
		if err != nil {
			return p, err
		}
		if d.PlaybackID == p.ID {
			p.State = d.State
			return p, nil
		}
	}
}
