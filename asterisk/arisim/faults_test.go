package arisim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

func TestFaultDropWebSockets(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	tg.sim.DropWebSockets()
	ev.closed(t, 2*time.Second)
	// The app is gone until it reconnects; a new connection works.
	tg.mustDo(t, 404, "GET", "/applications/"+tg.app, nil, nil)
	ev2 := tg.listen(t, tg.app, false)
	tg.originate(t, ev2, tg.app, "answer")
}

func TestFaultRefuseFor(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	tg.sim.RefuseFor(300 * time.Millisecond)
	ev.closed(t, 2*time.Second)
	req, _ := http.NewRequest("GET", tg.url+"/asterisk/ping", nil)
	req.SetBasicAuth(tg.user, tg.pass)
	if resp, err := tg.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request during refusal answered %d", resp.StatusCode)
	}
	time.Sleep(350 * time.Millisecond)
	tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil)
}

func TestFaultFailAndSlowRequests(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	tg.sim.FailRequests("GET", "/channels", 500, 2)
	for i := range 2 {
		st, b := tg.do(t, "GET", "/channels", nil, nil)
		if st != 500 || !bytes.Contains(b, []byte(`"message"`)) {
			t.Fatalf("request %d: %d %s", i, st, b)
		}
	}
	tg.mustDo(t, 200, "GET", "/channels", nil, nil)
	tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil) // other paths unaffected

	tg.sim.SlowRequests("", "/ari/asterisk", 150*time.Millisecond)
	start := time.Now()
	tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("slow request took %s", d)
	}
	tg.sim.SlowRequests("", "/ari/asterisk", 0)
	start = time.Now()
	tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("rule not removed: %s", d)
	}
	// A slow request is released by Close (no goroutine left behind).
	tg.sim.SlowRequests("GET", "/channels", time.Hour)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("GET", tg.url+"/channels", nil)
		req.SetBasicAuth(tg.user, tg.pass)
		if resp, err := tg.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	tg.sim.Close()
	wg.Wait()
}

func TestRestart(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := tg.originate(t, ev, tg.app, "answer")
	tg.mustDo(t, 200, "POST", "/bridges/b1", nil, nil)
	if n := tg.sim.ChannelCount(); n != 2 {
		t.Fatalf("ChannelCount %d, want 2 (Local pair)", n)
	}
	tg.sim.Restart()
	ev.closed(t, 2*time.Second)
	if n := tg.sim.ChannelCount(); n != 0 {
		t.Fatalf("ChannelCount after restart %d", n)
	}
	tg.mustDo(t, 404, "GET", "/channels/"+id, nil, nil)
	tg.mustDo(t, 404, "GET", "/bridges/b1", nil, nil)
	ev2 := tg.listen(t, tg.app, false)
	tg.originate(t, ev2, tg.app, "answer")
}

func TestHangupChannelFarEnd(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	for _, tc := range []struct {
		name  string
		cause int
	}{{"normal", 16}, {"busy", 17}} {
		t.Run(tc.name, func(t *testing.T) {
			id := tg.originate(t, ev, tg.app, "answer")
			tg.sim.HangupChannel(id, tc.cause)
			hr := ev.wait(t, "ChannelHangupRequest", isChan(id), 2*time.Second)
			if hr["cause"] != float64(tc.cause) || hr["soft"] != nil {
				t.Fatalf("hangup request %v", hr)
			}
			ev.wait(t, "StasisEnd", isChan(id), time.Second)
			d := ev.wait(t, "ChannelDestroyed", isChan(id), time.Second)
			if d["cause"] != float64(tc.cause) {
				t.Fatalf("destroyed cause %v", d["cause"])
			}
		})
	}
}

