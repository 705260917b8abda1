package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		d.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	if resp.StatusCode != 200 {
		d.t.Fatalf("webdriver %s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// startBrowser runs chromedriver and opens a headless chromium session.
func startBrowser(t *testing.T) *webDriver {
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
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(d.base + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver not up: %v\n%s", err, logs.String())
		}
	}
	out := d.call("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{"binary": chrome, "args": []string{
			"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + t.TempDir()}},
	}}})
	d.session = out["value"].(map[string]any)["sessionId"].(string)
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", d.base+"/session/"+d.session, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return d
}

func (d *webDriver) open(url string) {
	d.call("POST", "/session/"+d.session+"/url", map[string]any{"url": url})
}

func (d *webDriver) eval(script string) any {
	return d.call("POST", "/session/"+d.session+"/execute/sync", map[string]any{"script": script, "args": []any{}})["value"]
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
// (CORS preflight), and receives the call's events on both streams.
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
}
