package client

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"

	"github.com/callgw/callgw/callapi"
)

// maxPending bounds the events a Dial subscription keeps while the
// originate is under way and the call's id is not known yet.
const maxPending = 4096

// errPendingOverflow ends a Dial subscription that received more events
// than maxPending before the originate answered.
var errPendingOverflow = errors.New("callapi: call events: too many events before the originate answered (give the call a tag of its own)")

// CallEvents is the event subscription of one call, from CallHandle.Events
// or Client.Dial. Next returns the call's events in order; after it
// returned call.hangup (callapi.EvCallHangup), the call's last event, it
// returns io.EOF and All ends. It is meant for one reading goroutine;
// Close may be called from any.
type CallEvents struct {
	stream *EventStream
	notify chan struct{}

	mu       sync.Mutex
	id       callapi.CallID // "" while a Dial's originate is under way
	queue    []*callapi.Event
	err      error // the stream's end
	finished bool  // the call's call.hangup is queued: nothing follows it
}

// newCallEvents reads stream for the events of call id ("" until setID).
func newCallEvents(stream *EventStream, id callapi.CallID) *CallEvents {
	s := &CallEvents{stream: stream, id: id, notify: make(chan struct{}, 1)}
	go s.pump()
	return s
}

// pump reads the stream ahead of Next, so that the gateway never finds
// the subscriber slow while a Dial waits for its originate.
func (s *CallEvents) pump() {
	for {
		e, err := s.stream.Next()
		s.mu.Lock()
		switch {
		case s.finished:
			s.mu.Unlock()
			return
		case err != nil:
			s.err = err
		case s.id == "" && len(s.queue) >= maxPending:
			s.err = errPendingOverflow
		case s.id == "" || e.CallID == s.id:
			s.queue = append(s.queue, e)
			s.finished = s.id != "" && e.Type == callapi.EvCallHangup
		}
		stop := s.err != nil || s.finished
		s.mu.Unlock()
		s.wake()
		if stop {
			_ = s.stream.Close()
			return
		}
	}
}

// setID names the call once the originate answered: events of other
// calls read meanwhile are dropped.
func (s *CallEvents) setID(id callapi.CallID) {
	s.mu.Lock()
	kept := s.queue[:0]
	for _, e := range s.queue {
		if e.CallID == id {
			kept = append(kept, e)
			s.finished = s.finished || e.Type == callapi.EvCallHangup
		}
	}
	clear(s.queue[len(kept):])
	s.queue, s.id = kept, id
	finished := s.finished
	s.mu.Unlock()
	if finished {
		_ = s.stream.Close()
	}
	s.wake()
}

func (s *CallEvents) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next returns the call's next event. It returns io.EOF after the call's
// call.hangup, and an error when the subscription's context ended, it was
// closed, or its stream failed for good (see EventStream.Next).
func (s *CallEvents) Next() (*callapi.Event, error) {
	for {
		s.mu.Lock()
		if s.id != "" && len(s.queue) > 0 {
			e := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return e, nil
		}
		finished, err := s.finished, s.err
		s.mu.Unlock()
		switch {
		case finished:
			return nil, io.EOF
		case err != nil:
			return nil, err
		}
		<-s.notify
	}
}

// All iterates over the call's events until its call.hangup, which is the
// last value; an error, if any, ends the iteration.
func (s *CallEvents) All() iter.Seq2[*callapi.Event, error] {
	return func(yield func(*callapi.Event, error) bool) {
		for {
			e, err := s.Next()
			if err == io.EOF {
				return
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// Wait returns the first event of one of types (callapi.EvCallAnswered,
// …), skipping the others. It returns io.EOF when the call ended first
// (unless EvCallHangup is one of types).
func (s *CallEvents) Wait(types ...callapi.EventType) (*callapi.Event, error) {
	for {
		e, err := s.Next()
		if err != nil {
			return nil, err
		}
		for _, t := range types {
			if e.Type == t {
				return e, nil
			}
		}
	}
}

// Close ends the subscription; a blocked Next returns.
func (s *CallEvents) Close() error { return s.stream.Close() }

// subscribeCall opens a connected subscription to the events of call id
// (types narrow it; none: every call event).
func (c *Client) subscribeCall(ctx context.Context, id callapi.CallID, types ...callapi.EventType) (*CallEvents, error) {
	f := EventFilter{CallID: id, Types: types}
	if len(types) == 0 {
		f.Types = []callapi.EventType{"call."}
	}
	st, err := c.Events(ctx, f, StreamOptions{})
	if err != nil {
		return nil, err
	}
	return newCallEvents(st, id), nil
}
