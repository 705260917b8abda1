package arisim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeBody feeds arbitrary request bodies to the parameter decoder: it must never panic, and
// anything it accepts must be readable through every accessor.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{"", "null", "{}", `{"endpoint":"Local/answer@callgw-test","app":"a","variables":{"A":"1"}}`,
		`{"timeout":30,"priority":1.5,"x":true,"media":["sound:a","sound:b"]}`, `{"variables":{"A":1}}`, `[1,2]`, `{"a":`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, _, err := decodeBody([]byte(body))
		if err != nil {
			return
		}
		r := httptest.NewRequest("POST", "/ari/channels?app=q", strings.NewReader(body))
		p, err := parseParams(r)
		if err != nil {
			t.Fatalf("decodeBody accepted %q but parseParams failed: %v", body, err)
		}
		if len(m) != len(p.body) {
			t.Fatalf("decoders disagree on %q", body)
		}
		for k := range m {
			_ = p.str(k)
			_ = p.list(k)
			_ = p.num(k, 0)
			_ = p.boolean(k)
		}
		_, _ = p.variables()
		if p.str("app") == "" && m["app"] == nil {
			t.Fatalf("query parameter lost for %q", body)
		}
	})
}

// FuzzParseCallerID: ast_callerid_parse's counterpart never panics and never invents digits.
func FuzzParseCallerID(f *testing.F) {
	for _, s := range []string{`"Alice" <1001>`, "<102>", "8005558282", "Bob", `"" <>`, "<", ">", `"x" <1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		name, num := parseCallerID(v)
		if !strings.Contains(v, num) || !strings.Contains(v, name) {
			t.Fatalf("parseCallerID(%q) = %q, %q: not substrings", v, name, num)
		}
	})
}

// FuzzRoute sends arbitrary paths and methods through the router: no panic, always a status.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"channels", "channels/x/play/y", "bridges/a/videoSource/b", "recordings/stored/x/file", "//", "channels/create", "events/user/x", "deviceStates/Stasis:x"} {
		f.Add("GET", s)
		f.Add("POST", s)
	}
	s := New(Config{User: "u", Password: "p"})
	defer s.Close()
	f.Fuzz(func(t *testing.T, method, path string) {
		if strings.ContainsAny(method, " \r\n\t") || method == "" {
			return
		}
		w := httptest.NewRecorder()
		r := &http.Request{Method: method, URL: &url.URL{Path: "/ari/" + path}, Header: http.Header{}}
		s.router.route(w, r, path, params{})
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("%s %s -> %d", method, path, w.Code)
		}
	})
}

// FuzzEventEncode: the hand-spliced event header always yields valid JSON with the right values.
func FuzzEventEncode(f *testing.F) {
	f.Add("ChannelVarset", "sim", "callgw", "v")
	f.Add("X", "02:fc:00:00:00:01", "a\"b<c>\\", "\x00é")
	f.Fuzz(func(t *testing.T, typ, id, app, val string) {
		e := &event{typ: typ, body: map[string]any{"value": val}}
		b, err := e.encode(app, id)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		// Each value on its own: two invalid halves ("\xd1", "\xb0") can
		// make a valid concatenation.
		if !utf8.ValidString(typ) || !utf8.ValidString(id) || !utf8.ValidString(app) || !utf8.ValidString(val) {
			return // json.Marshal replaces invalid UTF-8; values then differ by design
		}
		if m["type"] != typ || m["asterisk_id"] != id || m["application"] != app || m["value"] != val {
			t.Fatalf("round trip %q", b)
		}
	})
}
