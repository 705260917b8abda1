package asterisk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/callapi"
)

// feed runs the raw events of a recorded scenario through a call table and
// returns the CallAPI events, as the dispatcher would (inbound StasisStart
// of an unknown channel adopted with m).
func feed(t *testing.T, tr *callTable, raws []string, m *meta) []*callapi.Event {
	t.Helper()
	var out []*callapi.Event
	for _, r := range raws {
		ev, err := decodeEvent([]byte(r))
		if err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
		var adopt *meta
		if ev.Type == "StasisStart" && ev.Channel != nil && !tr.known(callapi.CallID(ev.Channel.ID)) {
			adopt = m
		}
		out = append(out, tr.handleEvent(ev, []byte(r), adopt)...)
	}
	return out
}

func outbound(tr *callTable, id string, ourReason string) *call {
	c := &call{
		id: callapi.CallID(id), tenant: "acme", tags: []string{"sales-42"}, dir: callapi.Outbound,
		to: "Local/x@callgw-test", state: callapi.StateDown, createdAt: time.Now(), ourReason: ourReason,
	}
	if !tr.register(c) {
		panic("duplicate " + id)
	}
	return c
}

func types(evs []*callapi.Event, id string) []callapi.EventType {
	var out []callapi.EventType
	for _, e := range evs {
		if id == "" || string(e.CallID) == id {
			out = append(out, e.Type)
		}
	}
	return out
}

func hangupOf(t *testing.T, evs []*callapi.Event, id string) callapi.HangupData {
	t.Helper()
	var h callapi.HangupData
	n := 0
	for _, e := range evs {
		if e.Type == callapi.EvCallHangup && string(e.CallID) == id {
			n++
			if err := json.Unmarshal(e.Data, &h); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d call.hangup events for %s, want exactly 1", n, id)
	}
	return h
}

func TestNormalizeRecordings(t *testing.T) {
	for _, tc := range []struct {
		scenario  string
		calls     []string // originated by callgw
		ourReason string   // reason of a Hangup by callgw, "" if none
		inbound   *meta
		id        string // the call checked
		want      []callapi.EventType
		hangup    callapi.HangupData
	}{
		{
			scenario: "answer-lifecycle", calls: []string{"probe-A"}, ourReason: "normal", id: "probe-A",
			want: []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered,
				callapi.EvCallPlaybackStarted, callapi.EvCallPlaybackFinished,
				callapi.EvCallRecordingStarted, callapi.EvCallRecordingFinished, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 16, CauseText: "Normal Clearing", DialStatus: "ANSWER"}, Reason: ReasonAPI},
		},
		{
			scenario: "busy", calls: []string{"probe-Busy"}, id: "probe-Busy",
			want:   []callapi.EventType{callapi.EvCallCreated, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 17, CauseText: "User busy", DialStatus: "BUSY"}, Reason: ReasonRemote},
		},
		{
			scenario: "ring-timeout", calls: []string{"probe-Ring"}, id: "probe-Ring",
			want:   []callapi.EventType{callapi.EvCallCreated, callapi.EvCallRinging, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 19, CauseText: "User alerting, no answer", DialStatus: "NOANSWER"}, Reason: ReasonRemote},
		},
		{
			scenario: "dtmf-in", calls: []string{"probe-D"}, ourReason: "normal", id: "probe-D",
			want: []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered,
				callapi.EvCallDTMF, callapi.EvCallDTMF, callapi.EvCallDTMF, callapi.EvCallDTMF, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 16, CauseText: "Normal Clearing", DialStatus: "ANSWER"}, Reason: ReasonAPI},
		},
		{
			scenario: "bridge", calls: []string{"probe-BA", "probe-BB"}, ourReason: "busy", id: "probe-BA",
			want: []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered,
				callapi.EvCallBridged, callapi.EvCallUnbridged, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 17, CauseText: "User busy", DialStatus: "ANSWER"}, Reason: ReasonAPI},
		},
		{
			scenario: "inbound-sip", inbound: &meta{tenant: "acme", dir: callapi.Inbound}, id: "1795615917.89",
			want:   []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup},
			hangup: callapi.HangupData{Hangup: callapi.Hangup{Cause: 16, CauseText: "Normal Clearing"}, Reason: ReasonLeftStasis},
		},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			tr := newCallTable("pbx1", "acme")
			for _, id := range tc.calls {
				outbound(tr, id, tc.ourReason)
			}
			raws := recorded[tc.scenario]
			if len(raws) == 0 {
				t.Fatalf("no recording %s", tc.scenario)
			}
			evs := feed(t, tr, raws, tc.inbound)
			if got := types(evs, tc.id); !slices.Equal(got, tc.want) {
				t.Fatalf("events of %s:\n got %v\nwant %v", tc.id, got, tc.want)
			}
			if h := hangupOf(t, evs, tc.id); h != tc.hangup {
				t.Errorf("hangup = %+v, want %+v", h, tc.hangup)
			}
			checkEnvelope(t, evs, raws)
			if n := tr.count(); n != 0 {
				t.Errorf("%d calls still tracked after the scenario", n)
			}
			// Replaying the scenario must not resurrect the ended calls.
			if again := feed(t, tr, raws, nil); len(again) != 0 {
				t.Errorf("replay produced %v", types(again, ""))
			}
		})
	}
}

