package asterisk

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// answered originates an answered call of tenant and waits for call.answered.
func (h *harness) answered(t *testing.T, tenant string, tags ...string) callapi.CallID {
	t.Helper()
	id := newID()
	ctx := ctxT(t, 5*time.Second)
	if _, err := h.pbx.Originate(ctx, tenant, id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Tags: tags}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallAnswered)
	return id
}

// bridgeEvents returns the events of bridge id without a call, in order.
func (s *recSink) bridgeEvents(id callapi.BridgeID) []*callapi.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*callapi.Event
	for _, e := range s.evs {
		if e.CallID == "" && e.BridgeID == id {
			out = append(out, e)
		}
	}
	return out
}

func (s *recSink) waitBridge(t *testing.T, id callapi.BridgeID, typ callapi.EventType) *callapi.Event {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, e := range s.bridgeEvents(id) {
			if e.Type == typ {
				return e
			}
		}
	}
	t.Fatalf("no %s for bridge %s; got %v", typ, id, types(s.bridgeEvents(id), ""))
	return nil
}

// simGet reads an ARI resource of the simulator directly; it returns the status.
func (h *harness) simGet(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func wantCode(t *testing.T, what string, err error, code callapi.Code) {
	t.Helper()
	if callapi.ErrorCode(err) != code {
		t.Errorf("%s: got %v (%s), want %s", what, err, callapi.ErrorCode(err), code)
	}
}

// TestCallControlOperations runs each operation against the simulator. The
// PBX trusts its arguments: invalid ones (bad digits, reserved variables,
// bad ids or bridge types, a transfer naming one call twice) are refused
// by the worker's executor before they get here (worker.TestSpecValidation
// and TestExecutorInputRules).
func TestCallControlOperations(t *testing.T) {
	h := newHarness(t)
	id := h.answered(t, "acme", "sales-42")
	ctx := ctxT(t, 20*time.Second)
	p := h.pbx
	for _, tc := range []struct {
		name string
		f    func() error
		code callapi.Code
	}{
		{"answer", func() error { return p.Answer(ctx, "acme", id) }, ""},
		{"ring", func() error { return p.Ring(ctx, "acme", id, true) }, ""},
		{"ring stop", func() error { return p.Ring(ctx, "acme", id, false) }, ""},
		{"mute both", func() error { return p.Mute(ctx, "acme", id, "both", true) }, ""},
		{"unmute in", func() error { return p.Mute(ctx, "acme", id, "in", false) }, ""},
		{"mute default", func() error { return p.Mute(ctx, "acme", id, "", true) }, ""},
		{"mute bad direction", func() error { return p.Mute(ctx, "acme", id, "sideways", true) }, callapi.CodeInvalidArgument},
		{"dtmf defaults", func() error { return p.SendDTMF(ctx, "acme", id, callapi.DTMFArgs{Digits: "12#"}) }, ""},
		{"dtmf timing", func() error {
			return p.SendDTMF(ctx, "acme", id, callapi.DTMFArgs{Digits: "1,2", BetweenMS: 50, DurationMS: 80})
		}, ""},
		{"moh start", func() error { return p.MOH(ctx, "acme", id, true, "default") }, ""},
		{"moh stop", func() error { return p.MOH(ctx, "acme", id, false, "") }, ""},
		{"redirect local (asterisk: 204, nothing happens)", func() error { return p.Redirect(ctx, "acme", id, "Local/echo@callgw-test") }, ""},
		{"redirect other technology", func() error { return p.Redirect(ctx, "acme", id, "PJSIP/sip:alice@example.com") }, callapi.CodeInvalidArgument},
		{"set variable", func() error { return p.SetVariable(ctx, "acme", id, "FOO", "bar baz") }, ""},
		{"unknown call", func() error { return p.Answer(ctx, "acme", newID()) }, callapi.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, tc.f(), tc.code)
		})
	}
	if v, err := p.Variable(ctx, "acme", id, "FOO"); err != nil || v != "bar baz" {
		t.Errorf("Variable FOO = %q, %v", v, err)
	}
	if v, err := p.Variable(ctx, "acme", id, "CALLERID(num)"); err != nil {
		t.Errorf("Variable CALLERID(num) = %q, %v", v, err)
	}
	_, err := p.Variable(ctx, "acme", id, "NOT_SET_ANYWHERE")
	wantCode(t, "unset variable", err, callapi.CodeNotFound)

	// Hold and unhold are announced once each, by callgw (Asterisk raises
	// no ChannelHold for its own hold), in order with the call's events.
	if err := p.Hold(ctx, "acme", id, true); err != nil {
		t.Fatal(err)
	}
	if err := p.Hold(ctx, "acme", id, true); err != nil { // again: no second call.hold
		t.Fatal(err)
	}
	if err := p.Hold(ctx, "acme", id, false); err != nil {
		t.Fatal(err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallUnhold)
	var hd callapi.HoldData
	if err := json.Unmarshal(e.Data, &hd); err != nil || hd.Source != callapi.HoldByAPI || e.Tenant != "acme" || !slices.Equal(e.Tags, []string{"sales-42"}) {
		t.Errorf("call.unhold %s %+v", e.Data, e)
	}
	if got := types(h.sink.of(id), ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHold, callapi.EvCallUnhold}) {
		t.Errorf("events %v", got)
	}
	checkSeq(t, h.sink.of(id))
}

