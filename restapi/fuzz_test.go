package restapi

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// FuzzDecodeOriginate: any body either decodes into arguments that pass
// validation or fails with invalid_argument (never a panic, never another
// code).
func FuzzDecodeOriginate(f *testing.F) {
	for _, s := range []string{
		`{"to":"PJSIP/alice"}`,
		`{"to":"Local/answer@callgw-test","node":"pbx1","from":"100","variables":{"X":"1"},"tags":["a"],"timeout":30,"wait":"answered"}`,
		`{"to":"PJSIP/alice","context":"default","extension":"100","priority":1}`,
		`{"to":1}`, `[]`, `null`, `{"to":"PJSIP/alice"} x`, `{"to":"PJSIP/alice","x":1}`, ``, `{`, `"\u0000"`,
		`{"variables":{"":"x"},"to":"A/b"}`, `{"timeout":1e400,"to":"A/b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeOriginate(bytes.NewReader(body))
		if err != nil {
			if c := callapi.ErrorCode(err); c != callapi.CodeInvalidArgument {
				t.Fatalf("code %s for %q: %v", c, body, err)
			}
			if callapi.ErrorMessage(err) == "" {
				t.Fatalf("no message for %q", body)
			}
			return
		}
		// The decoder only decodes; the service validates (callapi.Spec).
		if req.Node != "" && !callapi.ValidNodeID(string(req.Node)) {
			t.Fatalf("decoded %q with an invalid node %q", body, req.Node)
		}
	})
}

// FuzzReadForm: the token endpoint's form/JSON decoder fails cleanly.
func FuzzReadForm(f *testing.F) {
	f.Add([]byte("grant_type=client_credentials&client_id=a&client_secret=b"), false)
	f.Add([]byte(`{"grant_type":"client_credentials","client_id":"a"}`), true)
	f.Add([]byte(`{"grant_type":1}`), true)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := "application/x-www-form-urlencoded"
		if asJSON {
			ct = "application/json"
		}
		if _, err := readForm(bytes.NewReader(body), ct); err != nil && callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
			t.Fatalf("code %s for %q", callapi.ErrorCode(err), body)
		}
	})
}

// FuzzParseTimeout: the deadline parser never panics and never returns a
// value outside (0, max].
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"5", "5s", "1500ms", "0", "-1", "61", "1e308", "NaN", "Inf", "0.001", "1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTimeout(url.Values{"timeout": {s}}, 5*time.Second, time.Minute)
		if err != nil {
			if callapi.ErrorField(err) != "timeout" {
				t.Fatalf("field %q", callapi.ErrorField(err))
			}
			return
		}
		if d <= 0 || d > time.Minute {
			t.Fatalf("%q -> %s", s, d)
		}
	})
}

// bodyDecoders are the body decoders of the action routes, each with a
// check of what it returns on success: the decoders only decode (the
// service validates with the action's callapi.Spec), so the check is that
// no field the gateway sets for itself (playback_id, snoop_id, bridge_id)
// can come from a body.
var bodyDecoders = []struct {
	name  string
	check func(body []byte) (validated bool, err error)
}{
	{"empty", func(b []byte) (bool, error) { return true, decodeEmpty(bytes.NewReader(b)) }},
	{"ring", genericDecoder(callapi.ActCallRing)},
	{"mute", genericDecoder(callapi.ActCallMute)},
	{"dtmf", genericDecoder(callapi.ActCallDTMF)},
	{"play", func(b []byte) (bool, error) {
		a, err := decodePlay(bytes.NewReader(b))
		return err != nil || a.PlaybackID == "", err
	}},
	{"record", func(b []byte) (bool, error) { _, err := decodeRecord(bytes.NewReader(b)); return true, err }},
	{"redirect", genericDecoder(callapi.ActCallRedirect)},
	{"continue", genericDecoder(callapi.ActCallContinue)},
	{"snoop", func(b []byte) (bool, error) {
		a, err := decodeSnoop(bytes.NewReader(b))
		return err != nil || a.SnoopID == "", err
	}},
	{"moh", genericDecoder(callapi.ActCallMOHStart)},
	{"variable", func(b []byte) (bool, error) { _, err := decodeVariable(bytes.NewReader(b), "FOO"); return true, err }},
	{"bridge", func(b []byte) (bool, error) {
		r, err := decodeBridge(bytes.NewReader(b))
		if err == nil {
			err = r.Validate(nil)
		}
		return err != nil || len(r.Calls) <= callapi.MaxBridgeCalls, err
	}},
	{"bridge call", genericDecoder(callapi.ActBridgeAdd)},
	{"webhook", func(b []byte) (bool, error) {
		var r callapi.WebhookRequest
		return true, decodeJSON(bytes.NewReader(b), &r)
	}},
	{"webhook rotate", func(b []byte) (bool, error) {
		var r callapi.WebhookRotateRequest
		return true, decodeOptionalJSON(bytes.NewReader(b), &r)
	}},
	{"transfer", func(b []byte) (bool, error) {
		a, err := decodeTransfer(bytes.NewReader(b))
		return err != nil || a.BridgeID == "", err
	}},
}

// genericDecoder is the body decoder of a generic call action's route.
func genericDecoder(a callapi.Action) func([]byte) (bool, error) {
	spec, _ := callapi.SpecOf(a)
	dec := specArgs(spec)
	return func(b []byte) (bool, error) {
		v, err := dec(bytes.NewReader(b))
		return err != nil || v != nil, err
	}
}

// FuzzDecodeBodies: every body decoder either returns arguments without
// the gateway's own fields or fails with invalid_argument naming a field
// (never a panic, never another code).
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"on":false}`, `{"direction":"in"}`, `{"digits":"12#","between_ms":100,"duration_ms":100}`,
		`{"media":["sound:hello-world"],"lang":"en"}`, `{"name":"r1","format":"wav","max_duration_seconds":1,"beep":true,"if_exists":"append","terminate_on":"#"}`,
		`{"endpoint":"PJSIP/bob"}`, `{"context":"c","extension":"1","priority":1}`, `{"context":"c","label":"l"}`, `{"spy":"none","whisper":"in"}`,
		`{"class":"default"}`, `{"value":"x"}`, `{"type":"holding","name":"n","node":"pbx1","calls":["a","b"]}`, `{"call_id":"c1"}`,
		`{"transferee":"a","target":"b","transferer":"c"}`, `{"name":"a/b"}`, `{"x":1}`, `{} {}`, `{"media":[1]}`, `{"value":null}`,
		`{"url":"https://example.com/h","types":["call."],"tag":"t","node":"pbx1","call_id":"c1","description":"d"}`, `{"overlap_seconds":60}`,
		`{"types":"call."}`, `{"overlap_seconds":"1"}`,
	} {
		for i := range bodyDecoders {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		d := bodyDecoders[int(which)%len(bodyDecoders)]
		ok, err := d.check(body)
		if err != nil {
			if c := callapi.ErrorCode(err); c != callapi.CodeInvalidArgument {
				t.Fatalf("%s: code %s for %q: %v", d.name, c, body, err)
			}
			if callapi.ErrorMessage(err) == "" || callapi.ErrorField(err) == "" {
				t.Fatalf("%s: no message or field for %q: %v", d.name, body, err)
			}
			return
		}
		if !ok {
			t.Fatalf("%s: decoded %q into invalid arguments", d.name, body)
		}
	})
}