// checkEnvelope asserts the per-event fields: seq strictly increasing per
// call from 1, node, tenant, tags, unique UUIDs, raw ARI kept.
func checkEnvelope(t *testing.T, evs []*callapi.Event, raws []string) {
	t.Helper()
	seq := map[callapi.CallID]uint64{}
	ids := map[string]bool{}
	for _, e := range evs {
		if e.Seq != seq[e.CallID]+1 {
			t.Errorf("%s %s seq %d after %d", e.CallID, e.Type, e.Seq, seq[e.CallID])
		}
		seq[e.CallID] = e.Seq
		if e.Node != "pbx1" || e.Tenant != "acme" {
			t.Errorf("%s: node %q tenant %q", e.Type, e.Node, e.Tenant)
		}
		if _, err := uuid.Parse(e.ID); err != nil || ids[e.ID] {
			t.Errorf("%s: bad or repeated id %q", e.Type, e.ID)
		}
		ids[e.ID] = true
		// The raw event, but channel names without Asterisk's global
		// channel counter: tenants must not learn others' call volume.
		if !slices.ContainsFunc(raws, func(r string) bool { return string(publicARI([]byte(r))) == string(e.ARI) }) {
			t.Errorf("%s: ari is not one of the raw events", e.Type)
		}
		if m := channelCounterInJSON.Find(append(e.ARI, e.Data...)); m != nil {
			t.Errorf("%s: the event shows the channel counter: %s", e.Type, m)
		}
		if e.Time.IsZero() {
			t.Errorf("%s: zero time", e.Type)
		}
		if e.Type == callapi.EvCallCreated {
			var d callapi.CreatedData
			if err := json.Unmarshal(e.Data, &d); err != nil || d.ID != e.CallID {
				t.Errorf("created data %s: %v", e.Data, err)
			}
		}
	}
}

// channelCounterInJSON finds a channel name with its counter in JSON.
var channelCounterInJSON = regexp.MustCompile(`"[A-Za-z0-9_]+/[^"]*-[0-9a-f]{8}(;[12])?"`)

func TestNormalizeInboundCreated(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	evs := feed(t, tr, recorded["inbound-sip"][:1], &meta{tenant: "acme", dir: callapi.Inbound})
	if len(evs) != 1 || evs[0].Type != callapi.EvCallCreated {
		t.Fatalf("got %v", types(evs, ""))
	}
	var d callapi.CreatedData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Direction != callapi.Inbound || d.From != "sipp" || d.To != "5551000" || !slices.Equal(d.Args, []string{"5551000"}) ||
		d.Channel != "PJSIP/sipp" || d.State != callapi.StateRinging {
		t.Errorf("created data = %+v", d)
	}
}

func TestNormalizeDTMFAndTags(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	outbound(tr, "probe-D", "")
	evs := feed(t, tr, recorded["dtmf-in"], nil)
	var digits string
	for _, e := range evs {
		if e.Type == callapi.EvCallDTMF {
			var d callapi.DTMFData
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			digits += d.Digit
			if d.DurationMS <= 0 {
				t.Errorf("duration %d", d.DurationMS)
			}
		}
		if !slices.Equal(e.Tags, []string{"sales-42"}) {
			t.Errorf("%s tags %v", e.Type, e.Tags)
		}
	}
	if digits != "123#" {
		t.Errorf("digits %q", digits)
	}
	// No Hangup by callgw: StasisEnd after a soft request (flags 32, not a
	// cause) ends the call as left_stasis with Normal Clearing.
	if h := hangupOf(t, evs, "probe-D"); h.Cause != 16 || h.Reason != ReasonLeftStasis {
		t.Errorf("hangup %+v", h)
	}
}

