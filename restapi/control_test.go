package restapi

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// argsJSON is how a test compares the arguments a handler passed to the
// service: their JSON, as the command would carry them ("null" for none).
func argsJSON(t *testing.T, args any) string {
	t.Helper()
	if args != nil && reflect.ValueOf(args).Kind() != reflect.Pointer {
		t.Errorf("args %T passed by value: the service runs Validate only on pointers", args)
	}
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkProblem checks a problem answer: status, content type, field, and
// the members every problem has.
func checkProblem(t *testing.T, code int, body []byte, ct, path, wantField string) {
	t.Helper()
	if ct != ProblemContentType {
		t.Errorf("Content-Type %q", ct)
	}
	p := decodeProblem(t, body)
	if p.Status != code || p.Field != wantField || p.Detail == "" || p.Instance != path ||
		p.Type != ProblemTypePrefix+string(p.Code) || p.Title == "" {
		t.Errorf("problem = %+v, want field %q", p, wantField)
	}
}

func TestCallActions(t *testing.T) {
	conflict := callapi.Errorf(callapi.CodeConflict, "call is not under callgw's control (its channel is not in the Stasis application)")
	for _, tc := range []struct {
		name       string
		method     string
		path       string // after /v1/calls/c1
		body       string
		hdr        []string
		acc        *callapi.Accepted
		err        error
		wantAction callapi.Action
		wantArgs   string // JSON of the args passed; "" = service not called
		wantCode   int
		wantField  string
		check      func(t *testing.T, o gateway.Options, dl time.Duration)
	}{
		{name: "answer", path: "/answer", wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 204},
		{name: "answer with {}", path: "/answer", body: `{}`, wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 204},
		{name: "answer with a field", path: "/answer", body: `{"now":true}`, wantCode: 400, wantField: "now"},
		{name: "answer with an array", path: "/answer", body: `[]`, wantCode: 400, wantField: "body"},
		{name: "ring", path: "/ring", wantAction: callapi.ActCallRing, wantArgs: `{}`, wantCode: 204},
		{name: "ring on", path: "/ring", body: `{"on":true}`, wantAction: callapi.ActCallRing, wantArgs: `{"on":true}`, wantCode: 204},
		{name: "ring off", path: "/ring", body: `{"on":false}`, wantAction: callapi.ActCallRing, wantArgs: `{"on":false}`, wantCode: 204},
		{name: "ring wrong type", path: "/ring", body: `{"on":"no"}`, wantCode: 400, wantField: "on"},
		{name: "ring stop", path: "/ring/stop", wantAction: callapi.ActCallRing, wantArgs: `{"on":false}`, wantCode: 204},
		{name: "ring stop with a body", path: "/ring/stop", body: `{"on":true}`, wantCode: 400, wantField: "on"},
		{name: "hold", path: "/hold", wantAction: callapi.ActCallHold, wantArgs: "null", wantCode: 204},
		{name: "unhold", path: "/unhold", wantAction: callapi.ActCallUnhold, wantArgs: "null", wantCode: 204},
		{name: "mute", path: "/mute", wantAction: callapi.ActCallMute, wantArgs: `{}`, wantCode: 204},
		{name: "mute in", path: "/mute", body: `{"direction":"in"}`, wantAction: callapi.ActCallMute, wantArgs: `{"direction":"in"}`, wantCode: 204},
		{name: "mute bad direction", path: "/mute", body: `{"direction":"up"}`, wantCode: 400, wantField: "direction"},
		{name: "unmute out", path: "/unmute", body: `{"direction":"out"}`, wantAction: callapi.ActCallUnmute, wantArgs: `{"direction":"out"}`, wantCode: 204},
		{name: "dtmf", path: "/dtmf", body: `{"digits":"12#,*","between_ms":200,"duration_ms":80}`, wantAction: callapi.ActCallDTMF,
			wantArgs: `{"digits":"12#,*","between_ms":200,"duration_ms":80}`, wantCode: 204},
		{name: "dtmf no body", path: "/dtmf", wantCode: 400, wantField: "digits"},
		{name: "dtmf no digits", path: "/dtmf", body: `{"between_ms":200}`, wantCode: 400, wantField: "digits"},
		{name: "dtmf bad digits", path: "/dtmf", body: `{"digits":"12x"}`, wantCode: 400, wantField: "digits"},
		{name: "dtmf between too long", path: "/dtmf", body: `{"digits":"1","between_ms":9000}`, wantCode: 400, wantField: "between_ms"},
		{name: "dtmf negative duration", path: "/dtmf", body: `{"digits":"1","duration_ms":-1}`, wantCode: 400, wantField: "duration_ms"},
		{name: "dtmf float", path: "/dtmf", body: `{"digits":"1","duration_ms":1.5}`, wantCode: 400, wantField: "duration_ms"},
		{name: "redirect", path: "/redirect", body: `{"endpoint":"PJSIP/sip:bob@pbx.example.com"}`, wantAction: callapi.ActCallRedirect, wantArgs: `{"endpoint":"PJSIP/sip:bob@pbx.example.com"}`, wantCode: 204},
		{name: "redirect pjsip to a bare name", path: "/redirect", body: `{"endpoint":"PJSIP/bob"}`, wantCode: 400, wantField: "endpoint"},
		{name: "redirect no endpoint", path: "/redirect", body: `{}`, wantCode: 400, wantField: "endpoint"},
		{name: "redirect bad endpoint", path: "/redirect", body: `{"endpoint":"bob"}`, wantCode: 400, wantField: "endpoint"},
		{name: "continue", path: "/continue", wantAction: callapi.ActCallContinue, wantArgs: `{}`, wantCode: 204},
		{name: "continue to", path: "/continue", body: `{"context":"from-internal","extension":"100","priority":2}`, wantAction: callapi.ActCallContinue,
			wantArgs: `{"context":"from-internal","extension":"100","priority":2}`, wantCode: 204},
		{name: "continue label", path: "/continue", body: `{"context":"ivr","extension":"s","label":"menu"}`, wantAction: callapi.ActCallContinue,
			wantArgs: `{"context":"ivr","extension":"s","label":"menu"}`, wantCode: 204},
		{name: "continue bad context", path: "/continue", body: `{"context":"a b"}`, wantCode: 400, wantField: "context"},
		{name: "continue bad extension", path: "/continue", body: `{"extension":"1&2"}`, wantCode: 400, wantField: "extension"},
		{name: "continue negative priority", path: "/continue", body: `{"priority":-1}`, wantCode: 400, wantField: "priority"},
		{name: "continue label and priority", path: "/continue", body: `{"priority":1,"label":"x"}`, wantCode: 400, wantField: "label"},
		{name: "moh", path: "/moh", wantAction: callapi.ActCallMOHStart, wantArgs: `{}`, wantCode: 204},
		{name: "moh class", path: "/moh", body: `{"class":"jazz"}`, wantAction: callapi.ActCallMOHStart, wantArgs: `{"class":"jazz"}`, wantCode: 204},
		{name: "moh bad class", path: "/moh", body: `{"class":"../etc"}`, wantCode: 400, wantField: "class"},
		{name: "moh stop", method: "DELETE", path: "/moh", wantAction: callapi.ActCallMOHStop, wantArgs: "null", wantCode: 204},

		{name: "async", path: "/hold", hdr: []string{"Prefer", "respond-async"}, acc: &callapi.Accepted{CommandID: "cmd-1", CallID: "c1", Node: "pbx1"},
			wantAction: callapi.ActCallHold, wantArgs: "null", wantCode: 202,
			check: func(t *testing.T, o gateway.Options, _ time.Duration) {
				if !o.Async {
					t.Error("Async not set")
				}
			}},
		{name: "idempotency key and timeout", path: "/dtmf?timeout=20s", body: `{"digits":"1"}`, hdr: []string{"Idempotency-Key", "k-1"},
			wantAction: callapi.ActCallDTMF, wantArgs: `{"digits":"1"}`, wantCode: 204,
			check: func(t *testing.T, o gateway.Options, dl time.Duration) {
				if o.IdempotencyKey != "k-1" || o.Async || o.Tenant != callapi.DefaultTenant {
					t.Errorf("options %+v", o)
				}
				if dl <= 19*time.Second || dl > 20*time.Second {
					t.Errorf("deadline in %s, want 20s", dl)
				}
			}},
		{name: "not in stasis", path: "/hold", err: conflict, wantAction: callapi.ActCallHold, wantArgs: "null", wantCode: 409},
		{name: "not found", path: "/answer", err: callapi.Errorf(callapi.CodeNotFound, "call c1 not found"), wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 404},
		{name: "node down", path: "/answer", err: callapi.Errorf(callapi.CodeNodeUnavailable, "node pbx1 is down"), wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 503},
		{name: "pbx error", path: "/answer", err: callapi.Errorf(callapi.CodePBXError, "asterisk answered 500"), wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 502},
		{name: "deadline", path: "/answer", err: context.DeadlineExceeded, wantAction: callapi.ActCallAnswer, wantArgs: "null", wantCode: 504},
		{name: "worker says invalid", path: "/redirect", body: `{"endpoint":"SIP/bob"}`, err: callapi.Invalid("endpoint", "asterisk rejected the request: not the same type"),
			wantAction: callapi.ActCallRedirect, wantArgs: `{"endpoint":"SIP/bob"}`, wantCode: 400, wantField: "endpoint"},
		{name: "unknown query", path: "/hold?force=1", wantCode: 400, wantField: "force"},
		{name: "bad timeout", path: "/hold?timeout=2m", wantCode: 400, wantField: "timeout"},
		{name: "wrong content type", path: "/mute", body: `{}`, hdr: []string{"Content-Type", "text/plain"}, wantCode: 415},
		{name: "too large", path: "/dtmf", body: `{"digits":"` + strings.Repeat("1", 70<<10) + `"}`, wantCode: 413},
		{name: "trailing data", path: "/mute", body: `{} {}`, wantCode: 400, wantField: "body"},
		{name: "GET not allowed", method: "GET", path: "/hold", wantCode: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			calls := &fakeCalls{t: t, CallActionFn: func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
				called = true
				dl, ok := ctx.Deadline()
				if !ok {
					t.Error("no deadline")
				}
				if id != "c1" || a != tc.wantAction || out != nil {
					t.Errorf("id %q action %s out %v", id, a, out)
				}
				if got := argsJSON(t, args); got != tc.wantArgs {
					t.Errorf("args %s, want %s", got, tc.wantArgs)
				}
				if tc.check != nil {
					tc.check(t, o, time.Until(dl))
				}
				return tc.acc, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			method := tc.method
			if method == "" {
				method = "POST"
			}
			rec := do(t, s.Handler(), method, "/v1/calls/c1"+tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantArgs != "") {
				t.Errorf("service called = %v", called)
			}
			switch rec.Code {
			case 204:
				if rec.Body.Len() != 0 {
					t.Errorf("204 with body %q", rec.Body)
				}
			case 202:
				var got callapi.Accepted
				want := *tc.acc
				want.Created = "" // not in the body
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got != want {
					t.Errorf("accepted %s (%v)", rec.Body, err)
				}
				if rec.Header().Get("Preference-Applied") != "respond-async" {
					t.Error("no Preference-Applied")
				}
			default:
				path, _, _ := strings.Cut("/v1/calls/c1"+tc.path, "?")
				checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), path, tc.wantField)
			}
		})
	}
}

