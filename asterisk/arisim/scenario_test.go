package arisim_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// Event order for the recorded scenarios (../shared/ari-recordings), asserted exactly.
func TestRecordedEventOrder(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)

	t.Run("answer then hangup", func(t *testing.T) {
		id := tg.originate(t, ev, tg.app, "answer")
		tg.mustDo(t, 204, "DELETE", "/channels/"+id, url.Values{"reason": {"normal"}}, nil)
		ev.wait(t, "ChannelDestroyed", isChan(id+";2"), 3*time.Second)
		want := []string{
			"Dial@" + id, "ChannelDialplan@" + id + ";2", "ChannelStateChange@" + id + ";2", "ChannelStateChange@" + id,
			"Dial@" + id, "ChannelVarset@" + id, "StasisStart@" + id,
		}
		got := ev.seq(id, id+";2")
		if !reflect.DeepEqual(got[:len(want)], want) {
			t.Fatalf("originate order:\n got %v\nwant %v", got, want)
		}
		tail := []string{
			"ChannelHangupRequest@" + id, "StasisEnd@" + id, "ChannelVarset@" + id, "ChannelHangupRequest@" + id + ";2",
			"ChannelDestroyed@" + id, "ChannelHangupRequest@" + id + ";2", "ChannelDestroyed@" + id + ";2",
		}
		if !reflect.DeepEqual(got[len(got)-len(tail):], tail) {
			t.Fatalf("hangup order:\n got %v\nwant %v", got, tail)
		}
		hr := ev.wait(t, "ChannelHangupRequest", isChan(id), time.Second)
		if hr["cause"] != float64(32) || hr["soft"] != true {
			t.Fatalf("hangup request = %v", hr)
		}
		tg.mustDo(t, 404, "GET", "/channels/"+id, nil, nil)
	})

	for _, tc := range []struct {
		ext, status string
		cause       float64
	}{
		{"busy", "BUSY", 17},
		{"congestion", "CONGESTION", 34},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			id := uniq(tc.ext)
			tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/" + tc.ext + "@callgw-test"}, "app": {tg.app}, "channelId": {id}}, nil)
			d := ev.wait(t, "ChannelDestroyed", isChan(id), 3*time.Second)
			if d["cause"] != float64(0) || d["cause_txt"] != "Unknown" {
				t.Fatalf("originated side destroyed with %v %v, want 0 Unknown", d["cause"], d["cause_txt"])
			}
			ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == tc.status }, time.Second)
			d2 := ev.wait(t, "ChannelDestroyed", isChan(id+";2"), time.Second)
			if d2["cause"] != tc.cause {
				t.Fatalf(";2 cause %v, want %v", d2["cause"], tc.cause)
			}
			if ev.count("StasisStart") > 1 {
				t.Fatal("busy call entered Stasis")
			}
			tg.mustDo(t, 404, "GET", "/channels/"+id, nil, nil)
		})
	}

	t.Run("ring timeout", func(t *testing.T) {
		id := uniq("ring")
		tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/ring@callgw-test"}, "app": {tg.app}, "channelId": {id}, "timeout": {"1"}}, nil)
		ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == "RINGING" }, 2*time.Second)
		if c := tg.mustDo(t, 200, "GET", "/channels/"+id, nil, nil); c["state"] != "Ringing" {
			t.Fatalf("state %v", c["state"])
		}
		d := ev.wait(t, "ChannelDestroyed", isChan(id), 3*time.Second)
		if d["cause"] != float64(19) {
			t.Fatalf("cause %v", d["cause"])
		}
	})

	t.Run("dtmf extension", func(t *testing.T) {
		id := tg.originate(t, ev, tg.app, "dtmf")
		var digits []string
		for _, want := range []string{"1", "2", "3", "#"} {
			m := ev.wait(t, "ChannelDtmfReceived", func(m map[string]any) bool { return chanID(m) == id && m["digit"] == want }, 3*time.Second)
			digits = append(digits, m["digit"].(string))
		}
		if strings.Join(digits, "") != "123#" {
			t.Fatal(digits)
		}
	})
}