func checkSeq(t *testing.T, evs []*callapi.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("seq not increasing: %s %d after %s %d", evs[i].Type, evs[i].Seq, evs[i-1].Type, evs[i-1].Seq)
		}
	}
}

// TestCallControlTenantIsolation: another tenant's call, bridge, playback
// and recording are not found, by every operation.
func TestCallControlTenantIsolation(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 20*time.Second)
	id := h.answered(t, "acme")
	br := callapi.BridgeID(newID())
	if _, err := p.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"tone:ring"}, PlaybackID: "pb-iso"}); err != nil {
		t.Fatal(err)
	}
	// On a second call: a channel's recording waits in Asterisk's control
	// queue until its playback ends.
	recCall := h.answered(t, "acme")
	if _, err := p.Record(ctx, "acme", recCall, callapi.RecordArgs{Name: "iso"}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, recCall, callapi.EvCallRecordingStarted)
	const o = "other"
	play := callapi.PlayArgs{Media: []string{"sound:x"}, PlaybackID: "pb-o"}
	for name, f := range map[string]func() error{
		"answer":     func() error { return p.Answer(ctx, o, id) },
		"ring":       func() error { return p.Ring(ctx, o, id, true) },
		"hold":       func() error { return p.Hold(ctx, o, id, true) },
		"mute":       func() error { return p.Mute(ctx, o, id, "both", true) },
		"dtmf":       func() error { return p.SendDTMF(ctx, o, id, callapi.DTMFArgs{Digits: "1"}) },
		"redirect":   func() error { return p.Redirect(ctx, o, id, "Local/x@y") },
		"continue":   func() error { return p.Continue(ctx, o, id, callapi.ContinueArgs{}) },
		"setvar":     func() error { return p.SetVariable(ctx, o, id, "A", "b") },
		"moh":        func() error { return p.MOH(ctx, o, id, true, "") },
		"getvar":     func() error { _, err := p.Variable(ctx, o, id, "A"); return err },
		"play":       func() error { _, err := p.Play(ctx, o, id, play); return err },
		"record":     func() error { _, err := p.Record(ctx, o, id, callapi.RecordArgs{Name: "x"}); return err },
		"snoop":      func() error { _, err := p.Snoop(ctx, o, id, callapi.SnoopArgs{SnoopID: newID()}); return err },
		"bridge get": func() error { _, err := p.Bridge(ctx, o, br); return err },
		"bridge play": func() error {
			_, err := p.PlayOnBridge(ctx, o, br, play)
			return err
		},
		"bridge rec": func() error { _, err := p.RecordBridge(ctx, o, br, callapi.RecordArgs{Name: "x"}); return err },
		"bridge add": func() error { return p.AddToBridge(ctx, o, br, id) },
		"bridge rm":  func() error { return p.RemoveFromBridge(ctx, o, br, id) },
		"destroy":    func() error { return p.DestroyBridge(ctx, o, br) },
		"playback":   func() error { _, err := p.Playback(ctx, o, "pb-iso"); return err },
		"stop pb":    func() error { return p.StopPlayback(ctx, o, "pb-iso") },
		"live rec":   func() error { _, err := p.LiveRecording(ctx, o, "iso"); return err },
		"stop rec":   func() error { return p.StopRecording(ctx, o, "iso") },
		"stored get": func() error { _, err := p.StoredRecording(ctx, o, "iso"); return err },
		"stored del": func() error { return p.DeleteStoredRecording(ctx, o, "iso") },
		"transfer": func() error {
			_, err := p.Transfer(ctx, o, callapi.TransferArgs{Transferee: id, Target: newID(), Transferer: newID()})
			return err
		},
	} {
		wantCode(t, name, f(), callapi.CodeNotFound)
	}
	if l, err := p.Bridges(ctx, o); err != nil || len(l) != 0 {
		t.Errorf("other tenant's bridges: %v %v", l, err)
	}
	if l, err := p.StoredRecordings(ctx, o); err != nil || len(l) != 0 {
		t.Errorf("other tenant's stored recordings: %v %v", l, err)
	}
	// The owner still has everything.
	if _, err := p.Bridge(ctx, "acme", br); err != nil {
		t.Error(err)
	}
	if _, err := p.Playback(ctx, "acme", "pb-iso"); err != nil {
		t.Error(err)
	}
	if r, err := p.LiveRecording(ctx, "acme", "iso"); err != nil || r.Name != "iso" || r.TargetID != string(recCall) {
		t.Errorf("LiveRecording = %+v, %v", r, err)
	}
	if l, err := p.StoredRecordings(ctx, "acme"); err != nil || len(l) != 1 || l[0].Name != "iso" {
		t.Errorf("stored = %v, %v", l, err)
	}
}

