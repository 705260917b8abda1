package arisim_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"

	"github.com/callgw/callgw/asterisk/arisim"
)

// connectARI connects the unmodified ari/v5 native client to tg for app.
func connectARI(t *testing.T, tg *target, app string) ari.Client {
	t.Helper()
	cl, err := native.Connect(&native.Options{
		Application: app, URL: tg.url, WebsocketURL: strings.Replace(tg.url, "http", "ws", 1) + "/events",
		Username: tg.user, Password: tg.pass,
	})
	if err != nil {
		t.Fatalf("native.Connect: %v", err)
	}
	// As on Asterisk, the app is registered only after the WebSocket upgrade was answered, which
	// Connect does not wait for: wait until it is listed.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if st, _ := tg.do(t, "GET", "/applications/"+app, nil, nil); st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app %s not registered after Connect", app)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Not cl.Close(): in ari/v5 v5.3.1 Close writes Client.connected while the listen goroutine
	// writes it too (an unsynchronized bool: a data race under -race). The listen goroutine is left
	// to retry against the closed server and is ignored by the leak check (main_test.go).
	t.Cleanup(func() { cl.Bus().Close() })
	return cl
}

// awaitEvent waits on an ari/v5 subscription for one event that satisfies ok.
func awaitEvent(t *testing.T, sub ari.Subscription, d time.Duration, ok func(ari.Event) bool) ari.Event {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e := <-sub.Events():
			if ok == nil || ok(e) {
				return e
			}
		case <-timer.C:
			t.Fatalf("event not received within %s", d)
			return nil
		}
	}
}

func code(err error) int {
	for err != nil {
		if c := native.CodeFromError(err); c != 0 {
			return c
		}
		u, ok := err.(interface{ Cause() error })
		if !ok {
			if err = errors.Unwrap(err); err == nil {
				return 0
			}
			continue
		}
		err = u.Cause()
	}
	return 0
}

