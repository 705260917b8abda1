package asterisk

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// waitPlaying waits until playback id of tenant plays.
func (h *harness) waitPlaying(t *testing.T, tenant, id string) {
	t.Helper()
	ctx := ctxT(t, 5*time.Second)
	for {
		got, err := h.pbx.Playback(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == "playing" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPlaybackControl: pause, unpause, restart, forward and reverse of a
// live playback as Asterisk 22 runs them (a paused playback can only be
// unpaused: 409 with Asterisk's reason), each announced by its event on
// the call, without a second call.playback.started after the unpause;
// another tenant's or an unknown playback is not_found, a digits: playback
// cannot be controlled.
func TestPlaybackControl(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme", "t1")
	if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"tone:ring"}, PlaybackID: "pbc-1"}); err != nil {
		t.Fatal(err)
	}
	h.waitPlaying(t, "acme", "pbc-1")
	_, err := p.ControlPlayback(ctx, "beta", "pbc-1", callapi.PlaybackPause)
	wantCode(t, "another tenant's playback", err, callapi.CodeNotFound)
	_, err = p.ControlPlayback(ctx, "acme", "nope", callapi.PlaybackPause)
	wantCode(t, "unknown playback", err, callapi.CodeNotFound)

	pb, err := p.ControlPlayback(ctx, "acme", "pbc-1", callapi.PlaybackPause)
	if err != nil || pb.State != "paused" || pb.ID != "pbc-1" {
		t.Fatalf("pause = %+v, %v", pb, err)
	}
	if got, err := p.Playback(ctx, "acme", "pbc-1"); err != nil || got.State != "paused" {
		t.Errorf("after pause: %+v, %v", got, err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallPlaybackPaused)
	var d callapi.PlaybackData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.PlaybackID != "pbc-1" || d.State != "paused" || d.Media != "tone:ring" || !slices.Equal(e.Tags, []string{"t1"}) {
		t.Errorf("paused event %s %v", e.Data, e.Tags)
	}
	_, err = p.ControlPlayback(ctx, "acme", "pbc-1", callapi.PlaybackForward)
	wantCode(t, "forward while paused", err, callapi.CodeConflict)
	if m := callapi.ErrorMessage(err); !strings.Contains(m, "Can only forward while media is playing") {
		t.Errorf("conflict message %q", m)
	}
	if pb, err := p.ControlPlayback(ctx, "acme", "pbc-1", callapi.PlaybackUnpause); err != nil || pb.State != "playing" {
		t.Fatalf("unpause = %+v, %v", pb, err)
	}
	h.sink.waitFor(t, id, callapi.EvCallPlaybackUnpaused)
	for _, op := range []string{callapi.PlaybackRestart, callapi.PlaybackForward, callapi.PlaybackReverse} {
		if _, err := p.ControlPlayback(ctx, "acme", "pbc-1", op); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	h.sink.waitFor(t, id, callapi.EvCallPlaybackReversed)
	if err := p.StopPlayback(ctx, "acme", "pbc-1"); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallPlaybackFinished)
	want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallPlaybackStarted,
		callapi.EvCallPlaybackPaused, callapi.EvCallPlaybackUnpaused, callapi.EvCallPlaybackRestarted,
		callapi.EvCallPlaybackForwarded, callapi.EvCallPlaybackReversed, callapi.EvCallPlaybackFinished}
	if got := types(h.sink.of(id), ""); !slices.Equal(got, want) {
		t.Errorf("events %v\nwant   %v", got, want)
	}
	checkSeq(t, h.sink.of(id))

	// Media Asterisk cannot control.
	if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"digits:123456789"}, PlaybackID: "pbc-2"}); err != nil {
		t.Fatal(err)
	}
	_, err = p.ControlPlayback(ctx, "acme", "pbc-2", callapi.PlaybackPause)
	wantCode(t, "digits playback", err, callapi.CodeConflict)
}

// TestRecordingControl: pause, unpause, mute and unmute of a live
// recording, each announced by its event; the live recording shows paused;
// another tenant's recording is not_found, a finished one too.
func TestRecordingControl(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme")
	if _, err := p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "rc-1"}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallRecordingStarted)
	_, err := p.ControlRecording(ctx, "beta", "rc-1", callapi.RecordingPause)
	wantCode(t, "another tenant's recording", err, callapi.CodeNotFound)
	r, err := p.ControlRecording(ctx, "acme", "rc-1", callapi.RecordingPause)
	if err != nil || r.State != "paused" || r.Name != "rc-1" || r.TargetID != string(id) {
		t.Fatalf("pause = %+v, %v", r, err)
	}
	if got, err := p.LiveRecording(ctx, "acme", "rc-1"); err != nil || got.State != "paused" {
		t.Errorf("after pause: %+v, %v", got, err)
	}
	for _, op := range []string{callapi.RecordingMute, callapi.RecordingUnpause, callapi.RecordingUnmute} {
		if _, err := p.ControlRecording(ctx, "acme", "rc-1", op); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	e := h.sink.waitFor(t, id, callapi.EvCallRecordingUnmuted)
	var d callapi.RecordingData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.Name != "rc-1" || d.State != "recording" || d.Format != "wav" {
		t.Errorf("unmuted event %s", e.Data)
	}
	if err := p.StopRecording(ctx, "acme", "rc-1"); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallRecordingFinished)
	_, err = p.ControlRecording(ctx, "acme", "rc-1", callapi.RecordingMute)
	wantCode(t, "finished recording", err, callapi.CodeNotFound)
	want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallRecordingStarted,
		callapi.EvCallRecordingPaused, callapi.EvCallRecordingMuted, callapi.EvCallRecordingUnpaused,
		callapi.EvCallRecordingUnmuted, callapi.EvCallRecordingFinished}
	if got := types(h.sink.of(id), ""); !slices.Equal(got, want) {
		t.Errorf("events %v\nwant   %v", got, want)
	}
}
