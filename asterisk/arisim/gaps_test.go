package arisim_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// The differences a probe of the simulator against a real Asterisk 22.10.1 found (issue 15). Each
// test states Asterisk's behaviour and runs against the simulator, or against the real Asterisk
// when CALLGW_TEST_ARI_URL is set.

// TestAllocationFailedBody: a channel that cannot be allocated (unknown technology, unknown PJSIP
// endpoint) makes ast_dial_prerun fail, and resource_channels.c answers with res_ari's canned
// out-of-memory answer: 500 {"error": "Allocation failed"}, not {"message": …}.
func TestAllocationFailedBody(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	tg.listen(t, tg.app, false)
	for _, endpoint := range []string{"Bogus/x", "PJSIP/nobody-here"} {
		t.Run(endpoint, func(t *testing.T) {
			st, b := tg.do(t, "POST", "/channels", url.Values{"endpoint": {endpoint}, "app": {tg.app}}, nil)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("undecodable %s: %v", b, err)
			}
			if st != 500 || len(m) != 1 || m["error"] != "Allocation failed" {
				t.Fatalf(`got %d %s, want 500 {"error":"Allocation failed"}`, st, b)
			}
		})
	}
}

// TestBridgeCreateBadInput: stasis_app_bridge_create ignores unknown type words and fails when no
// capability is left or holding and mixing are asked together; resource_bridges.c answers that
// with 500 (not 400).
func TestBridgeCreateBadInput(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	for _, tc := range []struct {
		name, typ string
		withID    bool
		want      int
		msg       string // prefix
	}{
		{"unknown type", "bogus", false, 500, "Unable to create bridge"},
		{"unknown type with id", "bogus", true, 500, "Unable to create bridge"},
		{"holding and mixing", "holding,mixing", false, 500, "Unable to create bridge"},
		{"dtmf_events alone", "dtmf_events", false, 500, "Unable to create bridge"},
		{"unknown word ignored", "mixing,bogus", false, 200, ""},
		{"mixing with dtmf_events", "mixing,dtmf_events", true, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := uniq("br")
			path, q := "/bridges", url.Values{"type": {tc.typ}, "bridgeId": {id}}
			if tc.withID {
				path, q = "/bridges/"+id, url.Values{"type": {tc.typ}}
			}
			st, b := tg.do(t, "POST", path, q, nil)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if st == 200 {
				t.Cleanup(func() { tg.do(t, "DELETE", "/bridges/"+id, nil, nil) })
			}
			msg, _ := m["message"].(string)
			if st != tc.want || !strings.HasPrefix(msg, tc.msg) {
				t.Fatalf("got %d %s, want %d %q…", st, b, tc.want, tc.msg)
			}
			if st == 200 && m["id"] != id {
				t.Fatalf("created %s, want id %s", b, id)
			}
		})
	}
}

