package restapi

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// MediaOps is what the media control routes need beyond Media.
// *gateway.Service implements it; a Media without it answers them
// not_implemented.
type MediaOps interface {
	ControlPlayback(ctx context.Context, o gateway.Options, id string, a callapi.PlaybackControlArgs) (*callapi.Playback, error)
	ControlRecording(ctx context.Context, o gateway.Options, name string, a callapi.RecordingControlArgs) (*callapi.Recording, error)
}

var _ MediaOps = (*gateway.Service)(nil)

func (s *Server) mediaOps() (MediaOps, error) {
	if m, ok := s.media.(MediaOps); ok {
		return m, nil
	}
	return nil, callapi.Errorf(callapi.CodeNotImplemented, "this gateway cannot control playbacks and recordings")
}

// handlePlaybackControl serves POST /v1/playbacks/{id}/control with
// {"operation": "pause"|"unpause"|"restart"|"forward"|"reverse"}: 200 with
// the playback as the operation left it.
func (s *Server) handlePlaybackControl(w http.ResponseWriter, r *http.Request) {
	o, ctx, cancel, err := s.begin(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cancel()
	id, err := mediaID(r, "id", "id", "playback id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.mediaOps()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var a callapi.PlaybackControlArgs
	if err := decodeJSON(s.limitBody(w, r), &a); err != nil {
		s.fail(w, r, err)
		return
	}
	pb, err := m.ControlPlayback(ctx, o, id, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pb)
}

// recordingControl serves POST|DELETE /v1/recordings/live/{name}/pause|mute
// (op): 200 with the recording as the operation left it.
func (s *Server) recordingControl(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ctx, cancel, err := s.begin(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer cancel()
		name, err := mediaID(r, "name", "name", "recording name")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m, err := s.mediaOps()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := decodeEmpty(s.limitBody(w, r)); err != nil {
			s.fail(w, r, err)
			return
		}
		rec, err := m.ControlRecording(ctx, o, name, callapi.RecordingControlArgs{Operation: op})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	}
}
