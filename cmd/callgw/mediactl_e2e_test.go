package main

import (
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestMediaControlTenants: pausing and muting through the whole system, on
// the simulator or (CALLGW_TEST_ARI_URL) a real Asterisk 22: tenant acme
// pauses and unpauses its call's playback and pauses, mutes and unpauses
// its recording (200 with the state, call.playback.paused and
// call.recording.muted on acme's events); tenant beta gets 404 for both;
// an unknown operation is 400.
func TestMediaControlTenants(t *testing.T) {
	s := startTenants(t, realNode)
	sp := s.spy("callapi.events.routed", "acme.#")
	acme, beta := []string{"Authorization", s.token("acme")}, []string{"Authorization", s.token("beta")}
	st, _, b := s.do("POST", "/v1/calls?timeout=20s", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered", "node": realNode}, acme...)
	if st != 201 {
		t.Fatalf("originate: %d %s", st, b)
	}
	var call callapi.Call
	mustJSON(t, b, &call)
	defer s.do("DELETE", "/v1/calls/"+string(call.ID), nil, acme...)
	st, _, b = s.do("POST", "/v1/calls/"+string(call.ID)+"/play", map[string]any{"media": []string{"tone:ring;tonezone=us"}}, acme...)
	if st != 201 {
		t.Fatalf("play: %d %s", st, b)
	}
	var pb callapi.Playback
	mustJSON(t, b, &pb)
	waitType(t, sp, call.ID, callapi.EvCallPlaybackStarted)
	ctl := "/v1/playbacks/" + pb.ID + "/control"
	if st, _, b := s.do("POST", ctl, map[string]any{"operation": "pause"}, beta...); st != 404 {
		t.Errorf("beta pauses acme's playback: %d %s", st, b)
	}
	if st, _, b := s.do("POST", ctl, map[string]any{"operation": "rewind"}, acme...); st != 400 {
		t.Errorf("unknown operation: %d %s", st, b)
	}
	st, _, b = s.do("POST", ctl, map[string]any{"operation": "pause"}, acme...)
	var got callapi.Playback
	if mustJSON(t, b, &got); st != 200 || got.State != "paused" {
		t.Fatalf("pause: %d %s", st, b)
	}
	waitType(t, sp, call.ID, callapi.EvCallPlaybackPaused)
	if st, _, b := s.do("POST", ctl, map[string]any{"operation": "forward"}, acme...); st != 409 {
		t.Errorf("forward while paused: %d %s", st, b)
	}
	if st, _, b := s.do("POST", ctl, map[string]any{"operation": "unpause"}, acme...); st != 200 {
		t.Errorf("unpause: %d %s", st, b)
	}
	s.do("DELETE", "/v1/playbacks/"+pb.ID, nil, acme...)
	waitType(t, sp, call.ID, callapi.EvCallPlaybackFinished)

	name := "pci-" + string(call.ID)[:8]
	if st, _, b := s.do("POST", "/v1/calls/"+string(call.ID)+"/record", map[string]any{"name": name, "if_exists": "overwrite"}, acme...); st != 201 {
		t.Fatalf("record: %d %s", st, b)
	}
	waitType(t, sp, call.ID, callapi.EvCallRecordingStarted)
	live := "/v1/recordings/live/" + name
	if st, _, b := s.do("POST", live+"/pause", nil, beta...); st != 404 {
		t.Errorf("beta pauses acme's recording: %d %s", st, b)
	}
	for _, step := range []struct{ method, sub, state string }{{"POST", "/pause", "paused"}, {"POST", "/mute", "paused"}, {"DELETE", "/pause", "recording"}, {"DELETE", "/mute", "recording"}} {
		st, _, b := s.do(step.method, live+step.sub, nil, acme...)
		var r callapi.Recording
		if mustJSON(t, b, &r); st != 200 || r.State != step.state {
			t.Errorf("%s %s: %d %s", step.method, step.sub, st, b)
		}
	}
	waitType(t, sp, call.ID, callapi.EvCallRecordingMuted)
	s.do("POST", live+"/stop", nil, acme...)
	time.Sleep(100 * time.Millisecond)
	s.do("DELETE", "/v1/recordings/stored/"+name, nil, acme...)
}