// TestCallControlNotInStasis: a call sent to the dialplan is tracked but
// not controlled; ARI's 409 is a conflict with a clear message.
func TestCallControlNotInStasis(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test", Context: "callgw-test", Extension: "answer"}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallAnswered)
	for name, f := range map[string]func() error{
		"answer": func() error { return p.Answer(ctx, "acme", id) },
		"hold":   func() error { return p.Hold(ctx, "acme", id, true) },
		"mute":   func() error { return p.Mute(ctx, "acme", id, "both", true) },
		"dtmf":   func() error { return p.SendDTMF(ctx, "acme", id, callapi.DTMFArgs{Digits: "1"}) },
		"play": func() error {
			_, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"sound:x"}, PlaybackID: "pb-x"})
			return err
		},
		"record":   func() error { _, err := p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "x"}); return err },
		"continue": func() error { return p.Continue(ctx, "acme", id, callapi.ContinueArgs{}) },
		"setvar":   func() error { return p.SetVariable(ctx, "acme", id, "A", "b") },
		"moh":      func() error { return p.MOH(ctx, "acme", id, true, "") },
		"redirect": func() error { return p.Redirect(ctx, "acme", id, "Local/x@y") },
	} {
		err := f()
		wantCode(t, name, err, callapi.CodeConflict)
		if !strings.Contains(callapi.ErrorMessage(err), "Stasis") {
			t.Errorf("%s: message %q does not say why", name, callapi.ErrorMessage(err))
		}
	}
	if err := p.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	waitNoChannels(t, h.srv)
}

func TestCallPlayback(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme", "t1")
	pb, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"sound:hello-world", "digits:12"}, PlaybackID: "pb-1"})
	if err != nil || pb.ID != "pb-1" || pb.Node != "pbx1" || pb.TargetID != string(id) || pb.Media != "sound:hello-world" {
		t.Fatalf("Play = %+v, %v", pb, err)
	}
	_, err = p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"sound:x"}, PlaybackID: "pb-1"})
	wantCode(t, "same playback id", err, callapi.CodeConflict)
	e := h.sink.waitFor(t, id, callapi.EvCallPlaybackFinished)
	var d callapi.PlaybackData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.PlaybackID != "pb-1" || d.State != "done" || !slices.Equal(e.Tags, []string{"t1"}) {
		t.Errorf("finished %s", e.Data)
	}
	_, err = p.Playback(ctx, "acme", "pb-1")
	wantCode(t, "finished playback", err, callapi.CodeNotFound)

	// A tone plays until stopped.
	if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"tone:ring"}, PlaybackID: "pb-2"}); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := p.Playback(ctx, "acme", "pb-2")
		if err != nil {
			t.Fatal(err)
		}
		if got.State == "playing" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.StopPlayback(ctx, "acme", "pb-2"); err != nil {
		t.Fatal(err)
	}
	for {
		evs := h.sink.of(id)
		if n := len(slices.DeleteFunc(slices.Clone(evs), func(e *callapi.Event) bool { return e.Type != callapi.EvCallPlaybackFinished })); n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallPlaybackStarted, callapi.EvCallPlaybackFinished, callapi.EvCallPlaybackStarted, callapi.EvCallPlaybackFinished}
	if got := types(h.sink.of(id), ""); !slices.Equal(got, want) {
		t.Errorf("events %v", got)
	}
	checkSeq(t, h.sink.of(id))
}

func TestCallRecording(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme")
	r, err := p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "rec-1", MaxDurationSeconds: 30, MaxSilenceSeconds: 5, Beep: true, TerminateOn: "#"})
	if err != nil || r.Name != "rec-1" || r.Format != "wav" || r.TargetID != string(id) || r.Node != "pbx1" {
		t.Fatalf("Record = %+v, %v", r, err)
	}
	e := h.sink.waitFor(t, id, callapi.EvCallRecordingStarted)
	var d callapi.RecordingData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.Name != "rec-1" || d.State != "recording" {
		t.Errorf("started %s", e.Data)
	}
	_, err = p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "rec-1"})
	wantCode(t, "name in use", err, callapi.CodeConflict)
	if m := callapi.ErrorMessage(err); !strings.Contains(m, "rec-1") || strings.Contains(m, "acme.rec-1") {
		t.Errorf("conflict message %q", m)
	}
	if got, err := p.LiveRecording(ctx, "acme", "rec-1"); err != nil || got.State != "recording" {
		t.Errorf("LiveRecording = %+v, %v", got, err)
	}
	if err := p.StopRecording(ctx, "acme", "rec-1"); err != nil {
		t.Fatal(err)
	}
	e = h.sink.waitFor(t, id, callapi.EvCallRecordingFinished)
	if err := json.Unmarshal(e.Data, &d); err != nil || d.Name != "rec-1" || d.State != "done" || d.Duration == nil {
		t.Errorf("finished %s", e.Data)
	}
	_, err = p.LiveRecording(ctx, "acme", "rec-1")
	wantCode(t, "live after stop", err, callapi.CodeNotFound)
	// Stored under the tenant's prefix on Asterisk; the CallAPI name is bare.
	if st := h.simGet(t, "/recordings/stored/acme.rec-1", nil); st != 200 {
		t.Errorf("stored on asterisk as acme.rec-1: %d", st)
	}
	if l, err := p.StoredRecordings(ctx, "acme"); err != nil || len(l) != 1 || l[0].Name != "rec-1" || l[0].Format != "wav" {
		t.Errorf("StoredRecordings = %v, %v", l, err)
	}
	if got, err := p.StoredRecording(ctx, "acme", "rec-1"); err != nil || got.Name != "rec-1" {
		t.Errorf("StoredRecording = %+v, %v", got, err)
	}
	_, err = p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "rec-1"})
	wantCode(t, "exists, if_exists fail", err, callapi.CodeConflict)
	if _, err := p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "rec-1", IfExists: "overwrite", Format: "gsm"}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	// Playing a recording names the tenant's own.
	pb, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"recording:rec-1"}, PlaybackID: "pb-rec"})
	if err != nil || pb.Media != "recording:rec-1" {
		t.Errorf("Play recording = %+v, %v", pb, err)
	}
	if err := p.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallHangup)
	if err := p.DeleteStoredRecording(ctx, "acme", "rec-1"); err != nil {
		t.Fatal(err)
	}
	_, err = p.StoredRecording(ctx, "acme", "rec-1")
	wantCode(t, "deleted", err, callapi.CodeNotFound)
	wantCode(t, "delete twice", p.DeleteStoredRecording(ctx, "acme", "rec-1"), callapi.CodeNotFound)
}