func TestOriginateErrors(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	dup := tg.originate(t, ev, tg.app, "answer")
	for _, tc := range []struct {
		name string
		q    url.Values
		want int
		msg  string
	}{
		{"no endpoint", url.Values{"app": {tg.app}}, 400, "Endpoint must be specified"},
		{"bad endpoint", url.Values{"endpoint": {"nothing"}, "app": {tg.app}}, 400, "Invalid endpoint specified"},
		{"no app nor extension", url.Values{"endpoint": {"Local/answer@callgw-test"}}, 400, "Application or extension must be specified"},

		{"duplicate id", url.Values{"endpoint": {"Local/answer@callgw-test"}, "app": {tg.app}, "channelId": {dup}}, 409, "Channel with given unique ID already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := tg.do(t, "POST", "/channels", tc.q, nil)
			var m map[string]string
			_ = json.Unmarshal(b, &m)
			if st != tc.want || m["message"] != tc.msg {
				t.Fatalf("got %d %s, want %d %q", st, b, tc.want, tc.msg)
			}
		})
	}
}

func TestChannelErrors(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	ringing := uniq("ringing")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/ring@callgw-test"}, "app": {tg.app}, "channelId": {ringing}}, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == ringing && m["dialstatus"] == "RINGING" }, 3*time.Second)
	up := tg.originate(t, ev, tg.app, "answer")
	for _, tc := range []struct {
		name, method, path string
		q                  url.Values
		want               int
		msg                string
	}{
		{"get missing", "GET", "/channels/nope", nil, 404, "Channel not found"},
		{"hangup missing", "DELETE", "/channels/nope", nil, 404, "Channel not found"},
		{"answer missing", "POST", "/channels/nope/answer", nil, 404, "Channel not found"},
		{"answer not in stasis", "POST", "/channels/" + ringing + "/answer", nil, 409, "Channel not in Stasis application"},
		{"bad reason", "DELETE", "/channels/" + up, url.Values{"reason": {"nonsense"}}, 400, "Invalid reason for hangup reason provided"},
		{"reason and code", "DELETE", "/channels/" + up, url.Values{"reason": {"normal"}, "reason_code": {"16"}}, 400, "The reason and reason_code can't both be specified"},
		{"var no name", "POST", "/channels/" + up + "/variable", nil, 400, "Variable name is required"},
		{"var unknown", "GET", "/channels/" + up + "/variable", url.Values{"variable": {"NOPE_NOT_SET"}}, 404, "Provided variable was not found"},
		{"mute bad dir", "POST", "/channels/" + up + "/mute", url.Values{"direction": {"sideways"}}, 400, "Invalid direction specified"},
		{"dtmf empty", "POST", "/channels/" + up + "/dtmf", nil, 400, "DTMF is required"},
		{"unknown resource", "GET", "/nothing", nil, 404, "Resource not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := tg.do(t, tc.method, tc.path, tc.q, nil)
			var m map[string]string
			_ = json.Unmarshal(b, &m)
			if st != tc.want || m["message"] != tc.msg {
				t.Fatalf("got %d %s, want %d %q", st, b, tc.want, tc.msg)
			}
		})
	}
	tg.mustDo(t, 204, "DELETE", "/channels/"+ringing, nil, nil)
	tg.mustDo(t, 204, "DELETE", "/channels/"+up, nil, nil)
}