// TestLocalCongestionState: Congestion() on the ;2 half sets its state to Busy (pbx_builtins.c
// indicate_congestion), so the app sees a ChannelStateChange of ;2 to Busy before the Dial with
// CONGESTION, and the later events of ;2 carry state Busy.
func TestLocalCongestionState(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := uniq("cong")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/congestion@callgw-test"}, "app": {tg.app}, "channelId": {id}}, nil)
	ev.wait(t, "ChannelDestroyed", isChan(id+";2"), 5*time.Second)
	ev.wait(t, "ChannelDestroyed", isChan(id), 5*time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	busyAt, dialAt := -1, -1
	for i, m := range ev.all {
		switch {
		case m["type"] == "ChannelStateChange" && chanID(m) == id+";2" && state(m) == "Busy" && busyAt < 0:
			busyAt = i
		case m["type"] == "Dial" && chanID(m) == id && m["dialstatus"] == "CONGESTION":
			dialAt = i
		}
	}
	// The simulator raises the state change first, as Asterisk did in the probe of issue 15 and in
	// shared/ari-recordings/busy.txt; Asterisk also sends it after the Dial at times (seen once in
	// ~10 runs on 22.10.1).
	if busyAt < 0 || dialAt < 0 || tg.sim != nil && busyAt > dialAt {
		t.Fatalf("ChannelStateChange(;2 Busy) at %d, Dial CONGESTION at %d: want the state change first", busyAt, dialAt)
	}
	for _, m := range ev.all[max(busyAt, dialAt):] {
		if chanID(m) == id+";2" && (m["type"] == "ChannelHangupRequest" || m["type"] == "ChannelDestroyed") && state(m) != "Busy" {
			t.Errorf("%s of ;2 in state %q, want Busy", m["type"], state(m))
		}
	}
	if d := find(ev.all, "ChannelDestroyed", id+";2"); d["cause"] != float64(34) {
		t.Errorf(";2 destroyed with cause %v, want 34", d["cause"])
	}
}

// TestRingTimeoutHangupRequests: at the originate timeout the ;2 half gets a hang-up request with
// cause 19 and then, as the ;1 half goes, a soft one with cause 16. Issue 15 reported that Asterisk
// sends no second request; the recording (shared/ari-recordings/ring-timeout.txt) and every run on
// the Asterisk 22.10.1 built for issue 15 (timeouts of 1, 2 and 3 s) show it, so this pins the
// observed behaviour.
func TestRingTimeoutHangupRequests(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := uniq("ring")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/ring@callgw-test"}, "app": {tg.app}, "channelId": {id}, "timeout": {"1"}}, nil)
	ev.wait(t, "ChannelDestroyed", isChan(id+";2"), 5*time.Second)
	ev.wait(t, "ChannelDestroyed", isChan(id), 5*time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var got []string
	for _, m := range ev.all {
		if m["type"] == "ChannelHangupRequest" && chanID(m) == id+";2" {
			got = append(got, fmt.Sprintf("%v/%v", m["cause"], m["soft"] == true))
		}
	}
	if strings.Join(got, " ") != "19/false 16/true" {
		t.Fatalf("hang-up requests of ;2 (cause/soft): %v, want [19/false 16/true]", got)
	}
	if d := find(ev.all, "ChannelDestroyed", id+";2"); d["cause"] != float64(19) {
		t.Errorf(";2 destroyed with cause %v, want 19", d["cause"])
	}
}

func state(m map[string]any) string {
	if c, ok := m["channel"].(map[string]any); ok {
		s, _ := c["state"].(string)
		return s
	}
	return ""
}

func find(all []map[string]any, typ, ch string) map[string]any {
	for _, m := range all {
		if m["type"] == typ && chanID(m) == ch {
			return m
		}
	}
	return nil
}

// TestRecordWaitsForPlayback: a channel's playback and recording share the Stasis control queue, so
// a recording asked for while a tone plays stays queued (no RecordingStarted) until the playback
// ends, and a playback asked for while a recording runs starts only after it. Found by running
// cmd/callgw's end-to-end tests on Asterisk 22.10.1.
func TestRecordWaitsForPlayback(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := tg.originate(t, ev, tg.app, "answer")
	t.Cleanup(func() { tg.do(t, "DELETE", "/channels/"+id, nil, nil) })
	pb, rec := uniq("pb"), uniq("rec")
	tg.mustDo(t, 201, "POST", "/channels/"+id+"/play/"+pb, url.Values{"media": {"tone:ring"}}, nil)
	ev.wait(t, "PlaybackStarted", func(m map[string]any) bool { return playbackID(m) == pb }, 5*time.Second)
	tg.mustDo(t, 201, "POST", "/channels/"+id+"/record", url.Values{"name": {rec}, "format": {"wav"}}, nil)
	t.Cleanup(func() { tg.do(t, "DELETE", "/recordings/stored/"+rec, nil, nil) })
	// Nothing to wait for: the recording must not start while the tone plays.
	ev.none(t, "RecordingStarted", 300*time.Millisecond)
	if m := tg.mustDo(t, 200, "GET", "/recordings/live/"+rec, nil, nil); m["state"] != "queued" {
		t.Fatalf("recording behind a playback: state %v, want queued", m["state"])
	}
	tg.mustDo(t, 204, "DELETE", "/playbacks/"+pb, nil, nil)
	ev.wait(t, "RecordingStarted", func(m map[string]any) bool { return recordingName(m) == rec }, 5*time.Second)
	if i, j := ev.index("PlaybackFinished", func(m map[string]any) bool { return playbackID(m) == pb }), ev.index("RecordingStarted", nil); i < 0 || i > j {
		t.Fatalf("RecordingStarted (%d) before PlaybackFinished (%d)", j, i)
	}
	// And the other way round.
	pb2 := uniq("pb")
	tg.mustDo(t, 201, "POST", "/channels/"+id+"/play/"+pb2, url.Values{"media": {"tone:ring"}}, nil)
	ev.none(t, "PlaybackStarted", 300*time.Millisecond, func(m map[string]any) bool { return playbackID(m) == pb2 })
	if m := tg.mustDo(t, 200, "GET", "/playbacks/"+pb2, nil, nil); m["state"] != "queued" {
		t.Fatalf("playback behind a recording: state %v, want queued", m["state"])
	}
	tg.mustDo(t, 204, "POST", "/recordings/live/"+rec+"/stop", nil, nil)
	ev.wait(t, "PlaybackStarted", func(m map[string]any) bool { return playbackID(m) == pb2 }, 5*time.Second)
	tg.mustDo(t, 204, "DELETE", "/playbacks/"+pb2, nil, nil)
}

func playbackID(m map[string]any) string {
	p, _ := m["playback"].(map[string]any)
	s, _ := p["id"].(string)
	return s
}

func recordingName(m map[string]any) string {
	r, _ := m["recording"].(map[string]any)
	s, _ := r["name"].(string)
	return s
}

// TestHangupWhileRinging: DELETE of a ringing originate. The ;1 half gets the soft hang-up request
// (32), the dial ends with a Dial NOANSWER, then the ;2 half gets a hang-up request with the cause
// (16, normal) and both halves are destroyed with it. Observed on 22.10.1 (the order of the last
// three events varies there).
func TestHangupWhileRinging(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := uniq("rr")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/ring@callgw-test"}, "app": {tg.app}, "channelId": {id}, "timeout": {"30"}}, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == "RINGING" }, 5*time.Second)
	from := ev.index("Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == "RINGING" }) + 1
	tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	ev.wait(t, "ChannelDestroyed", isChan(id+";2"), 5*time.Second)
	ev.wait(t, "ChannelDestroyed", isChan(id), 5*time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var got []string
	for _, m := range ev.all[from:] {
		if typ := m["type"]; typ != "ChannelHangupRequest" && typ != "Dial" && typ != "ChannelDestroyed" {
			continue // ChannelDialplan of ;2 (Ringing, Wait) may come after the Dial RINGING
		}
		if c := chanID(m); c == id || c == id+";2" {
			s := fmt.Sprintf("%s%s/%v", m["type"], strings.TrimPrefix(c, id), m["cause"])
			if m["soft"] == true {
				s += "/soft"
			}
			if ds, ok := m["dialstatus"]; ok {
				s += "/" + fmt.Sprint(ds)
			}
			got = append(got, s)
		}
	}
	head := []string{"ChannelHangupRequest/32/soft", "Dial/<nil>/NOANSWER", "ChannelHangupRequest;2/16"}
	if len(got) != 6 || strings.Join(got[:3], " ") != strings.Join(head, " ") {
		t.Fatalf("events %v, want %v then the ;2 soft request and both ChannelDestroyed", got, head)
	}
	rest := append([]string(nil), got[3:]...)
	sort.Strings(rest)
	if want := []string{"ChannelDestroyed/16", "ChannelDestroyed;2/16", "ChannelHangupRequest;2/16/soft"}; strings.Join(rest, " ") != strings.Join(want, " ") {
		t.Fatalf("last events %v, want (in any order) %v", got[3:], want)
	}
}