func TestCallSnoopAndContinue(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme", "t1")
	sid := newID()
	c, err := p.Snoop(ctx, "acme", id, callapi.SnoopArgs{Spy: "in", SnoopID: sid})
	if err != nil || c.ID != sid || c.Tenant != "acme" || c.Node != "pbx1" || !slices.Equal(c.Tags, []string{"t1"}) {
		t.Fatalf("Snoop = %+v, %v", c, err)
	}
	e := h.sink.waitFor(t, sid, callapi.EvCallAnswered)
	if e.Tenant != "acme" || e.Seq != 2 {
		t.Errorf("snoop answered %+v", e)
	}
	if got, err := p.Call(ctx, "acme", sid); err != nil || got.State != callapi.StateUp || !strings.HasPrefix(got.Channel, "Snoop/") {
		t.Errorf("snoop call = %+v, %v", got, err)
	}
	if v, err := p.Variable(ctx, "acme", sid, VarTenant); err != nil || v != "acme" {
		t.Errorf("snoop %s = %q, %v", VarTenant, v, err)
	}
	_, err = p.Snoop(ctx, "acme", id, callapi.SnoopArgs{SnoopID: sid})
	wantCode(t, "snoop id in use", err, callapi.CodeConflict)
	_, err = p.Snoop(ctx, "acme", id, callapi.SnoopArgs{Spy: "none"})
	wantCode(t, "spy and whisper none", err, callapi.CodeInvalidArgument)

	// Continue: the call leaves the app, and callgw's control.
	if err := p.Continue(ctx, "acme", id, callapi.ContinueArgs{Context: "callgw-test", Extension: "answer", Priority: 1}); err != nil {
		t.Fatal(err)
	}
	e = h.sink.waitFor(t, id, callapi.EvCallHangup)
	if hd := hangupData(t, e); hd.Reason != ReasonLeftStasis {
		t.Errorf("after continue: %+v", hd)
	}
	// The snooped channel still exists (in the dialplan): hang it up on the
	// simulator; the snoop ends with it.
	h.srv.HangupChannel(string(id), 16)
	h.sink.waitFor(t, sid, callapi.EvCallHangup)
	waitNoChannels(t, h.srv)
}

