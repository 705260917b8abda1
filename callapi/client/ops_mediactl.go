package client

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// ControlPlayback pauses, unpauses, restarts, forwards or reverses a live
// playback (op: callapi.PlaybackPause …) and returns it as the operation
// left it.
func (c *Client) ControlPlayback(ctx context.Context, id, op string, opts ...CallOption) (*callapi.Playback, error) {
	var p callapi.Playback
	body := callapi.PlaybackControlArgs{Operation: op}
	if err := c.call(ctx, http.MethodPost, "/v1/playbacks/"+esc(id)+"/control", body, &p, opts); err != nil {
		return nil, err
	}
	return &p, nil
}

// ControlRecording pauses, unpauses, mutes or unmutes a live recording
// (op: callapi.RecordingPause …) and returns it as the operation left it.
func (c *Client) ControlRecording(ctx context.Context, name, op string, opts ...CallOption) (*callapi.Recording, error) {
	method, sub := http.MethodPost, "pause"
	switch op {
	case callapi.RecordingPause:
	case callapi.RecordingUnpause:
		method = http.MethodDelete
	case callapi.RecordingMute:
		sub = "mute"
	case callapi.RecordingUnmute:
		method, sub = http.MethodDelete, "mute"
	default:
		return nil, callapi.Invalid("operation", "%q is not a recording operation: pause, unpause, mute or unmute", op)
	}
	var r callapi.Recording
	if err := c.call(ctx, method, "/v1/recordings/live/"+esc(name)+"/"+sub, nil, &r, opts); err != nil {
		return nil, err
	}
	return &r, nil
}
