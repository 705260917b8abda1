package restapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/internal/testenv"
)

// TestReferenceServed: /v1/docs is an HTML page, without a token, that
// loads its renderer and the description from the gateway itself (relative
// URLs) under a policy that forbids any other host; the renderer is the
// embedded bundle, gzip-encoded for clients that take gzip.
func TestReferenceServed(t *testing.T) {
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{})
	rec := do(t, s.Handler(), "GET", "/v1/docs", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /v1/docs: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for _, want := range []string{`spec-url="openapi.json"`, `<script src="docs/redoc.standalone.js">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("page loads from another host: %s", m)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self';"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}

	plain := do(t, s.Handler(), "GET", "/v1/docs/redoc.standalone.js", "")
	if plain.Code != 200 || !bytes.Equal(plain.Body.Bytes(), redocBundle) || len(redocBundle) < 500_000 {
		t.Fatalf("GET the renderer: %d, %d bytes", plain.Code, plain.Body.Len())
	}
	zipped := do(t, s.Handler(), "GET", "/v1/docs/redoc.standalone.js", "", "Accept-Encoding", "gzip, br")
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not used: %q", zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, redocBundle) {
		t.Errorf("gzip body is not the bundle (%d bytes)", len(got))
	}
}

// operation is one operation of openapi.json, as the page must show it.
type operation struct{ id, method, path, summary string }

func describedOperations(t *testing.T) []operation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, methods := range doc.Paths {
		for m, raw := range methods {
			var op struct {
				ID      string `json:"operationId"`
				Summary string `json:"summary"`
			}
			if m == "parameters" || json.Unmarshal(raw, &op) != nil {
				continue
			}
			ops = append(ops, operation{op.ID, m, path, op.Summary})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

// TestReferenceRendersEveryOperation: headless Chromium opens /v1/docs on
// a running server and the page it renders has a section for every
// operation of openapi.json, with its method, path and summary.
func TestReferenceRendersEveryOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	chrome := testenv.NeedTool(t, "chromium")
	s := MustNewServer(t, Config{}, deps{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=30000", "--dump-dom", srv.URL+"/v1/docs")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	sections := renderedOperations(string(dom))
	ops := describedOperations(t)
	if len(ops) < 40 {
		t.Fatalf("openapi.json has %d operations", len(ops))
	}
	for _, op := range ops {
		text, ok := sections[op.id]
		if !ok {
			t.Errorf("the page has no section for %s (%s %s)", op.id, op.method, op.path)
			continue
		}
		for _, want := range []string{op.method + op.path, op.summary} {
			if !strings.Contains(text, want) {
				t.Errorf("section %s does not show %q", op.id, want)
			}
		}
	}
	if len(sections) != len(ops) {
		t.Errorf("the page shows %d operations, openapi.json has %d", len(sections), len(ops))
	}
	if t.Failed() {
		t.Logf("rendered page (%d bytes) begins: %.2000s", len(dom), dom)
	}
}

var sectionRe = regexp.MustCompile(`data-section-id="operation/([^"]+)"`)

// renderedOperations returns the text of each operation section of the
// DOM Redoc built, by operationId.
func renderedOperations(dom string) map[string]string {
	out := map[string]string{}
	idx := sectionRe.FindAllStringSubmatchIndex(dom, -1)
	tags := regexp.MustCompile(`<[^>]*>`)
	for i, m := range idx {
		end := len(dom)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out[dom[m[2]:m[3]]] = html.UnescapeString(tags.ReplaceAllString(dom[m[1]:end], ""))
	}
	return out
}

// TestOpsTagPromisesWhatIsServed: the "ops" tag of openapi.json names
// what the API port serves; metrics are not among them (they are on the
// ops address), and /metrics here answers 404.
func TestOpsTagPromisesWhatIsServed(t *testing.T) {
	var doc struct {
		Tags []struct{ Name, Description string } `json:"tags"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s := MustNewServer(t, Config{}, deps{})
	if rec := do(t, s.Handler(), "GET", "/metrics", ""); rec.Code != 404 {
		t.Fatalf("GET /metrics on the API port: %d", rec.Code)
	}
	for _, tag := range doc.Tags {
		if tag.Name != "ops" {
			continue
		}
		served, _, _ := strings.Cut(tag.Description, ".")
		if strings.Contains(strings.ToLower(served), "metrics") {
			t.Errorf("the ops tag promises metrics the API port does not serve: %q", served)
		}
		if !strings.Contains(tag.Description, "CALLGW_METRICS_ADDR") {
			t.Errorf("the ops tag does not say where metrics are: %q", tag.Description)
		}
		return
	}
	t.Fatal("openapi.json has no ops tag")
}

// TestConsoleServed: the operator console is at /console without a token
// (the page signs in itself), its files under /console/, and /console/
// leads to /console.
func TestConsoleServed(t *testing.T) {
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{})
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/console", 200, "text/html"},
		{"/console/app.js", 200, "text/javascript"},
		{"/console/style.css", 200, "text/css"},
		{"/console/", 301, ""},
		{"/console/nope.js", 404, "application/problem+json"},
	} {
		rec := do(t, s.Handler(), "GET", tc.path, "")
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.want) {
			t.Errorf("GET %s: %d %q, want %d %s", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.want)
		}
		if tc.status == 301 && rec.Header().Get("Location") != "../console" {
			t.Errorf("GET %s: Location %q", tc.path, rec.Header().Get("Location"))
		}
	}
}