// TestConformanceNativeClient drives every operation of issue 3 through the unmodified ari/v5
// native client. Each subtest is one row of docs/simulator.md's operation → test table.
func TestConformanceNativeClient(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	cl := connectARI(t, tg, tg.app)
	raw := tg.listen(t, tg.app+"raw", true) // subscribeAll observer for assertions on raw JSON
	_ = raw

	all := cl.Bus().Subscribe(nil, ari.Events.All)
	defer all.Cancel()

	originate := func(t *testing.T, ext string) *ari.ChannelHandle {
		t.Helper()
		id := uniq("n")
		sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart)
		defer sub.Cancel()
		h, err := cl.Channel().Originate(nil, ari.OriginateRequest{
			Endpoint: "Local/" + ext + "@callgw-test", App: tg.app, AppArgs: "a1,a2", ChannelID: id,
			CallerID: `"Alice" <1001>`, Timeout: 10, Variables: map[string]string{"CALLGW_TENANT": "acme"},
		})
		if err != nil {
			t.Fatalf("originate: %v", err)
		}
		e := awaitEvent(t, sub, 5*time.Second, func(e ari.Event) bool {
			ss := e.(*ari.StasisStart)
			return ss.Channel.ID == id
		}).(*ari.StasisStart)
		if strings.Join(e.Args, ",") != "a1,a2" {
			t.Fatalf("StasisStart args %v", e.Args)
		}
		t.Cleanup(func() { _ = h.Hangup() })
		return h
	}

	t.Run("asterisk/info", func(t *testing.T) {
		info, err := cl.Asterisk().Info(nil)
		if err != nil || info.SystemInfo.Version == "" || info.SystemInfo.EntityID == "" {
			t.Fatalf("info %+v %v", info, err)
		}
	})
	t.Run("asterisk/ping", func(t *testing.T) {
		m := tg.mustDo(t, 200, "GET", "/asterisk/ping", nil, nil)
		if m["ping"] != "pong" {
			t.Fatal(m)
		}
	})
	t.Run("asterisk/variable", func(t *testing.T) {
		k := ari.NewKey(ari.VariableKey, "CALLGW_GLOBAL_TEST")
		if err := cl.Asterisk().Variables().Set(k, "v1"); err != nil {
			t.Fatal(err)
		}
		v, err := cl.Asterisk().Variables().Get(k)
		if err != nil || v != "v1" {
			t.Fatalf("%q %v", v, err)
		}
	})
	t.Run("applications list/get/subscribe/unsubscribe", func(t *testing.T) {
		keys, err := cl.Application().List(nil)
		if err != nil || len(keys) == 0 {
			t.Fatalf("%v %v", keys, err)
		}
		d, err := cl.Application().Data(ari.NewKey(ari.ApplicationKey, tg.app))
		if err != nil || d.Name != tg.app {
			t.Fatalf("%+v %v", d, err)
		}
		h := originate(t, "answer")
		if err := cl.Application().Subscribe(ari.NewKey(ari.ApplicationKey, tg.app), "channel:"+h.ID()); err != nil {
			t.Fatal(err)
		}
		if err := cl.Application().Unsubscribe(ari.NewKey(ari.ApplicationKey, tg.app), "channel:"+h.ID()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("channels originate/get/list", func(t *testing.T) {
		h := originate(t, "answer")
		d, err := h.Data()
		if err != nil || d.State != "Up" || d.Caller.Number != "1001" || d.Caller.Name != "Alice" {
			t.Fatalf("%+v %v", d, err)
		}
		keys, err := cl.Channel().List(nil)
		if err != nil || len(keys) < 2 {
			t.Fatalf("list %v %v", keys, err)
		}
		v, err := h.GetVariable("CALLGW_TENANT")
		if err != nil || v != "acme" {
			t.Fatalf("originate variables: %q %v", v, err)
		}
	})
	t.Run("channels originate with id (POST /channels/{id})", func(t *testing.T) {
		id := uniq("withid")
		sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart)
		defer sub.Cancel()
		// ari/v5's StageOriginate posts to /channels; POST /channels/{id} is driven raw.
		tg.mustDo(t, 200, "POST", "/channels/"+id, nil, map[string]any{"endpoint": "Local/answer@callgw-test", "app": tg.app, "variables": map[string]string{"X": "1"}})
		awaitEvent(t, sub, 5*time.Second, func(e ari.Event) bool { return e.(*ari.StasisStart).Channel.ID == id })
		if err := cl.Channel().Get(ari.NewKey(ari.ChannelKey, id)).Hangup(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("channels originate to dialplan", func(t *testing.T) {
		h, err := cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "Local/answer@callgw-test", Context: "callgw-test", Extension: "answer", Priority: 1})
		if err != nil {
			t.Fatal(err)
		}
		// Not in Stasis: control operations answer 409.
		time.Sleep(100 * time.Millisecond)
		if err := h.Answer(); code(err) != 409 {
			t.Fatalf("answer outside Stasis: %v (code %d)", err, code(err))
		}
		if err := h.Hangup(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("channels hangup with reason", func(t *testing.T) {
		h := originate(t, "answer")
		sub := h.Subscribe(ari.Events.ChannelDestroyed)
		defer sub.Cancel()
		if err := h.Busy(); err != nil { // DELETE ?reason=busy
			t.Fatal(err)
		}
		e := awaitEvent(t, sub, 3*time.Second, nil).(*ari.ChannelDestroyed)
		if e.Cause != 17 {
			t.Fatalf("cause %d", e.Cause)
		}
	})
	t.Run("channels hangup missing 404", func(t *testing.T) {
		err := cl.Channel().Get(ari.NewKey(ari.ChannelKey, "does-not-exist")).Hangup()
		if code(err) != 404 {
			t.Fatalf("%v", err)
		}
	})
	t.Run("channels create+dial", func(t *testing.T) {
		id := uniq("create")
		sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart, ari.Events.Dial)
		defer sub.Cancel()
		h, err := cl.Channel().Create(nil, ari.ChannelCreateRequest{Endpoint: "Local/answer@callgw-test", App: tg.app, ChannelID: id})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = h.Hangup() }()
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { ss, ok := e.(*ari.StasisStart); return ok && ss.Channel.ID == id })
		if err := h.Dial("", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool {
			d, ok := e.(*ari.Dial)
			return ok && d.Peer.ID == id && d.Dialstatus == "ANSWER"
		})
	})
	t.Run("channels answer/ring/ringstop/progress", func(t *testing.T) {
		h := originate(t, "answer")
		for _, f := range []func() error{h.Answer, h.Ring, h.StopRing} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		tg.mustDo(t, 204, "POST", "/channels/"+h.ID()+"/progress", nil, nil)
	})
	t.Run("channels hold/unhold", func(t *testing.T) {
		h := originate(t, "answer")
		if err := h.Hold(); err != nil {
			t.Fatal(err)
		}
		if err := h.StopHold(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("channels mute/unmute direction", func(t *testing.T) {
		h := originate(t, "answer")
		for _, d := range []ari.Direction{ari.DirectionIn, ari.DirectionOut, ari.DirectionBoth} {
			if err := h.Mute(d); err != nil {
				t.Fatal(d, err)
			}
			if err := h.Unmute(d); err != nil {
				t.Fatal(d, err)
			}
		}
	})
	t.Run("channels dtmf", func(t *testing.T) {
		h := originate(t, "answer")
		sub := cl.Bus().Subscribe(nil, ari.Events.ChannelDtmfReceived)
		defer sub.Cancel()
		if err := h.SendDTMF("12", &ari.DTMFOptions{}); err != nil {
			t.Fatal(err)
		}
		e := awaitEvent(t, sub, 3*time.Second, nil).(*ari.ChannelDtmfReceived)
		if e.Channel.ID != h.ID()+";2" || e.Digit != "1" {
			t.Fatalf("DTMF seen on %s digit %s: Asterisk shows it on the Local peer", e.Channel.ID, e.Digit)
		}
	})
	t.Run("channels play/play with id/playbacks get/control/stop", func(t *testing.T) {
		h := originate(t, "answer")
		sub := cl.Bus().Subscribe(nil, ari.Events.PlaybackStarted, ari.Events.PlaybackFinished)
		defer sub.Cancel()
		pid := uniq("pb")
		pb, err := h.Play(pid, "tone:ring;tonezone=us")
		if err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.PlaybackStarted); return ok })
		d, err := pb.Data()
		if err != nil || d.State != "playing" || d.TargetURI != "channel:"+h.ID() {
			t.Fatalf("%+v %v", d, err)
		}
		for _, op := range []string{"pause", "unpause", "restart", "forward", "reverse"} {
			if err := pb.Control(op); err != nil {
				t.Fatal(op, err)
			}
		}
		if err := pb.Stop(); err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.PlaybackFinished); return ok })
		// play without id: sound: media finishes on its own.
		st, _ := tg.do(t, "POST", "/channels/"+h.ID()+"/play", url.Values{"media": {"sound:hello-world"}}, nil)
		if st != 201 {
			t.Fatalf("play: %d", st)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.PlaybackFinished); return ok })
	})
	t.Run("channels record/live recordings/stored recordings", func(t *testing.T) {
		h := originate(t, "answer")
		sub := cl.Bus().Subscribe(nil, ari.Events.RecordingStarted, ari.Events.RecordingFinished)
		defer sub.Cancel()
		name := uniq("rec")
		lr, err := h.Record(name, &ari.RecordingOptions{Format: "wav", MaxDuration: 60 * time.Second, Exists: "overwrite"})
		if err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.RecordingStarted); return ok })
		if _, err := lr.Data(); err != nil {
			t.Fatal(err)
		}
		for _, f := range []func() error{lr.Pause, lr.Resume, lr.Mute, lr.Unmute, lr.Stop} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.RecordingFinished); return ok })
		st := cl.StoredRecording().Get(ari.NewKey(ari.StoredRecordingKey, name))
		if d, err := st.Data(); err != nil || d.Format != "wav" {
			t.Fatalf("%+v %v", d, err)
		}
		keys, err := cl.StoredRecording().List(nil)
		if err != nil || len(keys) == 0 {
			t.Fatal(keys, err)
		}
		cp, err := st.Copy(name + "-copy")
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Delete(); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(); err != nil {
			t.Fatal(err)
		}
		// cancel (scrap) of a second recording
		lr2, err := h.Record(name+"-2", &ari.RecordingOptions{Format: "wav"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := lr2.Scrap(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("channels redirect", func(t *testing.T) {
		h := originate(t, "answer")
		tg.mustDo(t, 204, "POST", "/channels/"+h.ID()+"/redirect", url.Values{"endpoint": {"Local/echo@callgw-test"}}, nil)
		tg.mustDo(t, 422, "POST", "/channels/"+h.ID()+"/redirect", url.Values{"endpoint": {"PJSIP/alice"}}, nil)
	})
	t.Run("channels continue", func(t *testing.T) {
		h := originate(t, "answer")
		sub := h.Subscribe(ari.Events.StasisEnd)
		defer sub.Cancel()
		if err := h.Continue("callgw-test", "answer", 1); err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, nil)
	})
	t.Run("channels move", func(t *testing.T) {
		other := tg.app + "moved"
		cl2 := connectARI(t, tg, other)
		sub2 := cl2.Bus().Subscribe(nil, ari.Events.StasisStart)
		defer sub2.Cancel()
		h := originate(t, "answer")
		tg.mustDo(t, 204, "POST", "/channels/"+h.ID()+"/move", url.Values{"app": {other}, "appArgs": {"x"}}, nil)
		awaitEvent(t, sub2, 3*time.Second, func(e ari.Event) bool { return e.(*ari.StasisStart).Channel.ID == h.ID() })
	})
	t.Run("channels snoop", func(t *testing.T) {
		h := originate(t, "answer")
		sub := cl.Bus().Subscribe(nil, ari.Events.StasisStart)
		defer sub.Cancel()
		sid := uniq("snoop")
		sn, err := h.Snoop(sid, &ari.SnoopOptions{App: tg.app, Spy: ari.DirectionBoth})
		if err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { return e.(*ari.StasisStart).Channel.ID == sid })
		_ = sn.Hangup()
	})
	t.Run("channels moh/silence", func(t *testing.T) {
		h := originate(t, "answer")
		for _, f := range []func() error{func() error { return h.MOH("default") }, h.StopMOH, h.Silence, h.StopSilence} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("channels variable get/set", func(t *testing.T) {
		h := originate(t, "answer")
		if err := h.SetVariable("FOO", "bar"); err != nil {
			t.Fatal(err)
		}
		if v, err := h.GetVariable("FOO"); err != nil || v != "bar" {
			t.Fatalf("%q %v", v, err)
		}
	})
	t.Run("bridges create/get/list/add/remove/destroy", func(t *testing.T) {
		a, b := originate(t, "answer"), originate(t, "echo")
		sub := cl.Bus().Subscribe(nil, ari.Events.ChannelEnteredBridge, ari.Events.ChannelLeftBridge)
		defer sub.Cancel()
		bid := uniq("br")
		br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, bid), "mixing", "conf")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*ari.ChannelHandle{a, b} {
			if err := br.AddChannel(c.ID()); err != nil {
				t.Fatal(err)
			}
			awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.ChannelEnteredBridge); return ok })
		}
		tg.mustDo(t, 200, "POST", "/applications/"+tg.app+"/subscription", url.Values{"eventSource": {"bridge:" + bid}}, nil)
		destroyed := cl.Bus().Subscribe(nil, ari.Events.BridgeDestroyed)
		defer destroyed.Cancel()
		d, err := br.Data()
		if err != nil || len(d.ChannelIDs) != 2 || d.Type != "mixing" {
			t.Fatalf("%+v %v", d, err)
		}
		if keys, err := cl.Bridge().List(nil); err != nil || len(keys) == 0 {
			t.Fatal(keys, err)
		}
		if err := br.RemoveChannel(b.ID()); err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, func(e ari.Event) bool { _, ok := e.(*ari.ChannelLeftBridge); return ok })
		if err := br.Delete(); err != nil {
			t.Fatal(err)
		}
		// Asterisk destroys a bridge that still holds a channel asynchronously: GET may find it
		// until BridgeDestroyed, which the app sees through its bridge: subscription.
		awaitEvent(t, destroyed, 3*time.Second, func(e ari.Event) bool {
			d, ok := e.(*ari.BridgeDestroyed)
			return ok && d.Bridge.ID == bid
		})
		if _, err := br.Data(); code(err) != 404 {
			t.Fatalf("bridge still there after BridgeDestroyed: %v", err)
		}
	})
	t.Run("bridges play/record/moh/videoSource", func(t *testing.T) {
		a := originate(t, "answer")
		br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, uniq("br")), "mixing", "")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = br.Delete() }()
		if err := br.AddChannel(a.ID()); err != nil {
			t.Fatal(err)
		}
		sub := cl.Bus().Subscribe(nil, ari.Events.PlaybackFinished)
		defer sub.Cancel()
		if _, err := br.Play(uniq("bpb"), "sound:hello-world"); err != nil {
			t.Fatal(err)
		}
		awaitEvent(t, sub, 3*time.Second, nil)
		lr, err := br.Record(uniq("brec"), &ari.RecordingOptions{Format: "wav"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := lr.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := br.MOH("default"); err != nil {
			t.Fatal(err)
		}
		if err := br.StopMOH(); err != nil {
			t.Fatal(err)
		}
		if err := br.VideoSource(a.ID()); err != nil {
			t.Fatal(err)
		}
		if err := br.VideoSourceDelete(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("endpoints list/get", func(t *testing.T) {
		if tg.sim != nil {
			tg.sim.AddEndpoint("alice", arisim.Endpoint{})
		}
		keys, err := cl.Endpoint().List(nil)
		if err != nil || len(keys) == 0 {
			t.Fatalf("%v %v", keys, err)
		}
		d, err := cl.Endpoint().Data(keys[0])
		if err != nil || d.Technology == "" {
			t.Fatalf("%+v %v", d, err)
		}
	})
	t.Run("deviceStates", func(t *testing.T) {
		k := ari.NewKey(ari.DeviceStateKey, "Stasis:"+uniq("dev"))
		if err := cl.DeviceState().Update(k, "INUSE"); err != nil {
			t.Fatal(err)
		}
		d, err := cl.DeviceState().Data(k)
		if err != nil || d.State != "INUSE" {
			t.Fatalf("%+v %v", d, err)
		}
		if err := cl.DeviceState().Delete(k); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("events websocket with subscribeAll", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ctx
		h := originate(t, "answer")
		raw.wait(t, "ChannelCreated", isChan(h.ID()), 3*time.Second)
	})
}
