package restapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// The call-control routes: POST /v1/calls/{id}/<verb>, the variables and
// music on hold. Every one of them needs the call under callgw's control
// (in its Stasis application) except snoop; the worker answers conflict
// otherwise, which is 409 here.

// callRoutes is the prefix of the routes on one call, where an admin token
// may name the call's tenant (actAs).
const callRoutes = "/v1/calls/{id}"

// actAs lets an admin token act on another tenant's call: on the routes on
// one call (callRoutes) the query "tenant" names the call's tenant, which
// becomes the command's. Only an admin token may name a tenant other than
// its own (403 otherwise); without the query a call of another tenant stays
// not found, for admins too.
func (s *Server) actAs(r *http.Request, o *gateway.Options) error {
	q := r.URL.Query()
	if !q.Has("tenant") || !strings.HasPrefix(routePattern(r), callRoutes) {
		return nil
	}
	t := q.Get("tenant")
	if !callapi.ValidTenant(t) {
		return callapi.Invalid("tenant", "%q is not 1-64 of [A-Za-z0-9_-]", t)
	}
	if t == o.Tenant {
		return nil
	}
	if !principalOf(r.Context()).Has(ScopeAdmin) {
		return callapi.Errorf(callapi.CodeForbidden, "acting on another tenant's call needs the %s scope", ScopeAdmin)
	}
	if o.IdempotencyKey != "" {
		// Keys are per tenant: the admin's would share the other
		// tenant's, and replay or pre-empt that tenant's own requests.
		return callapi.Invalid("Idempotency-Key", "not accepted when acting on another tenant's call: idempotency keys belong to the call's tenant")
	}
	o.Tenant = t
	if info := infoOf(r.Context()); info != nil {
		info.tenant = t
	}
	return nil
}

// begin runs the steps every command route shares: it refuses unknown
// query parameters (timeout is always allowed; tenant too on the routes on
// one call, see actAs), checks the Content-Type of
// requests that may carry a body, builds the options (Prefer:
// respond-async is honoured only when asyncOK) and derives the deadline.
// On success the caller must call cancel.
func (s *Server) begin(r *http.Request, asyncOK bool, query ...string) (gateway.Options, context.Context, context.CancelFunc, error) {
	allowed := append(query, "timeout")
	if strings.HasPrefix(routePattern(r), callRoutes) {
		allowed = append(allowed, "tenant")
	}
	if err := checkQuery(r.URL.Query(), allowed...); err != nil {
		return gateway.Options{}, nil, nil, err
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := checkContentType(r, "application/json"); err != nil {
			return gateway.Options{}, nil, nil, err
		}
	}
	o, err := s.options(r, asyncOK)
	if err != nil {
		return o, nil, nil, err
	}
	if err := s.actAs(r, &o); err != nil {
		return o, nil, nil, err
	}
	ctx, cancel, err := s.withDeadline(r)
	if err != nil {
		return o, nil, nil, err
	}
	return o, ctx, cancel, nil
}

// command is a command route's request once its preamble passed: the
// options, the deadline, the resource id from the path and the decoded body.
type command[I, A any] struct {
	o    gateway.Options
	ctx  context.Context
	id   I
	args A
}

// parseCommand runs the preamble every command route on one resource
// shares: begin (query names the parameters allowed besides timeout), the
// path id (idOf) and the body (dec). On error it has
// answered and returns ok false; otherwise the caller must call cancel.
func parseCommand[I, A any](s *Server, w http.ResponseWriter, r *http.Request, asyncOK bool,
	idOf func(*http.Request) (I, error), dec func(io.Reader) (A, error), query ...string) (c command[I, A], cancel context.CancelFunc, ok bool) {
	o, ctx, cancel, err := s.begin(r, asyncOK, query...)
	if err != nil {
		s.fail(w, r, err)
		return c, nil, false
	}
	c.o, c.ctx = o, ctx
	if c.id, err = idOf(r); err == nil {
		c.args, err = dec(s.limitBody(w, r))
	}
	if err != nil {
		cancel()
		s.fail(w, r, err)
		return c, nil, false
	}
	return c, cancel, true
}

