package gateway

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

// ControlPlayback runs a playback operation (pause, unpause, restart,
// forward, reverse) on the node of the playback.
func (s *Service) ControlPlayback(ctx context.Context, o Options, id string, a callapi.PlaybackControlArgs) (*callapi.Playback, error) {
	if !callapi.ValidID(id) {
		return nil, callapi.Invalid("id", "%q is not a valid playback id", id)
	}
	var pb callapi.Playback
	if _, err := s.routed(ctx, o, playbackRes(o.Tenant, id), callapi.ActPlaybackControl, &a, &pb); err != nil {
		return nil, err
	}
	return &pb, nil
}

// ControlRecording runs a recording operation (pause, unpause, mute,
// unmute) on the node of the live recording.
func (s *Service) ControlRecording(ctx context.Context, o Options, name string, a callapi.RecordingControlArgs) (*callapi.Recording, error) {
	if !callapi.ValidID(name) {
		return nil, callapi.Invalid("name", "%q is not a valid recording name", name)
	}
	var r callapi.Recording
	if _, err := s.routed(ctx, o, recordingRes(o.Tenant, name), callapi.ActRecordingControl, &a, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