func TestCallActionBadID(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{calls: &fakeCalls{t: t}})
	for _, path := range []string{"/v1/calls/a%20b/hold", "/v1/calls/a%2Fb/answer", "/v1/calls/" + strings.Repeat("x", 129) + "/dtmf"} {
		rec := do(t, s.Handler(), "POST", path, "")
		if rec.Code != 400 {
			t.Errorf("%s: status %d", path, rec.Code)
			continue
		}
		if p := decodeProblem(t, rec.Body.Bytes()); p.Field != "id" {
			t.Errorf("%s: field %q", path, p.Field)
		}
	}
}

var (
	testPlayback  = &callapi.Playback{ID: "pb-1", Node: "pbx1", Media: "sound:hello-world", State: "queued", TargetID: "c1"}
	testRecording = &callapi.Recording{Name: "rec-1", Node: "pbx1", Format: "wav", State: "recording", TargetID: "c1"}
	testSnoop     = &callapi.Call{ID: "snoop-1", Node: "pbx1", Tenant: callapi.DefaultTenant, State: callapi.StateUp, Direction: callapi.Outbound}
)

// TestCallCreates covers the call actions that create something: play,
// record, snoop.
func TestCallCreates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		path      string
		body      string
		hdr       []string
		res       any // *callapi.Playback, *callapi.Recording or *callapi.Call returned
		acc       *callapi.Accepted
		err       error
		wantArgs  string
		wantCode  int
		wantLoc   string
		wantField string
	}{
		{name: "play", path: "/play", body: `{"media":["sound:hello-world","digits:12"],"lang":"en_US"}`, res: testPlayback,
			wantArgs: `{"media":["sound:hello-world","digits:12"],"playback_id":"*","lang":"en_US"}`, wantCode: 201, wantLoc: "/v1/playbacks/pb-1"},
		{name: "play async", path: "/play", body: `{"media":["tone:ring"]}`, hdr: []string{"Prefer", "respond-async", "Idempotency-Key", "k-play"},
			acc: &callapi.Accepted{CommandID: "cmd-2", CallID: "c1", Node: "pbx1", Created: "pb-k"}, wantArgs: `{"media":["tone:ring"],"playback_id":"*"}`, wantCode: 202,
			wantLoc: "/v1/playbacks/pb-k"},
		{name: "play no media", path: "/play", body: `{"lang":"en"}`, wantCode: 400, wantField: "media"},
		{name: "play empty media", path: "/play", body: `{"media":[]}`, wantCode: 400, wantField: "media"},
		{name: "play bad media", path: "/play", body: `{"media":["file:/etc/passwd"]}`, wantCode: 400, wantField: "media"},
		{name: "play bad lang", path: "/play", body: `{"media":["sound:x"],"lang":"english!"}`, wantCode: 400, wantField: "lang"},
		{name: "play playback_id is not the caller's", path: "/play", body: `{"media":["sound:x"],"playback_id":"mine"}`, wantCode: 400, wantField: "playback_id"},
		{name: "play media not an array", path: "/play", body: `{"media":"sound:x"}`, wantCode: 400, wantField: "media"},
		{name: "play not in stasis", path: "/play", body: `{"media":["sound:x"]}`, err: callapi.Errorf(callapi.CodeConflict, "not in stasis"),
			wantArgs: `{"media":["sound:x"],"playback_id":"*"}`, wantCode: 409},
		{name: "record", path: "/record", body: `{"name":"rec-1","format":"wav","max_duration_seconds":60,"max_silence_seconds":5,"beep":true,"if_exists":"overwrite","terminate_on":"#"}`,
			res: testRecording, wantCode: 201, wantLoc: "/v1/recordings/live/rec-1",
			wantArgs: `{"name":"rec-1","format":"wav","max_duration_seconds":60,"max_silence_seconds":5,"beep":true,"if_exists":"overwrite","terminate_on":"#"}`},
		{name: "record async", path: "/record", body: `{"name":"r"}`, hdr: []string{"Prefer", "respond-async"},
			acc: &callapi.Accepted{CommandID: "cmd-3"}, wantArgs: `{"name":"r"}`, wantCode: 202, wantLoc: "/v1/recordings/live/r"},
		{name: "record no name", path: "/record", body: `{"format":"wav"}`, wantCode: 400, wantField: "name"},
		{name: "record name with slash", path: "/record", body: `{"name":"a/b"}`, wantCode: 400, wantField: "name"},
		{name: "record name with dots", path: "/record", body: `{"name":"a..b"}`, wantCode: 400, wantField: "name"},
		{name: "record bad format", path: "/record", body: `{"name":"r","format":"mp3"}`, wantCode: 400, wantField: "format"},
		{name: "record negative duration", path: "/record", body: `{"name":"r","max_duration_seconds":-1}`, wantCode: 400, wantField: "max_duration_seconds"},
		{name: "record negative silence", path: "/record", body: `{"name":"r","max_silence_seconds":-1}`, wantCode: 400, wantField: "max_silence_seconds"},
		{name: "record bad if_exists", path: "/record", body: `{"name":"r","if_exists":"rename"}`, wantCode: 400, wantField: "if_exists"},
		{name: "record bad terminate_on", path: "/record", body: `{"name":"r","terminate_on":"1"}`, wantCode: 400, wantField: "terminate_on"},
		{name: "record beep not bool", path: "/record", body: `{"name":"r","beep":"yes"}`, wantCode: 400, wantField: "beep"},
		{name: "record exists", path: "/record", body: `{"name":"r"}`, err: callapi.Errorf(callapi.CodeConflict, "recording r exists"), wantArgs: `{"name":"r"}`, wantCode: 409},
		{name: "snoop", path: "/snoop", body: `{"spy":"in","whisper":"out"}`, res: testSnoop, wantArgs: `{"spy":"in","whisper":"out","snoop_id":"*"}`,
			wantCode: 201, wantLoc: "/v1/calls/snoop-1"},
		{name: "snoop defaults", path: "/snoop", res: testSnoop, wantArgs: `{"snoop_id":"*"}`, wantCode: 201, wantLoc: "/v1/calls/snoop-1"},
		{name: "snoop async", path: "/snoop", body: `{}`, hdr: []string{"Prefer", "respond-async", "Idempotency-Key", "k-snoop"},
			acc: &callapi.Accepted{CommandID: "cmd-4", CallID: "c1", Created: "snoop-k"}, wantArgs: `{"snoop_id":"*"}`, wantCode: 202, wantLoc: "/v1/calls/snoop-k"},
		{name: "snoop async, id unknown", path: "/snoop", body: `{}`, hdr: []string{"Prefer", "respond-async"},
			acc: &callapi.Accepted{CommandID: "cmd-5", CallID: "c1"}, wantArgs: `{"snoop_id":"*"}`, wantCode: 202},
		{name: "snoop bad spy", path: "/snoop", body: `{"spy":"all"}`, wantCode: 400, wantField: "spy"},
		{name: "snoop bad whisper", path: "/snoop", body: `{"whisper":"loud"}`, wantCode: 400, wantField: "whisper"},
		{name: "snoop nothing", path: "/snoop", body: `{"spy":"none"}`, wantCode: 400, wantField: "spy"},
		{name: "snoop snoop_id is not the caller's", path: "/snoop", body: `{"snoop_id":"x"}`, wantCode: 400, wantField: "snoop_id"},
		{name: "snoop not found", path: "/snoop", err: callapi.Errorf(callapi.CodeNotFound, "call c1 not found"), wantArgs: `{"snoop_id":"*"}`, wantCode: 404},
		{name: "service returns nothing", path: "/play", body: `{"media":["sound:x"]}`, wantArgs: `{"media":["sound:x"],"playback_id":"*"}`, wantCode: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			check := func(ctx context.Context, o gateway.Options, id callapi.CallID, args any) {
				called = true
				if _, ok := ctx.Deadline(); !ok {
					t.Error("no deadline")
				}
				if id != "c1" {
					t.Errorf("id %q", id)
				}
				if o.Async != (tc.acc != nil) {
					t.Errorf("options %+v", o)
				}
				if got := argsJSON(t, args); got != tc.wantArgs {
					t.Errorf("args %s, want %s", got, tc.wantArgs)
				}
			}
			calls := &fakeCalls{t: t,
				PlayFn: func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error) {
					if a.PlaybackID != fakePlaybackID {
						t.Errorf("playback id %q", a.PlaybackID)
					}
					a.PlaybackID = "*"
					check(ctx, o, id, &a)
					pb, _ := tc.res.(*callapi.Playback)
					return pb, tc.acc, tc.err
				},
				RecordFn: func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error) {
					check(ctx, o, id, &a)
					rec, _ := tc.res.(*callapi.Recording)
					return rec, tc.acc, tc.err
				},
				SnoopFn: func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error) {
					if a.SnoopID != fakeSnoopID {
						t.Errorf("snoop id %q", a.SnoopID)
					}
					a.SnoopID = "*"
					check(ctx, o, id, &a)
					c, _ := tc.res.(*callapi.Call)
					return c, tc.acc, tc.err
				},
			}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/calls/c1"+tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantArgs != "") {
				t.Errorf("service called = %v", called)
			}
			switch rec.Code {
			case 201:
				if loc := rec.Header().Get("Location"); loc != tc.wantLoc {
					t.Errorf("Location %q, want %q", loc, tc.wantLoc)
				}
				want, _ := json.Marshal(tc.res)
				if got := strings.TrimSpace(rec.Body.String()); got != string(want) {
					t.Errorf("body %s, want %s", got, want)
				}
			case 202:
				var got callapi.Accepted
				want := *tc.acc
				want.Created = "" // not in the body
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got != want {
					t.Errorf("accepted %s (%v)", rec.Body, err)
				}
				if loc := rec.Header().Get("Location"); loc != tc.wantLoc {
					t.Errorf("Location %q, want %q", loc, tc.wantLoc)
				}
			default:
				checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), "/v1/calls/c1"+tc.path, tc.wantField)
			}
		})
	}
}

