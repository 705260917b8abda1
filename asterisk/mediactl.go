package asterisk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Media control (callapi.MediaOps): ARI's POST /playbacks/{id}/control and
// POST|DELETE /recordings/live/{name}/pause|mute.
//
// What Asterisk 22 announces: nothing for a pause, restart, forward or
// reverse of a playback (res_stasis_playback publishes the "paused" state,
// which ARI turns into no event), PlaybackStarted again on an unpause, and
// nothing at all for a recording's pause, unpause, mute or unmute. So the
// worker publishes call.playback.paused … call.recording.unmuted itself,
// once Asterisk answered 204 to the operation (it changed the state under
// its lock before answering): the event says "accepted", and the second
// PlaybackStarted of an unpaused playback is not published again as
// call.playback.started. As for started and finished, only playbacks and
// recordings of a call (not of a bridge) have events.

var _ callapi.MediaOps = (*PBX)(nil)

// controllable reports whether Asterisk lets a playback of media be
// controlled: sound:, recording: and tone: (res_stasis_playback sets
// "controllable" for those only, and answers 500 for the others).
func controllable(media string) bool {
	scheme, _, _ := strings.Cut(media, ":")
	return scheme == "sound" || scheme == "recording" || scheme == "tone"
}

// ControlPlayback runs operation op on a playback of tenant and returns
// the playback as the operation left it.
func (p *PBX) ControlPlayback(ctx context.Context, tenant, id, op string) (*callapi.Playback, error) {
	const name = "asterisk.ControlPlayback"
	pb, err := p.Playback(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !controllable(pb.Media) {
		return nil, callapi.Errorf(callapi.CodeConflict, "playback %s plays %s: only sound:, recording: and tone: playbacks can be controlled", id, pb.Media)
	}
	err = p.rest.do(ctx, http.MethodPost, "/playbacks/"+seg(id)+"/control", url.Values{"operation": {op}}, nil, nil)
	if err != nil {
		p.log.Info("playback control failed", zap.String("playback_id", id), zap.String("operation", op), zap.Error(err))
		return nil, opErr(name, err, "playback "+id)
	}
	switch op {
	case callapi.PlaybackPause:
		pb.State = "paused"
	case callapi.PlaybackUnpause:
		pb.State = "playing"
	}
	p.mediaEvent(ctx, tenant, pb.TargetID, callapi.PlaybackControlEvent(op), callapi.PlaybackData{PlaybackID: pb.ID, Media: pb.Media, State: pb.State})
	return pb, nil
}

// ControlRecording runs operation op on a live recording of tenant and
// returns the recording as the operation left it.
func (p *PBX) ControlRecording(ctx context.Context, tenant, name, op string) (*callapi.Recording, error) {
	const opName = "asterisk.ControlRecording"
	var ar ariRecording
	path := "/recordings/live/" + seg(ariRecordingName(tenant, name))
	if err := p.rest.do(ctx, http.MethodGet, path, nil, nil, &ar); err != nil {
		return nil, mapErr(opName, err, "recording "+name, "")
	}
	method, sub := http.MethodPost, "/pause"
	switch op {
	case callapi.RecordingUnpause:
		method = http.MethodDelete
	case callapi.RecordingMute:
		sub = "/mute"
	case callapi.RecordingUnmute:
		method, sub = http.MethodDelete, "/mute"
	}
	if err := p.rest.do(ctx, method, path+sub, nil, nil, nil); err != nil {
		p.log.Info("recording control failed", zap.String("recording", name), zap.String("tenant", tenant), zap.String("operation", op), zap.Error(err))
		return nil, opErr(opName, err, "recording "+name)
	}
	r := p.recording(tenant, &ar)
	switch op {
	case callapi.RecordingPause:
		r.State = "paused"
	case callapi.RecordingUnpause:
		r.State = "recording"
	}
	d := callapi.RecordingData{Name: r.Name, Format: r.Format, State: r.State}
	p.mediaEvent(ctx, tenant, r.TargetID, callapi.RecordingControlEvent(op), d)
	return r, nil
}

// opErr maps the error of a control operation: ARI's 409 (the state
// refuses it: "Can only pause while media is playing", "Recording not in
// session") is a conflict with Asterisk's reason, the rest as mapErr.
func opErr(op string, err error, what string) error {
	var e *ariError
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return callapi.Wrap(callapi.CodeConflict, op, err, what+": "+e.Message)
	}
	if errors.As(err, &e) && e.Status == http.StatusInternalServerError {
		return callapi.Wrap(callapi.CodeConflict, op, err, what+": asterisk could not run the operation ("+e.Message+")")
	}
	return mapErr(op, err, what, what+" refuses the operation in its state")
}

// mediaEvent publishes the event of an accepted control operation on a
// playback or recording whose target is call target (nothing for a bridge
// target or a call not known here).
func (p *PBX) mediaEvent(ctx context.Context, tenant, target string, typ callapi.EventType, data any) {
	if typ == "" || target == "" || p.calls.get(tenant, callapi.CallID(target)) == nil {
		return
	}
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindMedia, id: target, typ: typ, data: data})
}

// handleMedia returns the event of an accepted control operation on a
// playback or recording of call id.
func (t *callTable) handleMedia(id callapi.CallID, typ callapi.EventType, data any) []*callapi.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || !c.created {
		return nil
	}
	return []*callapi.Event{t.event(c, typ, at, data, nil)}
}