func TestNormalizeHardHangupCause(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	outbound(tr, "c1", "")
	ch := `"channel":{"id":"c1","name":"PJSIP/a-1","state":"Up"}`
	evs := feed(t, tr, []string{
		`{"type":"StasisStart","timestamp":"2026-11-25T14:16:14.626+0000","args":[],` + ch + `}`,
		`{"type":"ChannelHangupRequest","timestamp":"2026-11-25T14:16:15.000+0000","cause":21,` + ch + `}`,
		`{"type":"StasisEnd","timestamp":"2026-11-25T14:16:15.001+0000",` + ch + `}`,
		`{"type":"ChannelDestroyed","timestamp":"2026-11-25T14:16:15.002+0000","cause":21,"cause_txt":"Call Rejected",` + ch + `}`,
	}, nil)
	if got := types(evs, ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}) {
		t.Fatalf("got %v", got)
	}
	if h := hangupOf(t, evs, "c1"); h.Cause != 21 || h.CauseText != "Call Rejected" || h.Reason != ReasonRemote {
		t.Errorf("hangup %+v", h)
	}
}

func TestNormalizeDialStatusCauses(t *testing.T) {
	for _, tc := range []struct {
		status string
		cause  int
		text   string
	}{
		{"BUSY", 17, "User busy"},
		{"CONGESTION", 34, "Circuit/channel congestion"},
		{"NOANSWER", 19, "User alerting, no answer"},
		{"CHANUNAVAIL", 20, "Subscriber absent"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			tr := newCallTable("pbx1", "acme")
			outbound(tr, "x", "")
			evs := feed(t, tr, []string{
				`{"type":"Dial","dialstatus":"","peer":{"id":"x","name":"Local/a@b-1;1","state":"Down"}}`,
				`{"type":"Dial","dialstatus":"` + tc.status + `","peer":{"id":"x","name":"Local/a@b-1;1","state":"Down"}}`,
				`{"type":"ChannelDestroyed","cause":0,"cause_txt":"Unknown","channel":{"id":"x","name":"Local/a@b-1;1","state":"Down"}}`,
			}, nil)
			h := hangupOf(t, evs, "x")
			if h.Cause != tc.cause || h.CauseText != tc.text || h.DialStatus != tc.status {
				t.Errorf("hangup %+v", h)
			}
		})
	}
}

func TestReconcileSeenAndGone(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	c := outbound(tr, "a", "")
	outbound(tr, "b", "")
	// a was never seen on the socket: the re-read announces it, answered.
	evs := tr.handleSeen(&ariChannel{ID: "a", Name: "PJSIP/a-1", State: "Up"}, nil)
	if got := types(evs, ""); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered}) {
		t.Fatalf("seen: %v", got)
	}
	if again := tr.handleSeen(&ariChannel{ID: "a", State: "Up"}, nil); len(again) != 0 {
		t.Errorf("second re-read published %v", types(again, ""))
	}
	if s := tr.snapshot(c); s.State != callapi.StateUp || s.AnsweredAt == nil {
		t.Errorf("snapshot %+v", s)
	}
	// b is missing: it was never announced, so it is forgotten silently.
	if evs := tr.handleGone("b"); len(evs) != 0 {
		t.Errorf("gone unannounced: %v", types(evs, ""))
	}
	evs = tr.handleGone("a")
	if h := hangupOf(t, evs, "a"); h.Reason != ReasonLost {
		t.Errorf("hangup %+v", h)
	}
	if tr.count() != 0 {
		t.Error("calls left")
	}
	// An ended call is not adopted again by a stale re-read.
	if evs := tr.handleSeen(&ariChannel{ID: "a", State: "Up", Dialplan: ariDialplan{AppName: "Stasis", AppData: "callgw"}}, &meta{tenant: "acme"}); len(evs) != 0 {
		t.Errorf("resurrected: %v", types(evs, ""))
	}
}

func TestReconcileAdopt(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	ch := &ariChannel{ID: "sim-1.1", Name: "PJSIP/x-1", State: "Up", Caller: ariCaller{Number: "100"},
		Dialplan: ariDialplan{Exten: "200", AppName: "Stasis", AppData: "callgw,a,b"}}
	evs := tr.handleSeen(ch, &meta{tenant: "acme", dir: callapi.Outbound, tags: []string{"t"}})
	if len(evs) != 1 || evs[0].Type != callapi.EvCallCreated || evs[0].Seq < 1<<40 || evs[0].Seq > 1<<53 {
		t.Fatalf("adopt: %v seq %d", types(evs, ""), evs[0].Seq)
	}
	var d callapi.CreatedData
	_ = json.Unmarshal(evs[0].Data, &d)
	if !d.Adopted || d.Direction != callapi.Outbound || !slices.Equal(d.Args, []string{"a", "b"}) || d.AnsweredAt == nil {
		t.Errorf("created %+v", d)
	}
	if got := tr.list("acme"); len(got) != 1 || got[0].ID != "sim-1.1" {
		t.Errorf("list %v", got)
	}
	if got := tr.list("other"); len(got) != 0 {
		t.Errorf("other tenant sees %v", got)
	}
}

