package callapi

import (
	"context"
	"slices"
	"strings"
)

// Media control: a live playback paused, unpaused, restarted, moved
// forward or back; a live recording paused, unpaused, muted or unmuted
// (ARI's POST /playbacks/{id}/control and /recordings/live/{name}/pause|mute).

// Playback operations (PlaybackControlArgs.Operation), as ARI names them.
const (
	PlaybackPause   = "pause"
	PlaybackUnpause = "unpause"
	PlaybackRestart = "restart"
	PlaybackForward = "forward" // skip ahead (Asterisk: 3 s)
	PlaybackReverse = "reverse" // skip back (Asterisk: 3 s)
)

// Recording operations (RecordingControlArgs.Operation).
const (
	RecordingPause   = "pause"   // stop writing, keep the recording open (what is said meanwhile is not in the file)
	RecordingUnpause = "unpause" // write again
	RecordingMute    = "mute"    // write silence (the file keeps its length)
	RecordingUnmute  = "unmute"  // write the audio again
)

// PlaybackOperations and RecordingOperations list the operations of each.
var (
	PlaybackOperations  = []string{PlaybackPause, PlaybackUnpause, PlaybackRestart, PlaybackForward, PlaybackReverse}
	RecordingOperations = []string{RecordingPause, RecordingUnpause, RecordingMute, RecordingUnmute}
)

// Media control events: published by the worker once Asterisk accepted
// the operation (ARI itself announces none of them, see events.md).
const (
	EvCallPlaybackPaused    EventType = "call.playback.paused"
	EvCallPlaybackUnpaused  EventType = "call.playback.unpaused"
	EvCallPlaybackRestarted EventType = "call.playback.restarted"
	EvCallPlaybackForwarded EventType = "call.playback.forwarded"
	EvCallPlaybackReversed  EventType = "call.playback.reversed"
	EvCallRecordingPaused   EventType = "call.recording.paused"
	EvCallRecordingUnpaused EventType = "call.recording.unpaused"
	EvCallRecordingMuted    EventType = "call.recording.muted"
	EvCallRecordingUnmuted  EventType = "call.recording.unmuted"
)

// PlaybackControlEvent is the event type of playback operation op.
func PlaybackControlEvent(op string) EventType {
	switch op {
	case PlaybackPause:
		return EvCallPlaybackPaused
	case PlaybackUnpause:
		return EvCallPlaybackUnpaused
	case PlaybackRestart:
		return EvCallPlaybackRestarted
	case PlaybackForward:
		return EvCallPlaybackForwarded
	case PlaybackReverse:
		return EvCallPlaybackReversed
	}
	return ""
}

// RecordingControlEvent is the event type of recording operation op.
func RecordingControlEvent(op string) EventType {
	switch op {
	case RecordingPause:
		return EvCallRecordingPaused
	case RecordingUnpause:
		return EvCallRecordingUnpaused
	case RecordingMute:
		return EvCallRecordingMuted
	case RecordingUnmute:
		return EvCallRecordingUnmuted
	}
	return ""
}

// MediaOps controls live playbacks and recordings. asterisk.PBX
// implements it beside MediaControl; a PBX whose MediaControl lacks it
// answers not_implemented. Another tenant's playback or recording is
// CodeNotFound; an operation its state refuses (a queued playback paused,
// a paused one forwarded, a recording not yet started) CodeConflict.
type MediaOps interface {
	ControlPlayback(ctx context.Context, tenant, id, op string) (*Playback, error)
	ControlRecording(ctx context.Context, tenant, name, op string) (*Recording, error)
}

// PlaybackControlArgs are the arguments of ActPlaybackControl.
type PlaybackControlArgs struct {
	Operation string `json:"operation"` // pause, unpause, restart, forward, reverse
}

// Validate checks the operation.
func (a *PlaybackControlArgs) Validate() error {
	return checkOperation(a.Operation, PlaybackOperations)
}

// RecordingControlArgs are the arguments of ActRecordingControl.
type RecordingControlArgs struct {
	Operation string `json:"operation"` // pause, unpause, mute, unmute
}

// Validate checks the operation.
func (a *RecordingControlArgs) Validate() error {
	return checkOperation(a.Operation, RecordingOperations)
}

func checkOperation(op string, ops []string) error {
	if op == "" {
		return Invalid("operation", "required: one of %s", strings.Join(ops, ", "))
	}
	if !slices.Contains(ops, op) {
		return Invalid("operation", "%q is not an operation: one of %s", op, strings.Join(ops, ", "))
	}
	return nil
}

// mediaOps finds the MediaOps of a node's MediaControl.
func mediaOps(p Ports) (MediaOps, error) {
	if o, ok := p.Media.(MediaOps); ok {
		return o, nil
	}
	return nil, Errorf(CodeNotImplemented, "node %s cannot control playbacks and recordings", p.Node)
}

// mediaCtlSpecs are the media control actions.
var mediaCtlSpecs = []*Spec{
	def(Spec{Action: ActPlaybackControl, ID: IDResource, Port: PortMedia, REST: []string{"POST /v1/playbacks/{id}/control"}},
		func(ctx context.Context, p Ports, cmd *Command, a *PlaybackControlArgs) (*Playback, error) {
			o, err := mediaOps(p)
			if err != nil {
				return nil, err
			}
			return o.ControlPlayback(ctx, cmd.Tenant, cmd.ResourceID, a.Operation)
		}),
	def(Spec{Action: ActRecordingControl, ID: IDResource, Port: PortMedia, REST: []string{
		"POST /v1/recordings/live/{name}/pause", "DELETE /v1/recordings/live/{name}/pause",
		"POST /v1/recordings/live/{name}/mute", "DELETE /v1/recordings/live/{name}/mute",
	}},
		func(ctx context.Context, p Ports, cmd *Command, a *RecordingControlArgs) (*Recording, error) {
			o, err := mediaOps(p)
			if err != nil {
				return nil, err
			}
			return o.ControlRecording(ctx, cmd.Tenant, cmd.ResourceID, a.Operation)
		}),
}