func TestInboundCall(t *testing.T) {
	tg := newSim(t, arisim.Config{InboundApp: "callgw", SystemName: "pbx1"})
	if _, err := tg.sim.InboundCall("sipp", "5551000"); !errors.Is(err, arisim.ErrAppNotRegistered) {
		t.Fatalf("inbound without app: %v", err)
	}
	ev := tg.listen(t, "callgw", false)
	id, err := tg.sim.InboundCall("sipp", "5551000")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pbx1-\d+\.\d+$`).MatchString(id) {
		t.Fatalf("inbound id %q not <systemname>-<epoch>.<seq>", id)
	}
	ss := ev.wait(t, "StasisStart", isChan(id), time.Second)
	ch := ss["channel"].(map[string]any)
	if args := ss["args"].([]any); len(args) != 1 || args[0] != "5551000" {
		t.Fatalf("args %v", ss["args"])
	}
	if ch["state"] != "Ring" || ch["caller"].(map[string]any)["number"] != "sipp" || !strings.HasPrefix(ch["name"].(string), "PJSIP/sipp-") {
		t.Fatalf("channel %v", ch)
	}
	if dp := ch["dialplan"].(map[string]any); dp["context"] != "callgw-in" || dp["app_data"] != "callgw,5551000" {
		t.Fatalf("dialplan %v", dp)
	}
	if got := ev.seq(id); len(got) != 1 {
		t.Fatalf("inbound: only StasisStart expected first, got %v", got)
	}
	tg.mustDo(t, 204, "POST", "/channels/"+id+"/answer", nil, nil)
	ev.wait(t, "ChannelStateChange", isChan(id), time.Second)
	tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	ev.wait(t, "StasisEnd", isChan(id), time.Second)
	time.Sleep(50 * time.Millisecond)
	want := []string{"StasisStart@" + id, "ChannelStateChange@" + id}
	for range 5 { // RTPAUDIOQOS, …JITTER, …LOSS, …RTT, …MES as chan_pjsip sets them
		want = append(want, "ChannelVarset@"+id)
	}
	want = append(want, "ChannelHangupRequest@"+id, "StasisEnd@"+id)
	if got := ev.seq(id); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("inbound sequence %v, want %v (no ChannelDestroyed after StasisEnd)", got, want)
	}
	// Custom args.
	id2, err := tg.sim.InboundCall("alice", "100", "x", "y")
	if err != nil {
		t.Fatal(err)
	}
	if ss := ev.wait(t, "StasisStart", isChan(id2), time.Second); len(ss["args"].([]any)) != 2 {
		t.Fatalf("args %v", ss["args"])
	}
}

func TestPJSIPEndpoints(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	tg.sim.AddEndpoint("answers", arisim.Endpoint{RingFor: 50 * time.Millisecond})
	tg.sim.AddEndpoint("busy", arisim.Endpoint{Outcome: "busy"})
	tg.sim.AddEndpoint("congested", arisim.Endpoint{Outcome: "congestion"})
	tg.sim.AddEndpoint("rings", arisim.Endpoint{Outcome: "ring"})
	tg.sim.AddEndpoint("hangs", arisim.Endpoint{HangupAfter: 50 * time.Millisecond})
	tg.sim.AddEndpoint("offline", arisim.Endpoint{Offline: true})
	for _, tc := range []struct {
		name, ep, timeout string
		status            string
		cause             float64
		stasis            bool
	}{
		{"answers after ringing", "answers", "", "ANSWER", 16, true},
		{"busy", "busy", "", "BUSY", 17, false},
		{"congestion", "congested", "", "CONGESTION", 34, false},
		{"no answer", "rings", "1", "RINGING", 19, false},
		{"far end hangs up", "hangs", "", "ANSWER", 16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := uniq(tc.ep)
			q := url.Values{"endpoint": {"PJSIP/" + tc.ep}, "app": {tg.app}, "channelId": {id}}
			if tc.timeout != "" {
				q.Set("timeout", tc.timeout)
			}
			tg.mustDo(t, 200, "POST", "/channels", q, nil)
			ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == tc.status }, 3*time.Second)
			if tc.stasis {
				ev.wait(t, "StasisStart", isChan(id), 2*time.Second)
				if tc.ep == "answers" {
					tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
				}
			}
			d := ev.wait(t, "ChannelDestroyed", isChan(id), 3*time.Second)
			if d["cause"] != tc.cause {
				t.Fatalf("cause %v, want %v", d["cause"], tc.cause)
			}
		})
	}
	st, _ := tg.do(t, "POST", "/channels", url.Values{"endpoint": {"PJSIP/offline"}, "app": {tg.app}}, nil)
	if st != 500 {
		t.Fatalf("offline endpoint: %d", st)
	}
	m := tg.mustDo(t, 200, "GET", "/endpoints/PJSIP/offline", nil, nil)
	if m["state"] != "offline" {
		t.Fatal(m)
	}
}

func TestMediaTiming(t *testing.T) {
	tg := newSim(t, arisim.Config{PlaybackDuration: 80 * time.Millisecond})
	ev := tg.listen(t, tg.app, false)
	id := tg.originate(t, ev, tg.app, "answer")
	start := time.Now()
	tg.mustDo(t, 201, "POST", "/channels/"+id+"/play/p1", url.Values{"media": {"sound:one", "sound:two"}}, nil)
	ev.wait(t, "PlaybackStarted", nil, time.Second)
	c := ev.wait(t, "PlaybackContinuing", nil, time.Second)
	if c["playback"].(map[string]any)["media_uri"] != "sound:two" {
		t.Fatalf("continuing %v", c)
	}
	f := ev.wait(t, "PlaybackFinished", nil, time.Second)
	if d := time.Since(start); d < 160*time.Millisecond {
		t.Fatalf("two items took %s, want ≥ 160ms", d)
	}
	if f["playback"].(map[string]any)["state"] != "done" {
		t.Fatal(f)
	}
	tg.mustDo(t, 404, "GET", "/playbacks/p1", nil, nil)

	// Recording on a PJSIP channel (audio frames): maxDurationSeconds ends it with a duration.
	tg.sim.AddEndpoint("talker", arisim.Endpoint{})
	pj := uniq("pj")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"PJSIP/talker"}, "app": {tg.app}, "channelId": {pj}}, nil)
	ev.wait(t, "StasisStart", isChan(pj), time.Second)
	tg.mustDo(t, 201, "POST", "/channels/"+pj+"/record", url.Values{"name": {"talk"}, "format": {"wav"}, "maxDurationSeconds": {"1"}}, nil)
	rf := ev.wait(t, "RecordingFinished", nil, 3*time.Second)
	if rf["recording"].(map[string]any)["duration"] != float64(1) {
		t.Fatalf("recording %v", rf["recording"])
	}
	tg.mustDo(t, 200, "GET", "/recordings/stored/talk", nil, nil)
	st, b := tg.do(t, "GET", "/recordings/stored/talk/file", nil, nil)
	if st != 200 || !bytes.HasPrefix(b, []byte("RIFF")) {
		t.Fatalf("file %d", st)
	}
	// On a Local channel (no audio) maxDurationSeconds is never reached, as on Asterisk.
	tg.mustDo(t, 201, "POST", "/channels/"+id+"/record", url.Values{"name": {"quiet"}, "format": {"wav"}, "maxDurationSeconds": {"1"}}, nil)
	time.Sleep(1200 * time.Millisecond)
	tg.mustDo(t, 200, "GET", "/recordings/live/quiet", nil, nil)
	tg.mustDo(t, 409, "POST", "/channels/"+id+"/record", url.Values{"name": {"quiet"}, "format": {"wav"}}, nil)
	tg.mustDo(t, 422, "POST", "/channels/"+id+"/record", url.Values{"name": {"x"}, "format": {"nope"}}, nil)
}

func TestApplicationReplaced(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	first := tg.listen(t, tg.app, false)
	second := tg.listen(t, tg.app, false)
	first.wait(t, "ApplicationReplaced", nil, 2*time.Second)
	id := tg.originate(t, second, tg.app, "answer")
	t.Cleanup(func() { tg.do(t, "DELETE", "/channels/"+id, nil, nil) })
	// Asterisk 22 keeps the replaced socket open and sends it nothing more for the app.
	first.mu.Lock()
	defer first.mu.Unlock()
	if first.err != nil {
		t.Fatalf("replaced socket closed: %v", first.err)
	}
	if last := first.all[len(first.all)-1]; last["type"] != "ApplicationReplaced" {
		t.Fatalf("replaced socket got %v after ApplicationReplaced", last["type"])
	}
}

func TestMainCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- arisim.Main(ctx, []string{"-listen", "127.0.0.1:0", "-ari-user", "x", "-ari-password", "y", "-asterisk-id", "pbx9", "-log-level", "error"}, &out)
	}()
	re := regexp.MustCompile(`http://(\S+)/ari`)
	var base string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1] + "/ari"
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no address printed: %q", out.String())
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	tg := &target{url: base, user: "x", pass: "y", client: &http.Client{Transport: tr}}
	m := tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil)
	if m["asterisk_id"] != "pbx9" {
		t.Fatal(m)
	}
	tr.CloseIdleConnections()
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := arisim.Main(context.Background(), []string{"-bogus"}, &out); err == nil {
		t.Fatal("bad flag accepted")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Originating into an app without a WebSocket: Stasis() fails and the channel is hung up.
func TestOriginateIntoUnregisteredApp(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	watch := tg.listen(t, tg.app+"all", true)
	id := uniq("orphan")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/answer@callgw-test"}, "app": {"nobody-listens"}, "channelId": {id}}, nil)
	watch.wait(t, "ChannelVarset", func(m map[string]any) bool {
		return chanID(m) == id && m["variable"] == "STASISSTATUS" && m["value"] == "FAILED"
	}, 2*time.Second)
	watch.wait(t, "ChannelDestroyed", isChan(id), 2*time.Second)
	if watch.count("StasisStart") != 0 {
		t.Fatal("StasisStart without an app")
	}
}