func TestBridgeEvents(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	evs := feed(t, tr, []string{
		`{"type":"BridgeCreated","timestamp":"2026-11-25T14:16:20.538+0000","bridge":{"id":"br1","bridge_type":"mixing","name":"conf"}}`,
		`{"type":"BridgeDestroyed","timestamp":"2026-11-25T14:16:21.538+0000","bridge":{"id":"br1","bridge_type":"mixing","name":"conf"}}`,
	}, nil)
	if got := types(evs, ""); !slices.Equal(got, []callapi.EventType{callapi.EvBridgeCreated, callapi.EvBridgeDestroyed}) {
		t.Fatalf("got %v", got)
	}
	if evs[0].BridgeID != "br1" || evs[0].SubjectID() != "br1" || evs[0].Tenant != "acme" || evs[0].Seq != 0 {
		t.Errorf("bridge id %q", evs[0].BridgeID)
	}
}

func TestMapErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want callapi.Code
	}{
		{&ariError{Status: http.StatusNotFound}, callapi.CodeNotFound},
		{&ariError{Status: http.StatusBadRequest}, callapi.CodeInvalidArgument},
		{&ariError{Status: http.StatusUnprocessableEntity}, callapi.CodeInvalidArgument},
		{&ariError{Status: http.StatusConflict}, callapi.CodeConflict},
		{&ariError{Status: http.StatusInternalServerError}, callapi.CodePBXError},
		{&ariError{Status: http.StatusServiceUnavailable}, callapi.CodePBXError},
		{fmt.Errorf("ari GET /x: %w", context.DeadlineExceeded), callapi.CodeTimeout},
		{errors.New("connection refused"), callapi.CodePBXError},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			err := mapErr("op", fmt.Errorf("wrapped: %w", tc.err), "call x", notInStasis)
			if got := callapi.ErrorCode(err); got != tc.want {
				t.Errorf("code %s, want %s", got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Error("cause not kept")
			}
		})
	}
}