func TestVariables(t *testing.T) {
	for _, tc := range []struct {
		name      string
		method    string
		path      string // after /v1/calls/c1/variables/
		body      string
		hdr       []string
		acc       *callapi.Accepted
		err       error
		wantArgs  string
		wantCode  int
		wantBody  string
		wantField string
	}{
		{name: "get", method: "GET", path: "FOO", wantArgs: `{"name":"FOO"}`, wantCode: 200, wantBody: `{"name":"FOO","value":"bar"}`},
		{name: "get function", method: "GET", path: "CALLERID(num)", wantArgs: `{"name":"CALLERID(num)"}`, wantCode: 200, wantBody: `{"name":"CALLERID(num)","value":"bar"}`},
		{name: "get escaped", method: "GET", path: "CALLERID%28num%29", wantArgs: `{"name":"CALLERID(num)"}`, wantCode: 200, wantBody: `{"name":"CALLERID(num)","value":"bar"}`},
		{name: "get ignores respond-async", method: "GET", path: "FOO", hdr: []string{"Prefer", "respond-async"}, wantArgs: `{"name":"FOO"}`, wantCode: 200, wantBody: `{"name":"FOO","value":"bar"}`},
		{name: "get bad name", method: "GET", path: "1FOO", wantCode: 400, wantField: "name"},
		{name: "get unset", method: "GET", path: "FOO", err: callapi.Errorf(callapi.CodeNotFound, "variable FOO not found"), wantArgs: `{"name":"FOO"}`, wantCode: 404},
		{name: "get not in stasis", method: "GET", path: "FOO", err: callapi.Errorf(callapi.CodeConflict, "not in stasis"), wantArgs: `{"name":"FOO"}`, wantCode: 409},
		{name: "set", method: "PUT", path: "FOO", body: `{"value":"bar"}`, wantArgs: `{"name":"FOO","value":"bar"}`, wantCode: 204},
		{name: "set empty", method: "PUT", path: "FOO", body: `{"value":""}`, wantArgs: `{"name":"FOO"}`, wantCode: 204},
		{name: "set async", method: "PUT", path: "FOO", body: `{"value":"1"}`, hdr: []string{"Prefer", "respond-async"},
			acc: &callapi.Accepted{CommandID: "cmd-5", CallID: "c1"}, wantArgs: `{"name":"FOO","value":"1"}`, wantCode: 202},
		{name: "set no value", method: "PUT", path: "FOO", body: `{}`, wantCode: 400, wantField: "value"},
		{name: "set null value", method: "PUT", path: "FOO", body: `{"value":null}`, wantCode: 400, wantField: "value"},
		{name: "set value not a string", method: "PUT", path: "FOO", body: `{"value":1}`, wantCode: 400, wantField: "value"},
		{name: "set value too long", method: "PUT", path: "FOO", body: `{"value":"` + strings.Repeat("v", callapi.MaxVariableValueLen+1) + `"}`, wantCode: 400, wantField: "value"},
		{name: "set name in body", method: "PUT", path: "FOO", body: `{"name":"BAR","value":"1"}`, wantCode: 400, wantField: "name"},
		{name: "set bad name", method: "PUT", path: "A%20B", body: `{"value":"1"}`, wantCode: 400, wantField: "name"},
		{name: "set no body", method: "PUT", path: "FOO", wantCode: 400, wantField: "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			calls := &fakeCalls{t: t, CallActionFn: func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
				called = true
				if got := argsJSON(t, args); got != tc.wantArgs {
					t.Errorf("args %s, want %s", got, tc.wantArgs)
				}
				if o.Async != (tc.acc != nil) {
					t.Errorf("options %+v", o)
				}
				switch tc.method {
				case "GET":
					if a != callapi.ActCallVarGet {
						t.Errorf("action %s", a)
					}
					if tc.err == nil {
						// The worker echoes the name it was asked.
						*out.(*callapi.Variable) = callapi.Variable{Name: args.(*callapi.VariableArgs).Name, Value: "bar"}
					}
				case "PUT":
					if a != callapi.ActCallVarSet || out != nil {
						t.Errorf("action %s out %v", a, out)
					}
				}
				return tc.acc, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), tc.method, "/v1/calls/c1/variables/"+tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantArgs != "") {
				t.Errorf("service called = %v", called)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
			if tc.wantCode >= 400 {
				p := decodeProblem(t, rec.Body.Bytes())
				if p.Field != tc.wantField || p.Status != tc.wantCode {
					t.Errorf("problem %+v, want field %q", p, tc.wantField)
				}
			}
		})
	}
}

