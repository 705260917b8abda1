package arisim

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeBody feeds arbitrary request bodies to the parameter decoder: it must never panic, and
// anything it accepts must be readable through every accessor.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{"", "null", "{}", `{"endpoint":"Local/answer@callgw-test","app":"a","variables":{"A":"1"}}`,
		`{"timeout":30,"priority":1.5,"x":true,"media":["sound:a","sound:b"]}`, `{"variables":{"A":1}}`, `[1,2]`, `{"a":`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := decodeBody([]byte(body))
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
		s.route(w, method, splitPath(path), params{})
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("%s %s -> %d", method, path, w.Code)
		}
	})
}
