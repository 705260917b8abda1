package restapi

import (
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// The action routes come from gateway's action registry: every REST route
// of every callapi.Spec is registered here, with the handler of
// actionHandlers when the route needs its own (a created resource, a path
// parameter beyond the id, a listing), else with the generic handler of an
// action on an existing call or bridge: the body decoded strictly into the
// action's argument type, validated by the service through the same Spec,
// answered 204 (202 when asynchronous). A GET needs the read scope,
// everything else the write scope. So adding a call or bridge action is one
// callapi.Spec (and its PBX method; its route in openapi.json);
// TestSpecsWalk holds the router and openapi.json to the registry.

// actionHandlers are the actions of the registry whose routes need their
// own handler: one per route of the Spec's REST, in its order (nil: that
// route is served by the generic handler). The routes themselves are
// written once, in the Spec.
func (s *Server) actionHandlers() map[callapi.Action][]http.HandlerFunc {
	m := map[callapi.Action][]http.HandlerFunc{
		callapi.ActCallOriginate: {s.handleOriginate},
		callapi.ActCallList:      {s.handleListCalls},
		callapi.ActCallGet:       {s.handleGetCall},
		callapi.ActCallHangup:    {s.handleHangup},
		callapi.ActCallRing:      {nil, s.callAction(callapi.ActCallRing, ringOff)}, // ring (generic), ring/stop
		callapi.ActCallPlay:      {s.handlePlay},
		callapi.ActCallRecord:    {s.handleRecord},
		callapi.ActCallSnoop:     {s.handleSnoop},
		callapi.ActCallVarGet:    {s.handleGetVariable},
		callapi.ActCallVarSet:    {s.handleSetVariable},
		callapi.ActBridgeCreate:  {s.handleCreateBridge},
		callapi.ActBridgeList:    {s.handleListBridges},
		callapi.ActBridgeGet:     {s.handleGetBridge},
		callapi.ActBridgeRemove:  {s.handleBridgeRemove},
		callapi.ActBridgePlay:    {s.handleBridgePlay},
		callapi.ActBridgeRecord:  {s.handleBridgeRecord},
		callapi.ActCallTransfer:  {s.handleTransfer},
		callapi.ActPlaybackGet:   {s.mediaRoute("id", "id", "playback id", newPlayback, s.playbackOp(callapi.ActPlaybackGet))},
		callapi.ActPlaybackStop:  {s.mediaRoute("id", "id", "playback id", noResult, s.playbackOp(callapi.ActPlaybackStop))},
		callapi.ActRecordingGet:  {s.mediaRoute("name", "name", "recording name", newRecording, s.liveRecordingOp(callapi.ActRecordingGet))},
		callapi.ActRecordingStop: {s.mediaRoute("name", "name", "recording name", noResult, s.liveRecordingOp(callapi.ActRecordingStop))},
		callapi.ActStoredList:    {s.handleListStored},
		callapi.ActStoredGet:     {s.mediaRoute("name", "name", "recording name", newRecording, s.storedRecordingOp(callapi.ActStoredGet))},
		callapi.ActStoredDelete:  {s.mediaRoute("name", "name", "recording name", noResult, s.storedRecordingOp(callapi.ActStoredDelete))},
		callapi.ActCallCreate:    {s.handleCreateCall},
		callapi.ActMessageSend:   {s.handleSendMessage},

		// Media control: the recording's four routes are one action.
		callapi.ActPlaybackControl: {s.handlePlaybackControl},
		callapi.ActRecordingControl: {s.recordingControl(callapi.RecordingPause), s.recordingControl(callapi.RecordingUnpause),
			s.recordingControl(callapi.RecordingMute), s.recordingControl(callapi.RecordingUnmute)},
	}
	for a, hs := range s.nodeResourceHandlers() {
		m[a] = hs
	}
	return m
}

// actionRoute is one REST route of a Spec as the router serves it.
type actionRoute struct {
	method, path string
	spec         *callapi.Spec
	handler      http.HandlerFunc
	generic      bool // served by the generic call-action handler
}

// actionRoutes resolves the REST routes of the registry. A route with
// neither its own handler nor the shape of a generic action (a
// registry entry restapi cannot serve) answers not_implemented; the
// returned list names them (TestSpecsWalk requires it empty).
func (s *Server) actionRoutes() (routes []actionRoute, unserved []string) {
	own := s.actionHandlers()
	for _, spec := range callapi.Specs() {
		for i, rt := range spec.REST {
			method, path, _ := strings.Cut(rt, " ")
			var h http.HandlerFunc
			if hs := own[spec.Action]; i < len(hs) {
				h = hs[i]
			}
			ok := h != nil
			generic := !ok && genericAction(spec)
			switch {
			case ok:
			case generic && spec.ID == callapi.IDCall:
				h = s.callAction(spec.Action, specArgs(spec))
			case generic:
				h = s.bridgeAction(spec.Action, specArgs(spec))
			default:
				unserved = append(unserved, rt)
				h = func(w http.ResponseWriter, r *http.Request) {
					s.fail(w, r, callapi.Errorf(callapi.CodeNotImplemented, "%s has no REST handler", spec.Action))
				}
			}
			routes = append(routes, actionRoute{method: method, path: path, spec: spec, handler: h, generic: generic})
		}
	}
	return routes, unserved
}

// genericAction reports whether spec can be served by callAction or
// bridgeAction: an action on an existing call or bridge without a result.
func genericAction(spec *callapi.Spec) bool {
	return (spec.ID == callapi.IDCall || spec.ID == callapi.IDBridge) && !spec.NewID && spec.Result == nil
}

// registerActions adds the registry's routes to r, each behind the check
// of the service its Spec's port needs (needPort), then its scope.
func (s *Server) registerActions(r chi.Router) {
	routes, unserved := s.actionRoutes()
	for _, rt := range routes {
		scope := ScopeCallsWrite
		if rt.method == http.MethodGet {
			scope = ScopeCallsRead
		}
		r.With(s.needPort(rt.spec.Port), s.require(scope)).Method(rt.method, rt.path, rt.handler)
	}
	for _, rt := range unserved {
		s.log.Error("a registered action has no REST handler: it answers not_implemented", zap.String("route", rt))
	}
}

// missingService says which service the routes of an action on PBX port p
// need and lacks: NewServer's calls for the calls' lifecycle and control,
// the Bridges or Media it implements for the others; nil when it is there.
func (s *Server) missingService(p callapi.Port) error {
	switch {
	case p == callapi.PortBridges && s.bridges == nil:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "bridge control is not configured on this gateway")
	case p == callapi.PortMedia && s.media == nil:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "playback and recording control is not configured on this gateway")
	case p == callapi.PortNodeRes && s.noderes == nil:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "node resource control is not configured on this gateway")
	case s.calls == nil:
		return callapi.Errorf(callapi.CodeNodeUnavailable, "call control is not configured on this gateway")
	}
	return nil
}

// needPort answers 503 on the routes of an action whose service (see
// missingService) NewServer was not given.
func (s *Server) needPort(p callapi.Port) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := s.missingService(p); err != nil {
				s.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// specArgs decodes an optional body (nothing, or one JSON object with the
// members of the action's argument type) into a new value of that type;
// nil for an action without arguments.
func specArgs(spec *callapi.Spec) argsFunc {
	if spec.Args == reflect.TypeFor[callapi.NoArgs]() {
		return func(b io.Reader) (any, error) { return nil, decodeEmpty(b) }
	}
	return func(b io.Reader) (any, error) {
		v := spec.NewArgs()
		return v, decodeOptionalJSON(b, v)
	}
}
