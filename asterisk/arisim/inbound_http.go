package arisim

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"
)

// InboundPath is the simulator's own route (not ARI) that places an
// inbound call on request, as a phone calling in would: what `callctl
// inbound` and `curl` use in development to see direction: inbound flows
// without a PBX. It takes the ARI user's Basic credentials.
const InboundPath = "/ari-sim/inbound"

// InboundRequest is the body of POST /ari-sim/inbound.
type InboundRequest struct {
	From string   `json:"from"`           // the calling PJSIP endpoint, e.g. alice
	To   string   `json:"to,omitempty"`   // the dialled extension [100]
	Args []string `json:"args,omitempty"` // Stasis arguments [the extension]
	App  string   `json:"app,omitempty"`  // Stasis app [Config.InboundApp]
	// HangupAfter, a duration ("30s"), makes the caller hang up (cause 16)
	// that long after the call entered Stasis; empty: it stays.
	HangupAfter string `json:"hangup_after,omitempty"`
}

// InboundAnswer is the answer of POST /ari-sim/inbound.
type InboundAnswer struct {
	ChannelID string `json:"channel_id"` // the call id callgw gives the call
	From      string `json:"from"`
	To        string `json:"to"`
	App       string `json:"app"`
}

var simWord = regexp.MustCompile(`^[A-Za-z0-9_+*#.-]{1,64}$`)

// decodeControl reads the JSON body of a POST to one of the simulator's
// control routes (/ari-sim/…) into req: at most 16 KiB, no unknown
// field. It answers the refusal itself (405, 400) and then reports false.
func decodeControl(w http.ResponseWriter, r *http.Request, req any) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "POST only")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) serveInbound(w http.ResponseWriter, r *http.Request) {
	var req InboundRequest
	if !decodeControl(w, r, &req) {
		return
	}
	if req.To == "" {
		req.To = "100"
	}
	if req.App == "" {
		req.App = s.cfg.InboundApp
	}
	var after time.Duration
	if req.HangupAfter != "" {
		d, err := time.ParseDuration(req.HangupAfter)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "hangup_after: a positive duration such as 30s")
			return
		}
		after = d
	}
	for _, v := range append([]string{req.From, req.To, req.App}, req.Args...) {
		if !simWord.MatchString(v) {
			writeError(w, http.StatusBadRequest, "from, to, app and args are 1-64 of [A-Za-z0-9_+*#.-]; got "+v)
			return
		}
	}
	id, err := s.InboundCallApp(req.App, req.From, req.To, req.Args...)
	switch {
	case errors.Is(err, ErrAppNotRegistered):
		writeError(w, http.StatusConflict, "no WebSocket serves Stasis app "+req.App+": is the worker connected?")
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if after > 0 {
		s.mu.Lock()
		s.after(after, func() {
			if c := s.channels[id]; c != nil {
				s.farEndHangup(c, 16)
			}
		})
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(InboundAnswer{ChannelID: id, From: req.From, To: req.To, App: req.App})
}