func TestBridges(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	a, b := h.answered(t, "acme", "x"), h.answered(t, "acme")
	br := callapi.BridgeID("br-" + string(newID()))
	got, err := p.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{Name: "conf"})
	if err != nil || got.ID != br || got.Tenant != "acme" || got.Type != "mixing" || got.Name != "conf" || got.Node != "pbx1" || got.Calls == nil {
		t.Fatalf("CreateBridge = %+v, %v", got, err)
	}
	e := h.sink.waitBridge(t, br, callapi.EvBridgeCreated)
	var bd callapi.BridgeData
	if err := json.Unmarshal(e.Data, &bd); err != nil || e.Tenant != "acme" || bd.Name != "conf" || bd.Type != "mixing" || e.Node != "pbx1" {
		t.Errorf("bridge.created %+v %s", e, e.Data)
	}
	_, err = p.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{})
	wantCode(t, "same id", err, callapi.CodeConflict)

	for _, c := range []callapi.CallID{a, b} {
		if err := p.AddToBridge(ctx, "acme", br, c); err != nil {
			t.Fatal(err)
		}
		e := h.sink.waitFor(t, c, callapi.EvCallBridged)
		var d callapi.BridgedData
		if err := json.Unmarshal(e.Data, &d); err != nil || d.BridgeID != br || e.BridgeID != br {
			t.Errorf("call.bridged %s", e.Data)
		}
	}
	wantCode(t, "add unknown call", p.AddToBridge(ctx, "acme", br, newID()), callapi.CodeNotFound)
	if got, err := p.Bridge(ctx, "acme", br); err != nil || !slices.Equal(got.Calls, []callapi.CallID{a, b}) {
		t.Errorf("Bridge = %+v, %v", got, err)
	}
	if l, err := p.Bridges(ctx, "acme"); err != nil || len(l) != 1 || l[0].ID != br || len(l[0].Calls) != 2 {
		t.Errorf("Bridges = %v, %v", l, err)
	}
	if c, _ := p.Call(ctx, "acme", a); c.BridgeID != br {
		t.Errorf("call's bridge = %q", c.BridgeID)
	}
	// A tone, which plays until stopped: Asterisk forgets a playback as soon
	// as its media ended (a short sound may be gone before the GET).
	pb, err := p.PlayOnBridge(ctx, "acme", br, callapi.PlayArgs{Media: []string{"tone:ring"}, PlaybackID: "bpb"})
	if err != nil || pb.TargetID != string(br) {
		t.Errorf("PlayOnBridge = %+v, %v", pb, err)
	}
	if got, err := p.Playback(ctx, "acme", "bpb"); err != nil || got.ID != "bpb" {
		t.Errorf("bridge playback = %+v, %v", got, err)
	}
	if err := p.StopPlayback(ctx, "acme", "bpb"); err != nil {
		t.Errorf("stop bridge playback: %v", err)
	}
	rec, err := p.RecordBridge(ctx, "acme", br, callapi.RecordArgs{Name: "conf-rec"})
	if err != nil || rec.Name != "conf-rec" || rec.TargetID != string(br) {
		t.Errorf("RecordBridge = %+v, %v", rec, err)
	}
	if err := p.RemoveFromBridge(ctx, "acme", br, b); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, b, callapi.EvCallUnbridged)
	wantCode(t, "remove again", p.RemoveFromBridge(ctx, "acme", br, b), callapi.CodeNotFound)

	if err := p.DestroyBridge(ctx, "acme", br); err != nil {
		t.Fatal(err)
	}
	h.sink.waitBridge(t, br, callapi.EvBridgeDestroyed)
	h.sink.waitFor(t, a, callapi.EvCallUnbridged)
	time.Sleep(100 * time.Millisecond)
	if got := types(h.sink.bridgeEvents(br), ""); !slices.Equal(got, []callapi.EventType{callapi.EvBridgeCreated, callapi.EvBridgeDestroyed}) {
		t.Errorf("bridge events %v", got)
	}
	_, err = p.Bridge(ctx, "acme", br)
	wantCode(t, "destroyed", err, callapi.CodeNotFound)
	wantCode(t, "destroy twice", p.DestroyBridge(ctx, "acme", br), callapi.CodeNotFound)
	if l, err := p.Bridges(ctx, "acme"); err != nil || len(l) != 0 {
		t.Errorf("Bridges after destroy = %v, %v", l, err)
	}
	if got := types(h.sink.of(a), ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallBridged, callapi.EvCallUnbridged}) {
		t.Errorf("call events %v", got)
	}
	checkSeq(t, h.sink.of(a))
}

// TestBridgeTypes: every bridge type the CallAPI accepts creates a bridge;
// dtmf_events and proxy_media alone would make Asterisk answer 500.
func TestBridgeTypes(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	for _, typ := range []string{"", "mixing", "holding", "dtmf_events", "proxy_media", "mixing,dtmf_events"} {
		args := callapi.BridgeCreateArgs{Type: typ}
		if err := args.Validate(); err != nil {
			t.Fatalf("%q: %v", typ, err)
		}
		br := callapi.BridgeID(newID())
		if _, err := h.pbx.CreateBridge(ctx, "acme", br, args); err != nil {
			t.Errorf("type %q: %v", typ, err)
			continue
		}
		if err := h.pbx.DestroyBridge(ctx, "acme", br); err != nil {
			t.Errorf("destroy %q: %v", typ, err)
		}
	}
}

// TestBridgeDestroyedElsewhere: a bridge destroyed by another ARI client is
// announced (BridgeDestroyed, subscribed) with its tenant, once.
func TestBridgeDestroyedElsewhere(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	br := callapi.BridgeID(newID())
	if _, err := h.pbx.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{Type: "holding"}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, h.url+"/bridges/"+string(br), nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e := h.sink.waitBridge(t, br, callapi.EvBridgeDestroyed)
	if e.Tenant != "acme" || len(e.ARI) == 0 {
		t.Errorf("bridge.destroyed %+v", e)
	}
	_, err = h.pbx.Bridge(ctx, "acme", br)
	wantCode(t, "gone", err, callapi.CodeNotFound)
}

