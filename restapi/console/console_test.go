package console

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestServesTheConsole: the page and its modules are served with their
// types and a CSP that allows this origin only; anything else is 404 (or
// 405 for a write).
func TestServesTheConsole(t *testing.T) {
	h := Handler(nil)
	for _, tc := range []struct {
		method, path string
		status       int
		typ, body    string
	}{
		{"GET", "/", 200, "text/html", `src="console/app.js"`},
		{"GET", "/index.html", 200, "text/html", `href="console/style.css"`},
		{"GET", "/app.js", 200, "text/javascript", "new Stream("},
		{"GET", "/api.js", 200, "text/javascript", "oauth/token"},
		{"GET", "/stream.js", 200, "text/javascript", "EventSource"},
		{"GET", "/grid.js", 200, "text/javascript", "class Grid"},
		{"GET", "/style.css", 200, "text/css", ":focus-visible"},
		{"HEAD", "/app.js", 200, "text/javascript", ""},
		{"GET", "/nope.js", 404, "", ""},
		{"GET", "/console.go", 404, "", ""},
		{"GET", "/../console.go", 404, "", ""},
		{"GET", "/static/app.js", 404, "", ""},
		{"POST", "/app.js", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, tc.typ) {
				t.Errorf("Content-Type %q, want %s", got, tc.typ)
			}
			if rec.Header().Get("Content-Security-Policy") != CSP || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", rec.Header())
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

// TestNothingFromElsewhere: the files name no other host (no CDN) and no
// inline script or style, which the CSP would refuse anyway.
func TestNothingFromElsewhere(t *testing.T) {
	entries, err := files.ReadDir("static")
	if err != nil || len(entries) == 0 {
		t.Fatalf("static: %v", err)
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|import\s+[^;]*from\s+["']https?:|@import|url\(\s*["']?https?:`)
	for _, e := range entries {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if m := external.FindString(s); m != "" {
			t.Errorf("%s loads from another host: %q", e.Name(), m)
		}
		if strings.HasSuffix(e.Name(), ".html") {
			if regexp.MustCompile(`<script(\s[^>]*)?>[^<]`).MatchString(s) || strings.Contains(s, "<style") || strings.Contains(s, " style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(s) {
				t.Errorf("%s has inline script or style", e.Name())
			}
		}
	}
}
