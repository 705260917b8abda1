package arisim_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestPlaybackControlTable: POST /playbacks/{id}/control follows
// res_stasis_playback's table of operations by state, on the simulator and
// (CALLGW_TEST_ARI_URL) on Asterisk 22: an unknown operation 400; unpause
// while playing and pause while paused change nothing (204); a paused
// playback refuses restart/forward/reverse with 409 "Can only <op> while
// media is playing"; pausing has no event, unpausing announces
// PlaybackStarted again; a finished playback is 404.
func TestPlaybackControlTable(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	a := tg.originate(t, ev, tg.app, "answer")
	pb := uniq("pbc")
	tg.mustDo(t, 201, "POST", "/channels/"+a+"/play/"+pb, url.Values{"media": {"tone:ring;tonezone=us"}}, nil)
	ev.wait(t, "PlaybackStarted", nil, 3*time.Second)
	ctl := func(op string) (int, string) {
		st, body := tg.do(t, "POST", "/playbacks/"+pb+"/control", url.Values{"operation": {op}}, nil)
		var m struct{ Message string }
		_ = json.Unmarshal(body, &m)
		return st, m.Message
	}
	state := func() string {
		m := tg.mustDo(t, 200, "GET", "/playbacks/"+pb, nil, nil)
		s, _ := m["state"].(string)
		return s
	}
	if st, _ := ctl("sideways"); st != 400 {
		t.Errorf("unknown operation: %d, want 400", st)
	}
	if st, _ := ctl("unpause"); st != 204 || state() != "playing" {
		t.Errorf("unpause while playing: %d %s", st, state())
	}
	if st, _ := ctl("pause"); st != 204 || state() != "paused" {
		t.Errorf("pause: %d %s", st, state())
	}
	if st, _ := ctl("pause"); st != 204 {
		t.Errorf("pause while paused: %d, want 204", st)
	}
	for _, op := range []string{"forward", "reverse", "restart"} {
		if st, msg := ctl(op); st != 409 || msg != "Can only "+op+" while media is playing" {
			t.Errorf("%s while paused: %d %q", op, st, msg)
		}
	}
	started := ev.count("PlaybackStarted")
	if st, _ := ctl("unpause"); st != 204 || state() != "playing" {
		t.Errorf("unpause: %d %s", st, state())
	}
	deadline := time.Now().Add(3 * time.Second)
	for ev.count("PlaybackStarted") == started && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ev.count("PlaybackStarted"); n != started+1 {
		t.Errorf("PlaybackStarted after unpause: %d, want %d", n, started+1)
	}
	for _, op := range []string{"restart", "forward", "reverse"} {
		if st, msg := ctl(op); st != 204 {
			t.Errorf("%s while playing: %d %s", op, st, msg)
		}
	}
	tg.mustDo(t, 204, "DELETE", "/playbacks/"+pb, nil, nil)
	ev.wait(t, "PlaybackFinished", nil, 3*time.Second)
	if st, _ := ctl("pause"); st != 404 {
		t.Errorf("finished playback: %d, want 404", st)
	}
	if strings.Contains(ev.types(), "PlaybackPaused") {
		t.Errorf("an event for a pause: %s", ev.types())
	}
}

// TestRecordingControlTable: pause and mute of a live recording (POST and
// DELETE of …/pause and …/mute) answer 204 while it records or is paused,
// the live recording shows "paused", and no event follows any of them;
// after it stopped they are 404.
func TestRecordingControlTable(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	a := tg.originate(t, ev, tg.app, "answer")
	name := uniq("rcc")
	tg.mustDo(t, 201, "POST", "/channels/"+a+"/record", url.Values{"name": {name}, "format": {"wav"}, "ifExists": {"overwrite"}}, nil)
	ev.wait(t, "RecordingStarted", nil, 3*time.Second)
	recEvents := func() int {
		return ev.count("RecordingStarted") + ev.count("RecordingFinished") + ev.count("RecordingFailed")
	}
	n := recEvents()
	for _, step := range []struct{ method, sub, state string }{
		{"POST", "/pause", "paused"}, {"POST", "/mute", "paused"}, {"DELETE", "/pause", "recording"}, {"DELETE", "/mute", "recording"},
	} {
		tg.mustDo(t, 204, step.method, "/recordings/live/"+name+step.sub, nil, nil)
		if m := tg.mustDo(t, 200, "GET", "/recordings/live/"+name, nil, nil); m["state"] != step.state {
			t.Errorf("%s %s: state %v, want %s", step.method, step.sub, m["state"], step.state)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if recEvents() != n {
		t.Errorf("recording events after pause/mute: %s", ev.types())
	}
	tg.mustDo(t, 204, "POST", "/recordings/live/"+name+"/stop", nil, nil)
	ev.wait(t, "RecordingFinished", nil, 3*time.Second)
	if st, _ := tg.do(t, "POST", "/recordings/live/"+name+"/pause", nil, nil); st != 404 {
		t.Errorf("pause after stop: %d, want 404", st)
	}
	tg.do(t, "DELETE", "/recordings/stored/"+name, nil, nil)
}