func TestTransfer(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	a, b, c := h.answered(t, "acme"), h.answered(t, "acme"), h.answered(t, "acme")
	// A talks to B; B then called C.
	old := callapi.BridgeID(newID())
	if _, err := p.CreateBridge(ctx, "acme", old, callapi.BridgeCreateArgs{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []callapi.CallID{a, b} {
		if err := p.AddToBridge(ctx, "acme", old, id); err != nil {
			t.Fatal(err)
		}
		h.sink.waitFor(t, id, callapi.EvCallBridged)
	}
	br := callapi.BridgeID(newID())
	got, err := p.Transfer(ctx, "acme", callapi.TransferArgs{Transferee: a, Target: c, Transferer: b, BridgeID: br})
	if err != nil || got.ID != br || got.Tenant != "acme" || !slices.Equal(got.Calls, []callapi.CallID{a, c}) {
		t.Fatalf("Transfer = %+v, %v", got, err)
	}
	if hd := hangupData(t, h.sink.waitFor(t, b, callapi.EvCallHangup)); hd.Reason != ReasonAPI {
		t.Errorf("transferer hangup %+v", hd)
	}
	h.sink.waitFor(t, c, callapi.EvCallBridged)
	if bg, err := p.Bridge(ctx, "acme", br); err != nil || !slices.Equal(bg.Calls, []callapi.CallID{a, c}) {
		t.Errorf("transfer bridge = %+v, %v", bg, err)
	}
	h.sink.waitBridge(t, br, callapi.EvBridgeCreated)
	// The transferee's bridge is learnt from its ChannelEnteredBridge, which
	// may come after the target's.
	var cl *callapi.Call
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cl, _ = p.Call(ctx, "acme", a); cl != nil && cl.BridgeID == br {
			return
		}
	}
	t.Errorf("transferee's bridge = %+v, want %q", cl, br)
}

func TestTransferFailures(t *testing.T) {
	h := newHarness(t)
	p := h.pbx
	ctx := ctxT(t, 10*time.Second)
	a, b := h.answered(t, "acme"), h.answered(t, "acme")
	// C is a call in the dialplan: tracked, but not in Stasis.
	c := newID()
	if _, err := p.Originate(ctx, "acme", c, callapi.OriginateArgs{To: "Local/answer@callgw-test", Context: "callgw-test", Extension: "answer"}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, c, callapi.EvCallAnswered)
	for _, tc := range []struct {
		name string
		args callapi.TransferArgs
		code callapi.Code
	}{
		{"unknown target", callapi.TransferArgs{Transferee: a, Target: newID(), Transferer: b}, callapi.CodeNotFound},
		{"target not in stasis", callapi.TransferArgs{Transferee: a, Target: c, Transferer: b}, callapi.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.args.BridgeID = callapi.BridgeID(newID())
			_, err := p.Transfer(ctx, "acme", tc.args)
			wantCode(t, tc.name, err, tc.code)
			if tc.code == callapi.CodeConflict && !strings.Contains(callapi.ErrorMessage(err), string(c)) {
				t.Errorf("message %q does not name the call", callapi.ErrorMessage(err))
			}
			// Nothing half done: no bridge left, the transferer lives.
			var bridges []json.RawMessage
			if h.simGet(t, "/bridges", &bridges); len(bridges) != 0 {
				t.Errorf("%d bridges left on the PBX", len(bridges))
			}
			if _, err := p.Call(ctx, "acme", b); err != nil {
				t.Errorf("transferer: %v", err)
			}
		})
	}
	// The conflicted transfer announced its bridge and its end.
	time.Sleep(50 * time.Millisecond)
	if l, _ := p.Bridges(ctx, "acme"); len(l) != 0 {
		t.Errorf("bridges remembered: %v", l)
	}
	for _, e := range h.sink.of(b) {
		if e.Type == callapi.EvCallHangup {
			t.Errorf("transferer hung up by a failed transfer")
		}
	}
	// A bridge id in use is a conflict, and the existing bridge is untouched.
	br := callapi.BridgeID(newID())
	if _, err := p.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Transfer(ctx, "acme", callapi.TransferArgs{Transferee: a, Target: b, Transferer: c, BridgeID: br})
	wantCode(t, "bridge id in use", err, callapi.CodeConflict)
	if _, err := p.Bridge(ctx, "acme", br); err != nil {
		t.Errorf("existing bridge: %v", err)
	}
}

func TestDTMFReceived(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	if _, err := h.pbx.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/dtmf@callgw-test"}); err != nil {
		t.Fatal(err)
	}
	var digits []string
	for deadline := time.Now().Add(5 * time.Second); len(digits) < 4 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		digits = digits[:0]
		for _, e := range h.sink.of(id) {
			if e.Type == callapi.EvCallDTMF {
				var d callapi.DTMFData
				_ = json.Unmarshal(e.Data, &d)
				digits = append(digits, d.Digit)
			}
		}
	}
	if strings.Join(digits, "") != "123#" {
		t.Errorf("digits %v", digits)
	}
}

