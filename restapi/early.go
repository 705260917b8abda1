package restapi

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// EarlyCalls is what the create-then-dial and text-message routes need
// beyond Calls. *gateway.Service implements it; a Calls without it answers
// those routes not_implemented.
type EarlyCalls interface {
	CreateCall(ctx context.Context, o gateway.Options, req callapi.CreateRequest) (*callapi.Call, error)
	SendMessage(ctx context.Context, o gateway.Options, req callapi.MessageRequest) (*callapi.MessageSent, error)
}

var _ EarlyCalls = (*gateway.Service)(nil)

// early returns the calls service as EarlyCalls, or not_implemented.
func (s *Server) early() (EarlyCalls, error) {
	if e, ok := s.calls.(EarlyCalls); ok {
		return e, nil
	}
	return nil, callapi.Errorf(callapi.CodeNotImplemented, "this gateway cannot create calls before dialling them nor send messages")
}

// handleCreateCall serves POST /v1/calls/create: a call in the app, not
// dialled; 201 with the call (state down).
func (s *Server) handleCreateCall(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	e, err := s.early()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req callapi.CreateRequest
	if err := decodeJSON(s.limitBody(w, r), &req); err != nil {
		s.fail(w, r, err)
		return
	}
	call, err := e.CreateCall(ctx, o, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if info := infoOf(r.Context()); info != nil {
		info.callID = call.ID
	}
	s.created(w, r, callURL(call.ID), callView(call, principalOf(r.Context())), false, nil, nil)
}

// handleSendMessage serves POST /v1/messages: 202 once Asterisk took the
// message (its delivery is the endpoint's).
func (s *Server) handleSendMessage(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	e, err := s.early()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req callapi.MessageRequest
	if err := decodeJSON(s.limitBody(w, r), &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sent, err := e.SendMessage(ctx, o, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, sent)
}
