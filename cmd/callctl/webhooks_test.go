package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestWebhookCommands: each `callctl webhook` operation sends its request
// (method, path, body: update sends only the members given) and shows the
// answer; the secret of create and rotate is printed with its warning.
func TestWebhookCommands(t *testing.T) {
	const hook = `{"id":"w1","tenant":"default","url":"https://example.com/h","state":"active","created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z"`
	var mu sync.Mutex
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = strings.TrimSpace(r.Method + " " + r.URL.RequestURI() + " " + string(b))
		mu.Unlock()
		switch {
		case r.Method == "DELETE":
			w.WriteHeader(204)
		case r.URL.Path == "/v1/webhooks" && r.Method == "GET":
			_, _ = io.WriteString(w, `{"webhooks":[`+hook+`}]}`)
		case strings.HasSuffix(r.URL.Path, "/ping"):
			_, _ = io.WriteString(w, `{"time":"2026-01-02T03:04:05Z","event_id":"e1","event_type":"webhook.ping","attempt":1,"status":204,"latency_ms":3.2,"outcome":"delivered"}`)
		case strings.HasSuffix(r.URL.Path, "/attempts"):
			_, _ = io.WriteString(w, `{"attempts":[{"time":"2026-01-02T03:04:05Z","event_id":"e2","event_type":"call.hangup","attempt":2,"status":500,"latency_ms":12,"outcome":"retry","error":"receiver answered 500"}]}`)
		case r.URL.Path == "/v1/webhooks" || strings.HasSuffix(r.URL.Path, "/rotate"):
			_, _ = io.WriteString(w, hook+`,"secret":"whsec_new"}`)
		default:
			_, _ = io.WriteString(w, hook+`}`)
		}
	}))
	defer srv.Close()
	env := map[string]string{"CALLGW_TOKEN": "tok"}
	for _, c := range []struct {
		args      []string
		request   string
		stdout    string
		notStdout string
	}{
		{[]string{"webhook", "create", "https://example.com/h", "--type", "call.hangup,call.answered", "--tag", "vip"},
			`POST /v1/webhooks {"url":"https://example.com/h","types":["call.hangup","call.answered"],"tag":"vip"}`, "secret: whsec_new", ""},
		{[]string{"webhook", "list"}, "GET /v1/webhooks", "https://example.com/h", "secret"},
		{[]string{"webhook", "get", "w1"}, "GET /v1/webhooks/w1", "active", "secret"},
		{[]string{"webhook", "update", "w1", "--tag", "", "--target", "https://example.com/new"},
			`PATCH /v1/webhooks/w1 {"url":"https://example.com/new","tag":""}`, "w1", ""},
		{[]string{"webhook", "pause", "w1"}, "POST /v1/webhooks/w1/pause", "w1", ""},
		{[]string{"webhook", "resume", "w1"}, "POST /v1/webhooks/w1/resume", "w1", ""},
		{[]string{"webhook", "rotate", "w1", "--overlap", "1h"}, `POST /v1/webhooks/w1/rotate {"overlap_seconds":3600}`, "secret: whsec_new", ""},
		{[]string{"webhook", "ping", "w1"}, "POST /v1/webhooks/w1/ping", "webhook.ping", ""},
		{[]string{"webhook", "log", "w1", "--limit", "5"}, "GET /v1/webhooks/w1/attempts?limit=5", "receiver answered 500", ""},
		{[]string{"webhook", "delete", "w1"}, "DELETE /v1/webhooks/w1", "deleted webhook w1", ""},
		{[]string{"webhook", "list", "-o", "id"}, "GET /v1/webhooks", "w1\n", "https"},
	} {
		out, errOut, code := runCLI(t, srv, env, c.args...)
		mu.Lock()
		req := got
		mu.Unlock()
		if code != 0 || req != c.request || !strings.Contains(out, c.stdout) || (c.notStdout != "" && strings.Contains(out, c.notStdout)) {
			t.Errorf("%v: exit %d, request %q, stdout %q, stderr %q", c.args, code, req, out, errOut)
		}
	}
	if _, _, code := runCLI(t, srv, env, "webhook", "frobnicate", "w1"); code != 2 && code != 1 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}
