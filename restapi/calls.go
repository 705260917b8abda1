package restapi

import (
	"io"
	"net/http"
	"net/url"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// callList is the body of GET /v1/calls.
type callList struct {
	Calls        []*callapi.Call  `json:"calls"`
	MissingNodes []callapi.NodeID `json:"missing_nodes"`
	NextCursor   string           `json:"next_cursor,omitempty"`
}

func callURL(id callapi.CallID) string { return "/v1/calls/" + url.PathEscape(string(id)) }

// accepted answers an async request: 202, the command id, and
// Preference-Applied.
func accepted(w http.ResponseWriter, r *http.Request, acc *callapi.Accepted) {
	if info := infoOf(r.Context()); info != nil {
		info.commandID = acc.CommandID
		if acc.CallID != "" {
			info.callID = acc.CallID
		}
	}
	w.Header().Set("Preference-Applied", "respond-async")
	writeJSON(w, http.StatusAccepted, acc)
}

// handleOriginate serves POST /v1/calls.
func (s *Server) handleOriginate(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query(), "timeout"); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkContentType(r, "application/json"); err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.options(r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decodeOriginate(s.limitBody(w, r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel, err := s.originateDeadline(r, req.OriginateArgs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	call, acc, err := s.calls.Originate(ctx, o, req)
	switch {
	case err != nil:
		s.fail(w, r, err)
	case acc != nil:
		accepted(w, r, acc)
	case call == nil:
		s.fail(w, r, callapi.Errorf(callapi.CodeInternal, "originate returned neither a call nor an acceptance"))
	default:
		if info := infoOf(r.Context()); info != nil {
			info.callID = call.ID
		}
		w.Header().Set("Location", callURL(call.ID))
		writeJSON(w, http.StatusCreated, callView(call, principalOf(r.Context())))
	}
}

// handleListCalls serves GET /v1/calls.
func (s *Server) handleListCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "node", "state", "tag", "tenant", "timeout", "limit", "cursor"); err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := pageOf(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := gateway.ListRequest{Node: callapi.NodeID(q.Get("node"))}
	req.State = callapi.CallState(q.Get("state"))
	req.Tag = q.Get("tag")
	// An admin may list every tenant's calls, live or ended (the
	// operator's console does).
	all, err := allTenants(r, "every tenant's calls")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.AllTenants = all
	if q.Has("node") {
		if err := callapi.CheckNodeID("node", req.Node); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// The filters are the service's to check (callapi.ListArgs); a filter
	// given empty is no filter there, but an error here.
	for _, k := range []string{"state", "tag"} {
		if q.Has(k) && q.Get(k) == "" {
			s.fail(w, r, callapi.Invalid(k, "given empty"))
			return
		}
	}
	o, err := s.options(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel, err := s.withDeadline(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	calls, missing, err := s.calls.Calls(ctx, o, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if calls == nil {
		calls = []*callapi.Call{}
	}
	if missing == nil {
		missing = []callapi.NodeID{}
	}
	calls, next := pg.apply(callsView(calls, principalOf(r.Context())))
	writeJSON(w, http.StatusOK, callList{Calls: calls, MissingNodes: missing, NextCursor: next})
}

// callID reads and checks the {id} path parameter.
func callID(r *http.Request) (callapi.CallID, error) {
	id, err := pathParam(r, "id")
	if err != nil {
		return "", err
	}
	if err := callapi.CheckID("id", "call id", id); err != nil {
		return "", err
	}
	return callapi.CallID(id), nil
}

// handleGetCall serves GET /v1/calls/{id}.
func (s *Server) handleGetCall(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, false, callID, func(io.Reader) (struct{}, error) { return struct{}{}, nil })
	if !ok {
		return
	}
	defer cancel()
	call, err := s.calls.Call(c.ctx, c.o, c.id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := callJSONView(call, principalOf(r.Context()))
	if view == nil {
		s.fail(w, r, callapi.Errorf(callapi.CodeInternal, "the node answered a call that is not a JSON object"))
		return
	}
	writeRawJSON(w, http.StatusOK, view)
}

// handleHangup serves DELETE /v1/calls/{id} (optional query reason).
func (s *Server) handleHangup(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, func(io.Reader) (callapi.HangupArgs, error) {
		return callapi.HangupArgs{Reason: r.URL.Query().Get("reason")}, nil
	}, "reason")
	if !ok {
		return
	}
	defer cancel()
	acc, err := s.calls.Hangup(c.ctx, c.o, c.id, c.args.Reason)
	s.noContent(w, r, acc, err)
}