// TestNormalizeHoldAndRecordingNames feeds ARI events: the party's own
// hold is announced once (source remote), and recording names lose their
// tenant prefix.
func TestNormalizeHoldAndRecordingNames(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	c := outbound(tr, "c1", "")
	c.tenant = "acme"
	ch := `"channel":{"id":"c1","name":"PJSIP/a-1","state":"Up"}`
	evs := feed(t, tr, []string{
		`{"type":"StasisStart","timestamp":"2026-11-25T14:16:14.626+0000",` + ch + `,"args":[]}`,
		`{"type":"ChannelHold","timestamp":"2026-11-25T14:16:14.700+0000",` + ch + `}`,
		`{"type":"ChannelHold","timestamp":"2026-11-25T14:16:14.701+0000",` + ch + `}`,
		`{"type":"ChannelUnhold","timestamp":"2026-11-25T14:16:14.800+0000",` + ch + `}`,
		`{"type":"RecordingFailed","timestamp":"2026-11-25T14:16:14.900+0000","recording":{"name":"acme.r1","format":"wav","state":"failed","cause":"disk full","target_uri":"channel:c1"}}`,
		`{"type":"PlaybackStarted","timestamp":"2026-11-25T14:16:15.000+0000","playback":{"id":"p1","media_uri":"recording:acme.r1","state":"playing","target_uri":"channel:c1"}}`,
	}, nil)
	got := types(evs, "c1")
	want := []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHold, callapi.EvCallUnhold, callapi.EvCallRecordingFailed, callapi.EvCallPlaybackStarted}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	var hd callapi.HoldData
	_ = json.Unmarshal(evs[2].Data, &hd)
	if hd.Source != callapi.HoldByRemote {
		t.Errorf("hold data %s", evs[2].Data)
	}
	var rd callapi.RecordingData
	_ = json.Unmarshal(evs[4].Data, &rd)
	if rd.Name != "r1" || rd.Cause != "disk full" || rd.State != "failed" {
		t.Errorf("recording.failed data %s", evs[4].Data)
	}
	var pd callapi.PlaybackData
	_ = json.Unmarshal(evs[5].Data, &pd)
	if pd.Media != "recording:r1" {
		t.Errorf("playback data %s", evs[5].Data)
	}
	checkSeq(t, evs)
}

// TestNormalizeBridgeTenant: events of a bridge created through callgw carry
// its tenant; bridge.destroyed is published once.
func TestNormalizeBridgeTenant(t *testing.T) {
	tr := newCallTable("pbx1", "default")
	tr.bridges.add(&bridgeRec{id: "b1", tenant: "acme", typ: "mixing", name: "n"})
	raw := `{"type":"BridgeDestroyed","timestamp":"2026-11-25T14:16:14.626+0000","bridge":{"id":"b1","bridge_type":"mixing","name":"n"}}`
	evs := feed(t, tr, []string{raw, raw}, nil)
	if len(evs) != 1 || evs[0].Tenant != "acme" || evs[0].Type != callapi.EvBridgeDestroyed || evs[0].Seq != 0 {
		t.Fatalf("events %+v", evs)
	}
	if evs := tr.bridges.handleGone("b1"); len(evs) != 0 {
		t.Errorf("second destroyed: %v", evs)
	}
	other := `{"type":"BridgeCreated","timestamp":"2026-11-25T14:16:14.626+0000","bridge":{"id":"b2","bridge_type":"mixing"}}`
	if evs := feed(t, tr, []string{other}, nil); len(evs) != 1 || evs[0].Tenant != "default" {
		t.Errorf("foreign bridge %+v", evs)
	}
}

// TestBridgeGoneAfterAsteriskRestart: a bridge lost with Asterisk is
// announced destroyed (with its tenant) by the re-read after reconnect.
func TestBridgeGoneAfterAsteriskRestart(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t, 10*time.Second)
	br := callapi.BridgeID(newID())
	if _, err := h.pbx.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{}); err != nil {
		t.Fatal(err)
	}
	h.srv.Restart()
	if e := h.sink.waitBridge(t, br, callapi.EvBridgeDestroyed); e.Tenant != "acme" {
		t.Errorf("bridge.destroyed %+v", e)
	}
	if l, err := h.pbx.Bridges(ctx, "acme"); err != nil || len(l) != 0 {
		t.Errorf("Bridges = %v, %v", l, err)
	}
}

// TestTransferRollback: when joining the calls or hanging up the
// transferer fails, the new bridge is destroyed and the transferee is put
// back into the bridge it was in; the transferer lives on.
func TestTransferRollback(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		code               callapi.Code
	}{
		{"join fails", http.MethodPost, "/bridges/NEW/addChannel", callapi.CodePBXError},
		{"hangup fails", http.MethodDelete, "/channels/B", callapi.CodePBXError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.pbx
			ctx := ctxT(t, 10*time.Second)
			a, b, c := h.answered(t, "acme"), h.answered(t, "acme"), h.answered(t, "acme")
			old := callapi.BridgeID(newID())
			if _, err := p.CreateBridge(ctx, "acme", old, callapi.BridgeCreateArgs{}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []callapi.CallID{a, b} {
				if err := p.AddToBridge(ctx, "acme", old, id); err != nil {
					t.Fatal(err)
				}
				h.sink.waitFor(t, id, callapi.EvCallBridged)
			}
			br := callapi.BridgeID(newID())
			path := strings.NewReplacer("NEW", string(br), "B", string(b)).Replace(tc.path)
			h.srv.FailRequests(tc.method, path, http.StatusInternalServerError, 1)
			_, err := p.Transfer(ctx, "acme", callapi.TransferArgs{Transferee: a, Target: c, Transferer: b, BridgeID: br})
			wantCode(t, "transfer", err, tc.code)
			h.sink.waitBridge(t, br, callapi.EvBridgeDestroyed)
			if st := h.simGet(t, "/bridges/"+string(br), nil); st != http.StatusNotFound {
				t.Errorf("new bridge still on the PBX: %d", st)
			}
			var ob ariBridge
			h.simGet(t, "/bridges/"+string(old), &ob)
			if !slices.Contains(ob.Channels, string(a)) || !slices.Contains(ob.Channels, string(b)) {
				t.Errorf("old bridge after rollback: %v", ob.Channels)
			}
			if _, err := p.Call(ctx, "acme", b); err != nil {
				t.Errorf("transferer: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			for _, e := range h.sink.of(b) {
				if e.Type == callapi.EvCallHangup {
					t.Error("transferer hung up")
				}
			}
		})
	}
}

