package restapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// bridgeList is the body of GET /v1/bridges.
type bridgeList struct {
	Bridges      []*callapi.Bridge `json:"bridges"`
	MissingNodes []callapi.NodeID  `json:"missing_nodes"`
}

// bridgeID reads and checks the {id} path parameter of a bridge route.
func bridgeID(r *http.Request) (callapi.BridgeID, error) {
	id, err := pathParam(r, "id")
	if err != nil {
		return "", err
	}
	if err := callapi.CheckID("id", "bridge id", id); err != nil {
		return "", err
	}
	return callapi.BridgeID(id), nil
}

// handleCreateBridge serves POST /v1/bridges: 201 with the bridge. It is
// always synchronous (the service gives no asynchronous form): Prefer:
// respond-async is ignored, and Preference-Applied is not sent.
func (s *Server) handleCreateBridge(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	req, err := decodeBridge(s.limitBody(w, r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.bridges.CreateBridge(ctx, o, req)
	normBridge(b)
	if err != nil && b != nil {
		// The bridge exists but a call could not be added: say so, so
		// that the client can use or destroy it.
		w.Header().Set("Location", bridgeURL(b.ID))
		err = partialBridge(b, err)
	}
	s.created(w, r, bridgeURL(bridgeIDOf(b)), b, b == nil, nil, err)
}

// normBridge makes an empty call list a JSON array.
func normBridge(b *callapi.Bridge) {
	if b != nil && b.Calls == nil {
		b.Calls = []callapi.CallID{}
	}
}

func bridgeIDOf(b *callapi.Bridge) callapi.BridgeID {
	if b == nil {
		return ""
	}
	return b.ID
}

// partialBridge keeps the code and field of err and names the bridge that
// was created in its message.
func partialBridge(b *callapi.Bridge, err error) error {
	ge := &callapi.Error{}
	if !errors.As(err, &ge) {
		return err // internal: the message is not shown anyway
	}
	return &callapi.Error{
		Code: ge.Code, Field: ge.Field, Err: err,
		Msg: "bridge " + string(b.ID) + " was created (Location), but not every call was added: " + ge.Msg,
	}
}

// handleListBridges serves GET /v1/bridges.
func (s *Server) handleListBridges(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	bs, missing, err := s.bridges.Bridges(ctx, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if bs == nil {
		bs = []*callapi.Bridge{}
	}
	for _, b := range bs {
		normBridge(b)
	}
	if missing == nil {
		missing = []callapi.NodeID{}
	}
	writeJSON(w, http.StatusOK, bridgeList{Bridges: bs, MissingNodes: missing})
}

// handleGetBridge serves GET /v1/bridges/{id}.
func (s *Server) handleGetBridge(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	id, err := bridgeID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b callapi.Bridge
	if _, err := s.bridges.BridgeAction(ctx, o, id, callapi.ActBridgeGet, nil, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	normBridge(&b)
	writeJSON(w, http.StatusOK, &b)
}

// bridgeAction serves a bridge-scoped action answered 204 (202 when
// async); args decodes the body.
func (s *Server) bridgeAction(a callapi.Action, args argsFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, cancel, ok := parseCommand(s, w, r, true, bridgeID, args)
		if !ok {
			return
		}
		defer cancel()
		acc, err := s.bridges.BridgeAction(c.ctx, c.o, c.id, a, c.args, nil)
		s.noContent(w, r, acc, err)
	}
}

// handleBridgeRemove serves DELETE /v1/bridges/{id}/calls/{call_id}.
func (s *Server) handleBridgeRemove(w http.ResponseWriter, r *http.Request) {
	s.bridgeAction(callapi.ActBridgeRemove, func(io.Reader) (any, error) {
		c, err := pathParam(r, "call_id")
		return &callapi.BridgeCallArgs{CallID: callapi.CallID(c)}, err
	})(w, r)
}

// handleBridgePlay serves POST /v1/bridges/{id}/play: 201 with the
// playback.
func (s *Server) handleBridgePlay(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, bridgeID, decodePlay)
	if !ok {
		return
	}
	defer cancel()
	var pb callapi.Playback
	acc, err := s.bridges.BridgeAction(c.ctx, c.o, c.id, callapi.ActBridgePlay, &c.args, &pb)
	s.createdPlayback(w, r, &pb, acc, err)
}

// handleBridgeRecord serves POST /v1/bridges/{id}/record: 201 with the
// live recording.
func (s *Server) handleBridgeRecord(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, bridgeID, decodeRecord)
	if !ok {
		return
	}
	defer cancel()
	var rec callapi.Recording
	acc, err := s.bridges.BridgeAction(c.ctx, c.o, c.id, callapi.ActBridgeRecord, &c.args, &rec)
	s.createdRecording(w, r, c.args.Name, &rec, acc, err)
}

// handleTransfer serves POST /v1/transfers (attended transfer): 201 with
// the bridge that joins transferee and target. Always synchronous, like
// bridge creation.
func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	args, err := decodeTransfer(s.limitBody(w, r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.bridges.Transfer(ctx, o, args)
	normBridge(b)
	s.created(w, r, bridgeURL(bridgeIDOf(b)), b, b == nil, nil, err)
}