// noContent answers a command without a result: 204, 202 when it was accepted
// asynchronously, or the error.
func (s *Server) noContent(w http.ResponseWriter, r *http.Request, acc *callapi.Accepted, err error) {
	switch {
	case err != nil:
		s.fail(w, r, err)
	case acc != nil:
		accepted(w, r, acc)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// created answers a command that created something: 201 with Location and
// the resource, 202 when accepted asynchronously (with Location too when
// the resource's name is known in advance), or the error. isNil reports a
// missing result (a service bug, answered 500).
func (s *Server) created(w http.ResponseWriter, r *http.Request, loc string, v any, isNil bool, acc *callapi.Accepted, err error) {
	switch {
	case err != nil:
		s.fail(w, r, err)
	case acc != nil:
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		accepted(w, r, acc)
	case isNil:
		s.fail(w, r, callapi.Errorf(callapi.CodeInternal, "%s returned neither a result nor an acceptance", routePattern(r)))
	default:
		w.Header().Set("Location", loc)
		writeJSON(w, http.StatusCreated, v)
	}
}

// pathParam returns a path parameter, percent-decoded (chi routes on the
// escaped path when the request has one).
func pathParam(r *http.Request, key string) (string, error) {
	v := chi.URLParam(r, key)
	u, err := url.PathUnescape(v)
	if err != nil {
		return v, callapi.Invalid(key, "malformed percent-encoding")
	}
	return u, nil
}

// argsFunc decodes a route's body into the arguments of its action: a
// pointer, or nil for actions without arguments.
type argsFunc func(body io.Reader) (any, error)

// ringOff is the argument of POST /v1/calls/{id}/ring/stop.
func ringOff(b io.Reader) (any, error) {
	off := false
	return &callapi.RingArgs{On: &off}, decodeEmpty(b)
}

// callAction serves a call-scoped action answered 204 (202 when async).
func (s *Server) callAction(a callapi.Action, args argsFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, cancel, ok := parseCommand(s, w, r, true, callID, args)
		if !ok {
			return
		}
		defer cancel()
		acc, err := s.calls.CallAction(c.ctx, c.o, c.id, a, c.args, nil)
		s.noContent(w, r, acc, err)
	}
}

// Location headers of created resources.
func playbackURL(id string) string         { return "/v1/playbacks/" + url.PathEscape(id) }
func liveRecordingURL(name string) string  { return "/v1/recordings/live/" + url.PathEscape(name) }
func bridgeURL(id callapi.BridgeID) string { return "/v1/bridges/" + url.PathEscape(string(id)) }

// handlePlay serves POST /v1/calls/{id}/play: 201 with the playback.
func (s *Server) handlePlay(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, decodePlay)
	if !ok {
		return
	}
	defer cancel()
	pb, acc, err := s.calls.Play(c.ctx, c.o, c.id, c.args)
	s.createdPlayback(w, r, pb, acc, err)
}

// createdPlayback answers a play command: 201 with the playback, 202 with
// its Location when asynchronous (the id the service gave it).
func (s *Server) createdPlayback(w http.ResponseWriter, r *http.Request, pb *callapi.Playback, acc *callapi.Accepted, err error) {
	id := createdID(acc)
	if pb != nil && pb.ID != "" {
		id = pb.ID
	}
	loc := ""
	if id != "" {
		loc = playbackURL(id)
	}
	s.created(w, r, loc, pb, pb == nil || pb.ID == "", acc, err)
}

// createdID is the id the service gave what an accepted command creates
// ("" when unknown).
func createdID(acc *callapi.Accepted) string {
	if acc == nil {
		return ""
	}
	return acc.Created
}

// createdRecording answers a record command: 201 with the live recording,
// 202 with its Location when asynchronous.
func (s *Server) createdRecording(w http.ResponseWriter, r *http.Request, name string, rec *callapi.Recording, acc *callapi.Accepted, err error) {
	if rec != nil && rec.Name != "" {
		name = rec.Name
	}
	s.created(w, r, liveRecordingURL(name), rec, rec == nil || rec.Name == "", acc, err)
}

// handleRecord serves POST /v1/calls/{id}/record: 201 with the live
// recording.
func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, decodeRecord)
	if !ok {
		return
	}
	defer cancel()
	rec, acc, err := s.calls.Record(c.ctx, c.o, c.id, c.args)
	s.createdRecording(w, r, c.args.Name, rec, acc, err)
}

// handleSnoop serves POST /v1/calls/{id}/snoop: 201 with the new call.
func (s *Server) handleSnoop(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, decodeSnoop)
	if !ok {
		return
	}
	defer cancel()
	call, acc, err := s.calls.Snoop(c.ctx, c.o, c.id, c.args)
	loc := ""
	switch {
	case call != nil:
		loc = callURL(call.ID)
	case createdID(acc) != "":
		loc = callURL(callapi.CallID(acc.Created))
	}
	s.created(w, r, loc, callView(call, principalOf(r.Context())), call == nil, acc, err)
}

// variableName reads the {name} path parameter (the service checks it).
func variableName(r *http.Request) (string, error) {
	return pathParam(r, "name")
}

// handleGetVariable serves GET /v1/calls/{id}/variables/{name}.
func (s *Server) handleGetVariable(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, false, callID, func(io.Reader) (*callapi.VariableArgs, error) {
		name, err := variableName(r)
		return &callapi.VariableArgs{Name: name}, err
	})
	if !ok {
		return
	}
	defer cancel()
	var v callapi.Variable
	if _, err := s.calls.CallAction(c.ctx, c.o, c.id, callapi.ActCallVarGet, c.args, &v); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Name == "" {
		v.Name = c.args.Name
	}
	v.Value = variableView(v.Value, principalOf(r.Context()))
	writeJSON(w, http.StatusOK, v)
}

// handleSetVariable serves PUT /v1/calls/{id}/variables/{name}: 204.
func (s *Server) handleSetVariable(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, func(body io.Reader) (*callapi.VariableArgs, error) {
		name, err := variableName(r)
		if err != nil {
			return nil, err
		}
		return decodeVariable(body, name)
	})
	if !ok {
		return
	}
	defer cancel()
	acc, err := s.calls.CallAction(c.ctx, c.o, c.id, callapi.ActCallVarSet, c.args, nil)
	s.noContent(w, r, acc, err)
}