// TestControlScopes: reads need calls:read, commands calls:write.
func TestControlScopes(t *testing.T) {
	calls := &fakeCalls{t: t,
		CallActionFn: func(_ context.Context, o gateway.Options, _ callapi.CallID, a callapi.Action, _, out any) (*callapi.Accepted, error) {
			if o.Tenant != "acme" {
				t.Errorf("tenant %q", o.Tenant)
			}
			if v, ok := out.(*callapi.Variable); ok {
				*v = callapi.Variable{Name: "FOO", Value: "1"}
			}
			return nil, nil
		},
		BridgesFn: func(context.Context, gateway.Options) ([]*callapi.Bridge, []callapi.NodeID, error) {
			return nil, nil, nil
		},
		StoredRecordingsFn: func(context.Context, gateway.Options) ([]*callapi.Recording, []callapi.NodeID, error) {
			return nil, nil, nil
		},
	}
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{calls: calls})
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, s.Handler(), map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	reader, writer := tok("reader", "r"), tok("acme-app", "s3cret")
	for _, tc := range []struct {
		method, path, body, auth string
		want                     int
	}{
		{"POST", "/v1/calls/c1/hold", "", reader, 403},
		{"POST", "/v1/calls/c1/hold", "", writer, 204},
		{"POST", "/v1/calls/c1/hold", "", "", 401},
		{"GET", "/v1/calls/c1/variables/FOO", "", reader, 200},
		{"PUT", "/v1/calls/c1/variables/FOO", `{"value":"1"}`, reader, 403},
		{"PUT", "/v1/calls/c1/variables/FOO", `{"value":"1"}`, writer, 204},
		{"GET", "/v1/bridges", "", reader, 200},
		{"POST", "/v1/bridges", `{}`, reader, 403},
		{"POST", "/v1/transfers", `{}`, reader, 403},
		{"GET", "/v1/recordings/stored", "", reader, 200},
		{"DELETE", "/v1/recordings/stored/r1", "", reader, 403},
		{"DELETE", "/v1/playbacks/p1", "", reader, 403},
	} {
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization", tc.auth}
		}
		if rec := do(t, s.Handler(), tc.method, tc.path, tc.body, hdr...); rec.Code != tc.want {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, rec.Code, tc.want, rec.Body)
		}
	}
}

// callsOnly, embedded, hides every method but those of Calls (an alias, so
// that the field is not named Calls like the method).
type callsOnly = Calls

// TestNoBridgesOrMedia: a Calls that is not also Bridges and Media leaves
// those routes answering 503, and the call routes working.
func TestNoBridgesOrMedia(t *testing.T) {
	calls := &fakeCalls{t: t, CallActionFn: func(context.Context, gateway.Options, callapi.CallID, callapi.Action, any, any) (*callapi.Accepted, error) {
		return nil, nil
	}}
	s := MustNewServer(t, Config{}, deps{calls: struct{ callsOnly }{calls}})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/bridges", 503},
		{"POST", "/v1/transfers", 503},
		{"GET", "/v1/playbacks/p1", 503},
		{"GET", "/v1/recordings/stored", 503},
		{"POST", "/v1/calls/c1/answer", 204},
	} {
		if rec := do(t, s.Handler(), tc.method, tc.path, ""); rec.Code != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}
