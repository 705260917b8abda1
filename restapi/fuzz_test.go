package restapi

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/callgw/callgw/gateway"
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
			if c := gateway.ErrorCode(err); c != gateway.EInvalid {
				t.Fatalf("code %s for %q: %v", c, body, err)
			}
			if gateway.ErrorMessage(err) == "" {
				t.Fatalf("no message for %q", body)
			}
			return
		}
		if verr := req.Args.Validate(); verr != nil {
			t.Fatalf("decoded %q into invalid args: %v", body, verr)
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
		if _, err := readForm(bytes.NewReader(body), ct); err != nil && gateway.ErrorCode(err) != gateway.EInvalid {
			t.Fatalf("code %s for %q", gateway.ErrorCode(err), body)
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
			if gateway.ErrorField(err) != "timeout" {
				t.Fatalf("field %q", gateway.ErrorField(err))
			}
			return
		}
		if d <= 0 || d > time.Minute {
			t.Fatalf("%q -> %s", s, d)
		}
	})
}
