package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b)+" "+r.Header.Get("Authorization"))
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/calls/missing"):
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"code":"not_found","detail":"call missing not found"}`)
		case r.URL.Path == "/v1/events":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, ": hello\n\nid: 1\nevent: call.created\ndata: {\"type\":\"call.created\"}\n\n")
		case r.Method == "DELETE":
			w.WriteHeader(204)
		default:
			_, _ = io.WriteString(w, `{"id":"c1"}`)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args    []string
		want    string // request seen
		out     string // printed
		wantErr string
	}{
		{[]string{"originate", "PJSIP/alice", "--wait", "answered", "--tag", "t1", "--var", "A=b", "--timeout", "3s"}, `POST /v1/calls?timeout=3s {"tags":["t1"],"to":"PJSIP/alice","variables":{"A":"b"},"wait":"answered"} Bearer tok`, `"id": "c1"`, ""},
		{[]string{"list", "--node", "pbx1"}, "GET /v1/calls?node=pbx1  Bearer tok", `"id": "c1"`, ""},
		{[]string{"hangup", "c1", "--reason", "busy"}, "DELETE /v1/calls/c1?reason=busy  Bearer tok", "204", ""},
		{[]string{"get", "missing"}, "GET /v1/calls/missing  Bearer tok", "", "404 not_found: call missing not found"},
		{[]string{"events", "--call", "c1"}, "GET /v1/events?call_id=c1  Bearer tok", `{"type":"call.created"}`, ""},
		{[]string{"originate"}, "", "", "one endpoint"},
		{[]string{"frobnicate"}, "", "", "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got = nil
			var out bytes.Buffer
			c := &client{base: srv.URL, token: "tok", http: srv.Client(), out: &out}
			err := c.run(context.Background(), tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Fatalf("requests = %q, want %q", got, tc.want)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Fatalf("printed %q, want %q", out.String(), tc.out)
			}
		})
	}
}