func TestCauseText(t *testing.T) {
	if CauseText(17) != "User busy" || CauseText(999) != "Unknown" {
		t.Error("cause text")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, raws := range recorded {
		for _, r := range raws {
			f.Add([]byte(r))
		}
	}
	f.Add([]byte(`{"type":"Dial"}`))
	f.Add([]byte(`{"type":"PlaybackStarted","playback":{"target_uri":"bridge:"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeEvent(raw)
		if err != nil {
			return
		}
		if ev.Type == "" {
			t.Fatal("decoded an event without a type")
		}
		ev.subject()
		tr := newCallTable("pbx1", "acme")
		if ch, _ := ev.subject(); ch != "" {
			outbound(tr, ch, "")
		}
		var last uint64
		for _, e := range tr.handleEvent(ev, raw, &meta{tenant: "acme"}) {
			if e.Seq != 0 && e.Seq <= last {
				t.Fatalf("seq %d after %d", e.Seq, last)
			}
			last = e.Seq
		}
	})
}

func TestPeekType(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string
		ok   bool
	}{
		{`{"type":"ChannelVarset","timestamp":"x"}`, "ChannelVarset", true},
		{` { "type" : "Dial" ,"x":1}`, "Dial", true},
		{`{"timestamp":"x","type":"Dial"}`, "", false}, // not first: decode it all
		{`{"type":"Ch\u0061nnel"}`, "", false},
		{`{"type":""}`, "", false},
		{`{"type":"Dial`, "", false},
		{`[]`, "", false},
		{``, "", false},
	} {
		got, ok := peekType([]byte(tc.raw))
		if got != tc.want || ok != tc.ok {
			t.Errorf("peekType(%s) = %q %v, want %q %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzPeekType(f *testing.F) {
	f.Add([]byte(`{"type":"ChannelVarset","timestamp":"x"}`))
	f.Add([]byte(`{"type":"StasisStart","channel":{"id":"a"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		typ, ok := peekType(raw)
		if !ok {
			return
		}
		// Whatever peekType reads, a full decode of a valid message agrees.
		if ev, err := decodeEvent(raw); err == nil && ev.Type != typ {
			t.Fatalf("peekType %q, decodeEvent %q", typ, ev.Type)
		}
	})
}

func TestARIRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/channels/4f7c-1/play":             "/channels/{id}/play",
		"/channels":                         "/channels",
		"/channels/create":                  "/channels/create",
		"/bridges/b1/addChannel":            "/bridges/{id}/addChannel",
		"/recordings/stored/kept":           "/recordings/stored/{id}",
		"/recordings/live/r1/stop":          "/recordings/live/{id}/stop",
		"/asterisk/info":                    "/asterisk/info",
		"/playbacks/p1":                     "/playbacks/{id}",
		"/endpoints/PJSIP/alice":            "/endpoints/PJSIP/{id}",
		"/applications/callgw/subscription": "/applications/{id}/subscription",
	} {
		if got := ariRoute(path); got != want {
			t.Errorf("ariRoute(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestAnsweredOnlyInStasis: Asterisk reports an originated call's answer
// (ChannelStateChange Up, Dial ANSWER) before its StasisStart, and ARI
// refuses control (409 "not in Stasis") until then. A call originated into
// the app is answered for the CallAPI (call.answered, wait=answered) at its
// StasisStart, so that a command sent on the answer finds it in Stasis
// (issue 15: TestOpRecord on Asterisk 22.10.1 got that 409).
func TestAnsweredOnlyInStasis(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	c := outbound(tr, "probe-A", "normal")
	c.toStasis = true
	c.done = make(chan struct{})
	answeredOn := ""
	for _, r := range recorded["answer-lifecycle"] {
		ev, err := decodeEvent([]byte(r))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.done:
			if answeredOn == "" {
				t.Fatalf("wait=answered released before %s", ev.Type)
			}
		default:
		}
		for _, e := range tr.handleEvent(ev, []byte(r), nil) {
			if e.Type == callapi.EvCallAnswered && string(e.CallID) == "probe-A" {
				answeredOn = ev.Type
			}
		}
	}
	if answeredOn != "StasisStart" {
		t.Fatalf("call.answered on %q, want on StasisStart", answeredOn)
	}
}

// TestNormalizeFarEndBYE: an inbound SIP call whose far end sends BYE. On
// Asterisk 22.10.1 (sipp, 2026-12-03) the app gets the RTPAUDIOQOS
// variables, a hang-up request with neither cause nor soft, and StasisEnd
// (no ChannelDestroyed: the channel came from the dialplan). The call ends
// as hung up by the far end, not as having left Stasis.
func TestNormalizeFarEndBYE(t *testing.T) {
	tr := newCallTable("pbx1", "acme")
	ch := `{"id":"pbx1-1796288126.4751","name":"PJSIP/sipp-00000013","state":"%s","protocol_id":"1-1@127.0.0.1","caller":{"name":"alice","number":"alice"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"callgw-in","exten":"5550001","priority":2,"app_name":"Stasis","app_data":"callgw,5550001"},"creationtime":"2026-12-03T08:55:26.100+0000","language":"en"}`
	raws := []string{
		`{"type":"StasisStart","timestamp":"2026-12-03T08:55:26.101+0000","args":["5550001"],"channel":` + fmt.Sprintf(ch, "Ring") + `,"asterisk_id":"x","application":"callgw"}`,
		`{"type":"ChannelStateChange","timestamp":"2026-12-03T08:55:26.110+0000","channel":` + fmt.Sprintf(ch, "Up") + `,"asterisk_id":"x","application":"callgw"}`,
		`{"type":"ChannelHangupRequest","timestamp":"2026-12-03T08:55:27.610+0000","channel":` + fmt.Sprintf(ch, "Up") + `,"asterisk_id":"x","application":"callgw"}`,
		`{"type":"StasisEnd","timestamp":"2026-12-03T08:55:27.611+0000","channel":` + fmt.Sprintf(ch, "Up") + `,"asterisk_id":"x","application":"callgw"}`,
	}
	evs := feed(t, tr, raws, &meta{tenant: "acme", dir: callapi.Inbound})
	if got := types(evs, "pbx1-1796288126.4751"); !slices.Equal(got, []callapi.EventType{callapi.EvCallCreated, callapi.EvCallAnswered, callapi.EvCallHangup}) {
		t.Fatalf("events %v", got)
	}
	if h := hangupOf(t, evs, "pbx1-1796288126.4751"); h.Cause != 16 || h.Reason != ReasonRemote {
		t.Errorf("hangup %+v, want cause 16 by the far end", h)
	}
}