func TestAuth(t *testing.T) {
	tg := newSim(t, arisim.Config{User: "alice", Password: "secret"})
	for _, tc := range []struct {
		name string
		mod  func(u string) string
		user string
		pass string
		want int
	}{
		{"basic ok", nil, "alice", "secret", 200},
		{"basic wrong", nil, "alice", "nope", 401},
		{"none", nil, "", "", 401},
		{"api_key ok", func(u string) string { return u + "?api_key=alice:secret" }, "", "", 200},
		{"api_key wrong", func(u string) string { return u + "?api_key=alice:x" }, "", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tg.url + "/asterisk/ping"
			if tc.mod != nil {
				u = tc.mod(u)
			}
			req, _ := newReq("GET", u)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := tg.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// DTMF from the far end of a bridged channel is raised on that channel only; neither the other
// bridge member nor a snoop channel on it gets a ChannelDtmfReceived.
func TestDTMFInBridgeAndSnoop(t *testing.T) {
	tg := newTarget(t, arisim.Config{DialplanStep: 300 * time.Millisecond})
	ev := tg.listen(t, tg.app, false)
	d := tg.originate(t, ev, tg.app, "dtmf")
	other := tg.originate(t, ev, tg.app, "answer")
	bd := uniq("bd")
	tg.mustDo(t, 200, "POST", "/bridges/"+bd, nil, nil)
	t.Cleanup(func() { tg.do(t, "DELETE", "/bridges/"+bd, nil, nil) })
	tg.mustDo(t, 204, "POST", "/bridges/"+bd+"/addChannel", url.Values{"channel": {d + "," + other}}, nil)
	sn := tg.mustDo(t, 200, "POST", "/channels/"+d+"/snoop", url.Values{"spy": {"both"}, "app": {tg.app}}, nil)
	snID := sn["id"].(string)
	ev.wait(t, "ChannelDtmfReceived", func(m map[string]any) bool { return m["digit"] == "#" && chanID(m) == d }, 3*time.Second)
	// The bridge passes the digits on to the other Local call, whose ;2 half receives them.
	ev.wait(t, "ChannelDtmfReceived", func(m map[string]any) bool { return m["digit"] == "#" && chanID(m) == other+";2" }, 3*time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, m := range ev.all {
		if m["type"] == "ChannelDtmfReceived" && chanID(m) != d && chanID(m) != other+";2" {
			t.Fatalf("DTMF raised on %s (want only %s and %s;2; not the snoop %s)", chanID(m), d, other, snID)
		}
	}
}

// StasisStart/StasisEnd reach only the app that owns the channel, not a subscribeAll listener of
// another app (Asterisk sends them with app_send).
func TestStasisEventsOnlyToOwner(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	spy := tg.listen(t, tg.app+"spy", true)
	id := tg.originate(t, ev, tg.app, "answer")
	spy.wait(t, "ChannelStateChange", isChan(id), time.Second)
	tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	spy.wait(t, "ChannelDestroyed", isChan(id), time.Second)
	if n := spy.count("StasisStart") + spy.count("StasisEnd"); n != 0 {
		t.Fatalf("subscribeAll listener of another app got %d Stasis events", n)
	}
}

// Extensions added per test: ring first, then answer; the far end hangs up later.
func TestAddExtension(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	tg.sim.AddExtension("slow", arisim.Endpoint{RingFor: 100 * time.Millisecond, HangupAfter: 100 * time.Millisecond})
	tg.sim.AddExtension("slowbusy", arisim.Endpoint{RingFor: 50 * time.Millisecond, Outcome: "busy"})
	ev := tg.listen(t, tg.app, false)
	id := uniq("slow")
	start := time.Now()
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/slow@callgw-test"}, "app": {tg.app}, "channelId": {id}}, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == "RINGING" }, time.Second)
	ev.wait(t, "StasisStart", isChan(id), time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("answered after %s, want ≥ 100ms of ringing", d)
	}
	if d := ev.wait(t, "ChannelDestroyed", isChan(id), time.Second); d["cause"] != float64(16) {
		t.Fatal(d)
	}
	id2 := uniq("slowbusy")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/slowbusy@callgw-test"}, "app": {tg.app}, "channelId": {id2}}, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id2 && m["dialstatus"] == "BUSY" }, time.Second)
	if d := ev.wait(t, "ChannelDestroyed", isChan(id2+";2"), time.Second); d["cause"] != float64(17) {
		t.Fatal(d)
	}
	// Unknown extension: the dial fails at once.
	id3 := uniq("nope")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/nope@callgw-test"}, "app": {tg.app}, "channelId": {id3}}, nil)
	ev.wait(t, "ChannelDestroyed", isChan(id3), time.Second) // no such extension: destroyed, no Dial (as Asterisk 22)
	ev.wait(t, "ChannelDestroyed", isChan(id3), time.Second)
}

// One WebSocket may serve several apps (?app=a,b); "channel:" subscribes an app to all channels.
func TestMultiAppSocketAndSubscribeAllChannels(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	a, b := tg.app+"a", tg.app+"b"
	ev := tg.listen(t, a+","+b, false)
	tg.mustDo(t, 200, "GET", "/applications/"+b, nil, nil)
	ida := tg.originate(t, ev, a, "answer")
	idb := tg.originate(t, ev, b, "answer")
	for _, tc := range []struct{ id, app string }{{ida, a}, {idb, b}} {
		ss := ev.wait(t, "StasisStart", isChan(tc.id), time.Second)
		if ss["application"] != tc.app {
			t.Fatalf("StasisStart of %s carried application %v", tc.id, ss["application"])
		}
	}
	watcher := tg.app + "w"
	wev := tg.listen(t, watcher, false)
	tg.mustDo(t, 200, "POST", "/applications/"+watcher+"/subscription", url.Values{"eventSource": {"channel:"}}, nil)
	tg.mustDo(t, 204, "POST", "/channels/"+ida+"/variable", url.Values{"variable": {"W"}, "value": {"1"}}, nil)
	wev.wait(t, "ChannelVarset", isChan(ida), time.Second)
	tg.mustDo(t, 422, "POST", "/applications/"+watcher+"/subscription", url.Values{"eventSource": {"channel:nope"}}, nil)
	tg.mustDo(t, 400, "POST", "/applications/"+watcher+"/subscription", url.Values{"eventSource": {"bogus"}}, nil)
	bx := uniq("bx")
	tg.mustDo(t, 422, "DELETE", "/applications/"+watcher+"/subscription", url.Values{"eventSource": {"bridge:" + bx}}, nil)
	tg.mustDo(t, 200, "POST", "/bridges/"+bx, nil, nil)
	tg.mustDo(t, 422, "DELETE", "/applications/"+watcher+"/subscription", url.Values{"eventSource": {"bridge:" + bx}}, nil)
	tg.mustDo(t, 204, "DELETE", "/bridges/"+bx, nil, nil)
}

// Stasis subscribes an app to a bridge while one of its channels is in it: bridge playbacks are
// seen then, BridgeDestroyed after the channels left is not (as recorded); an explicit bridge
// subscription sees it. addChannel moves a channel that is in another bridge.
func TestBridgeSubscriptions(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	b1, b2 := uniq("b1"), uniq("b2")
	id := tg.originate(t, ev, tg.app, "answer")
	tg.mustDo(t, 200, "POST", "/bridges/"+b1, nil, nil)
	tg.mustDo(t, 200, "POST", "/bridges/"+b2, nil, nil)
	tg.mustDo(t, 204, "POST", "/bridges/"+b1+"/addChannel", url.Values{"channel": {id}}, nil)
	tg.mustDo(t, 201, "POST", "/bridges/"+b1+"/play/bp", url.Values{"media": {"sound:x"}}, nil)
	ev.wait(t, "PlaybackFinished", nil, 2*time.Second)
	tg.mustDo(t, 204, "POST", "/bridges/"+b2+"/addChannel", url.Values{"channel": {id}}, nil)
	ev.wait(t, "ChannelLeftBridge", func(m map[string]any) bool { return m["bridge"].(map[string]any)["id"] == b1 }, time.Second)
	ev.wait(t, "ChannelEnteredBridge", func(m map[string]any) bool { return m["bridge"].(map[string]any)["id"] == b2 }, time.Second)
	tg.mustDo(t, 204, "DELETE", "/bridges/"+b1, nil, nil)
	tg.mustDo(t, 200, "POST", "/applications/"+tg.app+"/subscription", url.Values{"eventSource": {"bridge:" + b2}}, nil)
	tg.mustDo(t, 204, "DELETE", "/bridges/"+b2, nil, nil)
	ev.wait(t, "BridgeDestroyed", func(m map[string]any) bool { return m["bridge"].(map[string]any)["id"] == b2 }, time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, m := range ev.all {
		if m["type"] == "BridgeDestroyed" && m["bridge"].(map[string]any)["id"] == b1 {
			t.Fatal("BridgeDestroyed of b1 reached an app whose channel had left it")
		}
		if m["type"] == "BridgeCreated" {
			t.Fatal("BridgeCreated reached an app not subscribed at creation")
		}
	}
}

// slow<N> of the reference dialplan rings N seconds like a real phone
// (Ringing(), Wait(N)), then answers; N runs from 1 to 99.
func TestSlowNExtension(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := uniq("slow2")
	start := time.Now()
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/slow2@callgw-test"}, "app": {tg.app}, "channelId": {id}}, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == id && m["dialstatus"] == "RINGING" }, time.Second)
	ev.wait(t, "StasisStart", isChan(id), 4*time.Second)
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("answered after %s, want 2 s of ringing", d)
	}
	tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	for _, exten := range []string{"slow0", "slow100", "slow05"} {
		id := uniq(exten)
		tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/" + exten + "@callgw-test"}, "app": {tg.app}, "channelId": {id}}, nil)
		// no such extension: the channel is destroyed at once, with no Dial
		// event (a real Asterisk 22.10.1 sends none)
		d := ev.wait(t, "ChannelDestroyed", isChan(id), time.Second)
		t.Logf("%s: destroyed with cause %v (%v)", exten, d["cause"], d["cause_txt"])
		ev.mu.Lock()
		for _, m := range ev.all {
			if m["type"] == "Dial" && chanID(m) == id {
				t.Errorf("%s: a Dial event (%v) for a missing extension", exten, m["dialstatus"])
			}
		}
		ev.mu.Unlock()
	}
}
