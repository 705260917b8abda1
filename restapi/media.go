package restapi

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// The playback and recording routes. The service answers them
// synchronously only (it has no asynchronous form for them), so Prefer:
// respond-async is ignored here and Preference-Applied is not sent.

// recordingList is the body of GET /v1/recordings/stored.
type recordingList struct {
	Recordings   []*callapi.Recording `json:"recordings"`
	MissingNodes []callapi.NodeID     `json:"missing_nodes"`
}

// mediaID reads and checks a playback id or recording name path
// parameter; field names it in errors.
func mediaID(r *http.Request, param, field, what string) (string, error) {
	id, err := pathParam(r, param)
	if err != nil {
		return "", err
	}
	if err := callapi.CheckID(field, what, id); err != nil {
		return "", err
	}
	return id, nil
}

// mediaOp runs one service call about a playback or recording, filling out
// (nil for operations without a result).
type mediaOp func(ctx context.Context, o gateway.Options, id string, out any) error

// mediaRoute serves a GET (200 with the value newOut returns, filled by
// op) or a stop/delete (newOut returns nil: 204) of one playback or
// recording. A POST takes no body, or {}. param is the path parameter, field and what name it in
// errors.
func (s *Server) mediaRoute(param, field, what string, newOut func() any, op mediaOp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ctx, cancel, err := s.begin(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer cancel()
		id, err := mediaID(r, param, field, what)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := decodeEmpty(s.limitBody(w, r)); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		out := newOut()
		if err := op(ctx, o, id, out); err != nil {
			s.fail(w, r, err)
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func newPlayback() any  { return &callapi.Playback{} }
func newRecording() any { return &callapi.Recording{} }
func noResult() any     { return nil }

func (s *Server) playbackOp(a callapi.Action) mediaOp {
	return func(ctx context.Context, o gateway.Options, id string, out any) error {
		return s.media.PlaybackAction(ctx, o, id, a, out)
	}
}

func (s *Server) liveRecordingOp(a callapi.Action) mediaOp {
	return func(ctx context.Context, o gateway.Options, name string, out any) error {
		return s.media.RecordingAction(ctx, o, name, a, out)
	}
}

func (s *Server) storedRecordingOp(a callapi.Action) mediaOp {
	return func(ctx context.Context, o gateway.Options, name string, out any) error {
		return s.media.StoredRecording(ctx, o, name, a, out)
	}
}

// handleListStored serves GET /v1/recordings/stored.
func (s *Server) handleListStored(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	recs, missing, err := s.media.StoredRecordings(ctx, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if recs == nil {
		recs = []*callapi.Recording{}
	}
	if missing == nil {
		missing = []callapi.NodeID{}
	}
	writeJSON(w, http.StatusOK, recordingList{Recordings: recs, MissingNodes: missing})
}