func TestCtlErr(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		code   callapi.Code
		want   string
	}{
		{409, "Channel not in Stasis application", callapi.CodeConflict, notInStasis},
		{409, "Recording 'x' already in progress", callapi.CodeConflict, "Recording 'x' already in progress"},
		{412, "Channel in invalid state", callapi.CodeConflict, "not in a state"},
		{404, "Channel not found", callapi.CodeNotFound, "not found"},
		{422, "Endpoint is not the same type", callapi.CodeInvalidArgument, "Endpoint is not the same type"},
		{500, "boom", callapi.CodePBXError, "500"},
	} {
		err := ctlErr("op", &ariError{Method: "POST", Path: "/x", Status: tc.status, Message: tc.msg}, "call c1", notInStasis)
		if callapi.ErrorCode(err) != tc.code || !strings.Contains(callapi.ErrorMessage(err), tc.want) {
			t.Errorf("%d %s: %v (%s)", tc.status, tc.msg, err, callapi.ErrorCode(err))
		}
	}
}

// TestBridgeAdoptedAfterWorkerRestart: a restarted worker takes over the
// bridges created through callgw, with their tenant.
func TestBridgeAdoptedAfterWorkerRestart(t *testing.T) {
	_, ts := newSim(t)
	p1, _, stop1 := startPBX(t, ts, nil)
	ctx := ctxT(t, 10*time.Second)
	br := callapi.BridgeID(newID())
	if _, err := p1.CreateBridge(ctx, "acme", br, callapi.BridgeCreateArgs{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	stop1()
	p2, sink2, _ := startPBX(t, ts, nil)
	got, err := p2.Bridge(ctx, "acme", br)
	if err != nil || got.Tenant != "acme" || got.Name != "kept" {
		t.Fatalf("adopted bridge = %+v, %v", got, err)
	}
	_, err = p2.Bridge(ctx, "other", br)
	wantCode(t, "other tenant", err, callapi.CodeNotFound)
	if err := p2.DestroyBridge(ctx, "acme", br); err != nil {
		t.Fatal(err)
	}
	if e := sink2.waitBridge(t, br, callapi.EvBridgeDestroyed); e.Tenant != "acme" {
		t.Errorf("bridge.destroyed %+v", e)
	}
}

// TestARIRequests checks what goes over the wire where ari/v5 gets it
// wrong or Asterisk's defaults matter: DTMF timing is always sent (ari/v5
// sends zero for unset options), media lists go as a JSON array, every
// recording option is spelled out, bridges are created with POST /bridges
// (409 on an id in use, not createWithId's silent update).
func TestARIRequests(t *testing.T) {
	srv := arisim.New(arisim.Config{User: "u", Password: "p", DialplanStep: 20 * time.Millisecond})
	var mu sync.Mutex
	seen := map[string]string{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			key := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			if strings.HasPrefix(r.URL.Path, "/ari/bridges") && strings.Count(r.URL.Path, "/") == 2 {
				key = "bridges"
			}
			mu.Lock()
			seen[key] = r.URL.RawQuery + " " + string(body)
			mu.Unlock()
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); ts.Close() })
	p, sink, _ := startPBX(t, ts, nil)
	h := &harness{srv: srv, ts: ts, url: ts.URL + "/ari", pbx: p, sink: sink}
	ctx := ctxT(t, 10*time.Second)
	id := h.answered(t, "acme")
	if err := p.SendDTMF(ctx, "acme", id, callapi.DTMFArgs{Digits: "1#"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"sound:a", "recording:r"}, PlaybackID: "pbq"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Record(ctx, "acme", id, callapi.RecordArgs{Name: "r2", MaxDurationSeconds: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateBridge(ctx, "acme", "brq", callapi.BridgeCreateArgs{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for key, want := range map[string][]string{
		"dtmf":    {"between=100", "duration=100", "dtmf=1%23"},
		"pbq":     {`{"media":["sound:a","recording:acme.r"]}`},
		"record":  {"name=acme.r2", "format=wav", "ifExists=fail", "terminateOn=none", "beep=false", "maxDurationSeconds=9"},
		"bridges": {"bridgeId=brq", "type=mixing"},
	} {
		for _, w := range want {
			if !strings.Contains(seen[key], w) {
				t.Errorf("%s request %q lacks %q", key, seen[key], w)
			}
		}
	}
}
