package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/internal/testenv"
)

// The browser test drives Debian's chromium through chromedriver
// (package chromium-driver) with the W3C WebDriver protocol: a few JSON
// requests, no client library.

// browserTools finds chromium and chromedriver: absent, the test fails
// under CI (.ci/run installs them) and is skipped elsewhere.
func browserTools(t *testing.T) (chrome, driver string) {
	t.Helper()
	for _, c := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(c); err == nil {
			chrome = p
			break
		}
	}
	driver, _ = exec.LookPath("chromedriver")
	if chrome == "" || driver == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium and chromedriver are required under CI=true (.ci/run installs chromium chromium-driver); found %q %q", chrome, driver)
		}
		t.Skipf("chromium/chromedriver not installed (%q %q)", chrome, driver)
	}
	return chrome, driver
}

type webDriver struct {
	t       *testing.T
	base    string
	session string
}

func (d *webDriver) call(method, path string, body any) map[string]any {
	d.t.Helper()
	out, err := d.try(method, path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// try is call that returns its error (for other goroutines than the test's).
func (d *webDriver) try(method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("webdriver %s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// startBrowser runs chromedriver and opens a headless chromium session.
func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	return startBrowserAsync(t)()
}

// startBrowserAsync starts chromedriver and launches chromium in the
// background (it takes seconds on a busy machine): the test starts its
// servers meanwhile, then calls the returned func for the session.
func startBrowserAsync(t *testing.T) func() *webDriver {
	t.Helper()
	chrome, driverBin := browserTools(t)
	port := strings.TrimPrefix(testenv.FreeAddr(t), "127.0.0.1:")
	cmd := exec.Command(driverBin, "--port="+port)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	d := &webDriver{t: t, base: "http://127.0.0.1:" + port}
	profile := t.TempDir()
	started := make(chan error, 1)
	go func() {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get(d.base + "/status")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				started <- fmt.Errorf("chromedriver not up: %w", err)
				return
			}
		}
		out, err := d.try("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
			"browserName": "chrome",
			"goog:chromeOptions": map[string]any{"binary": chrome, "args": []string{
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1440,1000",
				"--user-data-dir=" + profile}},
		}}})
		if err == nil {
			v, _ := out["value"].(map[string]any)
			d.session, _ = v["sessionId"].(string)
		}
		started <- err
	}()
	var startErr error
	waited := false
	wait := func() {
		if !waited {
			waited, startErr = true, <-started
		}
	}
	// Before chromedriver is killed: end the session (and its chromium),
	// once it started, whether or not the test got to use it.
	t.Cleanup(func() {
		wait()
		if startErr == nil && d.session != "" {
			req, _ := http.NewRequest("DELETE", d.base+"/session/"+d.session, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	})
	return func() *webDriver {
		t.Helper()
		if wait(); startErr != nil || d.session == "" {
			t.Fatalf("browser: %v %s", startErr, logs.String())
		}
		return d
	}
}

func (d *webDriver) open(url string) {
	d.call("POST", "/session/"+d.session+"/url", map[string]any{"url": url})
}

func (d *webDriver) eval(script string) any {
	return d.call("POST", "/session/"+d.session+"/execute/sync", map[string]any{"script": script, "args": []any{}})["value"]
}

// evalAsync runs script, which ends by calling arguments[0] with its result.
func (d *webDriver) evalAsync(script string) any {
	return d.call("POST", "/session/"+d.session+"/execute/async", map[string]any{"script": script, "args": []any{}})["value"]
}

// find returns the WebDriver id of the element css selects.
func (d *webDriver) find(css string) string {
	d.t.Helper()
	v, _ := d.call("POST", "/session/"+d.session+"/element", map[string]any{"using": "css selector", "value": css})["value"].(map[string]any)
	for _, id := range v {
		if s, ok := id.(string); ok {
			return s
		}
	}
	d.t.Fatalf("no element %s", css)
	return ""
}

// click clicks the element css selects, as a user would.
func (d *webDriver) click(css string) {
	d.call("POST", "/session/"+d.session+"/element/"+d.find(css)+"/click", map[string]any{})
}

// typeInto types text into the element css selects.
func (d *webDriver) typeInto(css, text string) {
	d.call("POST", "/session/"+d.session+"/element/"+d.find(css)+"/value", map[string]any{"text": text})
}

// screenshot saves a PNG of the page as name in the test's artefacts
// directory ($CALLGW_ARTIFACTS, else a temporary one) and returns its path.
func (d *webDriver) screenshot(dir, name string) string {
	d.t.Helper()
	enc, _ := d.call("GET", "/session/"+d.session+"/screenshot", nil)["value"].(string)
	png, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// newTab opens a tab (its own sessionStorage) and switches to it; it
// returns the handle of the tab it left.
func (d *webDriver) newTab() (was string) {
	was, _ = d.call("GET", "/session/"+d.session+"/window", nil)["value"].(string)
	v, _ := d.call("POST", "/session/"+d.session+"/window/new", map[string]any{"type": "tab"})["value"].(map[string]any)
	d.switchTo(v["handle"].(string))
	return was
}

func (d *webDriver) switchTo(handle string) {
	d.call("POST", "/session/"+d.session+"/window", map[string]any{"handle": handle})
}

func (d *webDriver) tab() string {
	h, _ := d.call("GET", "/session/"+d.session+"/window", nil)["value"].(string)
	return h
}

// The page: it opens an EventSource and a WebSocket on the gateway (another
// origin) and places a call with fetch (a CORS preflight first), and keeps
// what it saw in window.seen.
const browserPage = `<!doctype html><html><body><script>
const api = %q;
window.seen = {sse: [], ws: [], sseOpen: false, wsOpen: false, errors: [], call: null};
const es = new EventSource(api + "/v1/events?type=call.");
es.onopen = () => { seen.sseOpen = true; };
es.onmessage = (m) => { const e = JSON.parse(m.data); seen.sse.push(e.call_id + " " + e.type); };
es.onerror = () => { seen.errors.push("sse error"); };
const ws = new WebSocket(api.replace(/^http/, "ws") + "/v1/events/ws?type=call.");
ws.onopen = () => { seen.wsOpen = true; };
ws.onmessage = (m) => { const e = JSON.parse(m.data); seen.ws.push(e.call_id + " " + e.type); };
ws.onerror = () => { seen.errors.push("ws error"); };
window.originate = () => fetch(api + "/v1/calls", {method: "POST", headers: {"Content-Type": "application/json", "Idempotency-Key": "browser-" + Date.now()},
    body: JSON.stringify({to: "Local/answer@callgw-test", wait: "answered"})})
  .then((r) => r.json().then((b) => { seen.call = {status: r.status, id: b.id}; }))
  .catch((e) => { seen.errors.push("fetch: " + e); });
</script></body></html>`

// TestBrowserStreams: a page served from another origin opens an
// EventSource and a WebSocket on the gateway, places a call with fetch
// (CORS preflight), and receives the call's events on both streams. Then
// the operator console signs in on this gateway without auth.
func TestBrowserStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	browser := startBrowser(t)
	page := httptest.NewServer(nil)
	defer page.Close()
	s := startStackWith(t, &system{cors: []string{page.URL}}, "pbx1")
	page.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, browserPage, s.base)
	})
	if page.URL == s.base {
		t.Fatal("page and gateway share an origin")
	}
	browser.open(page.URL + "/")
	type seen struct {
		SSE     []string `json:"sse"`
		WS      []string `json:"ws"`
		SSEOpen bool     `json:"sseOpen"`
		WSOpen  bool     `json:"wsOpen"`
		Errors  []string `json:"errors"`
		Call    *struct {
			Status int    `json:"status"`
			ID     string `json:"id"`
		} `json:"call"`
	}
	read := func() seen {
		var v seen
		b, _ := json.Marshal(browser.eval("return window.seen;"))
		_ = json.Unmarshal(b, &v)
		return v
	}
	wait := func(what string, ok func(seen) bool) seen {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			v := read()
			if ok(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: page saw %+v", what, v)
			}
		}
	}
	wait("streams open", func(v seen) bool { return v.SSEOpen && v.WSOpen })
	browser.eval("window.originate(); return true;")
	v := wait("the originate's answer", func(v seen) bool { return v.Call != nil })
	if v.Call.Status != http.StatusCreated || v.Call.ID == "" {
		t.Fatalf("originate from the page: %+v", v.Call)
	}
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(context.Background(), callapi.CallID(v.Call.ID), ""); err != nil {
		t.Fatal(err)
	}
	has := func(list []string, typ string) bool {
		for _, x := range list {
			if x == v.Call.ID+" "+typ {
				return true
			}
		}
		return false
	}
	v = wait("the call's events on both streams", func(v seen) bool {
		return has(v.SSE, "call.created") && has(v.SSE, "call.answered") && has(v.SSE, "call.hangup") &&
			has(v.WS, "call.created") && has(v.WS, "call.answered") && has(v.WS, "call.hangup")
	})
	if len(v.Errors) > 0 {
		t.Errorf("page errors: %v", v.Errors)
	}
	t.Logf("SSE %v\nWS %v", v.SSE, v.WS)

	// The console on this gateway without auth (as make dev runs it): any
	// client id signs in, as the tenant default, and its calls show.
	browser.open(s.base + "/console")
	browser.typeInto("#client-id", "anyone")
	browser.click("#signin-submit")
	var who string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		who, _ = browser.eval(`return document.getElementById("conn").dataset.state + " " + document.getElementById("who-text").textContent +
			" " + document.getElementById("nodes-body").textContent;`).(string)
		if strings.HasPrefix(who, "live development gateway") && strings.Contains(who, "pbx1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console without auth: %q", who)
		}
	}
}
