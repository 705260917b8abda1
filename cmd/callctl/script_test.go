package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// runCLI runs callctl as main does: its stdout, stderr and exit status.
func runCLI(t *testing.T, srv *httptest.Server, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(t, srv, &out, env)
	a.errOut = &errOut
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code = a.report(a.run(ctx, args))
	return out.String(), errOut.String(), code
}

// TestExitStatus: scripts tell a usage error (2) from the gateway's (1) and
// from a wait that was not met (3); --json errors are JSON on stderr; an
// unknown flag is one line, not the whole flag list.
func TestExitStatus(t *testing.T) {
	srv := httptest.NewServer(&fakeGateway{})
	defer srv.Close()
	env := map[string]string{"CALLGW_TOKEN": "tok"}
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // contained
		stderr     string // contained
		stderrJSON string // the "code" member of a JSON error on stderr
	}{
		{[]string{"originate", "Local/busy@callgw-test", "--wait", "answered"}, 3, "state      ended", "callctl: call c2 was not answered: 17 User busy by remote (BUSY)\n", ""},
		{[]string{"originate", "Local/busy@callgw-test", "--wait", "answered", "-o", "id"}, 3, "c2\n", "not answered", ""},
		{[]string{"originate", "Local/busy@callgw-test", "--wait", "answered", "--json"}, 3, `"state": "ended"`, "", "wait_not_met"},
		{[]string{"originate", "Local/slow@callgw-test", "--wait", "answered"}, 3, "", "not answered before the deadline (--timeout): 504 timeout", ""},
		{[]string{"originate", "Local/slow@callgw-test"}, 1, "", "504 timeout", ""},
		{[]string{"originate", "Local/answer@callgw-test", "--wait", "answered"}, 0, "state      up", "", ""},
		{[]string{"get", "missing"}, 1, "", "404 not_found", ""},
		{[]string{"get", "missing", "--json"}, 1, "", "", "not_found"},
		{[]string{"list", "--bogus"}, 2, "", "callctl: unknown flag --bogus (callctl list --help lists its flags)\n", ""},
		{[]string{"--json", "list", "--bogus"}, 2, "", "", "usage"},
		{[]string{"list", "--bogus", "--json"}, 2, "", "", "usage"},
		{[]string{"list", "--bogus", "-o", "json"}, 2, "", "", "usage"},
		{[]string{"list", "--limit", "x"}, 2, "", "for --limit", ""},
		{[]string{"list", "-o", "yaml"}, 2, "", "want table, wide, json, id", ""},
		{[]string{"get"}, 2, "", "get takes <call-id>", ""},
		{[]string{"frobnicate"}, 2, "", "unknown command", ""},
		{[]string{"list", "--help"}, 0, "Usage: callctl list", "", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, srv, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) {
				t.Fatalf("exit %d, stdout %q; want %d, %q (stderr %q)", code, out, tc.code, tc.stdout, errOut)
			}
			if tc.stderrJSON != "" {
				var e struct{ Code, Detail string }
				if err := json.Unmarshal([]byte(errOut), &e); err != nil || e.Code != tc.stderrJSON || e.Detail == "" {
					t.Fatalf("stderr %q: %v; want JSON with code %q and a detail", errOut, err, tc.stderrJSON)
				}
			} else if !strings.Contains(errOut, tc.stderr) || (tc.stderr == "" && errOut != "") {
				t.Fatalf("stderr %q, want %q", errOut, tc.stderr)
			}
		})
	}
}

// TestHelpShowsDoubleDash: help lists flags as the docs write them
// (--json, -o), without a stray "callctl login" taken for an argument name.
func TestHelpShowsDoubleDash(t *testing.T) {
	srv := httptest.NewServer(&fakeGateway{})
	defer srv.Close()
	out, _, code := runCLI(t, srv, nil, "help", "hangup")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"\n  --json\n", "\n  --url string\n", "\n  -o format\n", "\n  --reason string\n", "the one callctl login saved"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"\n  -json", "\n  -url", "-token callctl login"} {
		if strings.Contains(out, bad) {
			t.Errorf("help shows %q:\n%s", bad, out)
		}
	}
}

// TestOutputFormats: -o id (and -q) print ids only, one a line; -o wide
// adds columns.
func TestOutputFormats(t *testing.T) {
	srv := httptest.NewServer(&fakeGateway{})
	defer srv.Close()
	env := map[string]string{"CALLGW_TOKEN": "tok"}
	for _, tc := range []struct {
		args []string
		want string // all of stdout, or with a leading "~" contained in it
	}{
		{[]string{"list", "-o", "id"}, "c1\n"},
		{[]string{"-q", "list"}, "c1\n"},
		{[]string{"list", "--output=id"}, "c1\n"},
		{[]string{"originate", "PJSIP/alice", "-o", "id"}, "c1\n"},
		{[]string{"nodes", "-q"}, "pbx1\n"},
		{[]string{"list", "-o", "wide"}, "~CHANNEL  BRIDGE  CREATED"},
		{[]string{"list", "-o", "json"}, `~"missing_nodes": [`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, srv, env, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if w, ok := strings.CutPrefix(tc.want, "~"); ok && !strings.Contains(out, w) || !ok && out != tc.want {
				t.Fatalf("printed %q, want %q", out, tc.want)
			}
		})
	}
}

// TestVersion: callctl version prints its own version and the gateway's
// API version; --client asks no gateway.
func TestVersion(t *testing.T) {
	g := &fakeGateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	out, errOut, code := runCLI(t, srv, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "callctl dev (commit ") || !strings.Contains(out, "gateway "+srv.URL+": CallAPI 1.0.0") {
		t.Fatalf("exit %d, printed %q %q", code, out, errOut)
	}
	g.got = nil
	out, _, code = runCLI(t, srv, nil, "version", "--client", "--json")
	var v struct{ Client struct{ Version, Go string } }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Client.Version != "dev" || v.Client.Go == "" || len(g.got) != 0 {
		t.Fatalf("exit %d, printed %q (%v), requests %q", code, out, err, g.got)
	}
}

// TestCallIDPrefix: a unique prefix of a live or ended call's id (the 8
// characters events print) stands for the call; an ambiguous one is a
// usage error naming the calls; a full UUID is used as it is.
func TestCallIDPrefix(t *testing.T) {
	const a, b, e = "4f7c1a2b-0000-4000-8000-000000000000", "4f7c9999-0000-4000-8000-000000000000", "5e0d0000-0000-4000-8000-000000000000"
	g := &fakeGateway{live: `[{"id":"` + a + `","node":"pbx1","state":"up"},{"id":"` + b + `","node":"pbx1","state":"up"}]`,
		ended: `[{"id":"` + e + `","node":"pbx1","state":"ended"}]`}
	srv := httptest.NewServer(g)
	defer srv.Close()
	env := map[string]string{"CALLGW_TOKEN": "tok"}
	for _, tc := range []struct {
		args []string
		want string // the last request
		code int
		err  string
	}{
		{[]string{"hangup", "4f7c1a2b"}, "DELETE /v1/calls/" + a + "  Bearer tok", 0, ""},
		{[]string{"get", "5e0d"}, "GET /v1/calls/" + e + "  Bearer tok", 0, ""},
		{[]string{"timeline", "4f7c1a2b", "--color", "never"}, "GET /v1/events?call_id=" + a + "  Bearer tok", 0, ""},
		{[]string{"events", "--call", "4f7c9", "--max", "1"}, "GET /v1/events?call_id=" + b + "  Bearer tok", 0, ""},
		{[]string{"transfer", "4f7c1", "4f7c9", "5e0d"}, `POST /v1/transfers {"transferee":"` + a + `","target":"` + b + `","transferer":"` + e + `"} Bearer tok`, 0, ""},
		{[]string{"get", "4f7c"}, "GET /v1/calls?state=ended  Bearer tok", 2, `call id prefix "4f7c" is ambiguous: it starts 2 calls (` + a + ", " + b + ")"},
		{[]string{"get", "nosuch"}, "GET /v1/calls/nosuch  Bearer tok", 0, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			g.mu.Lock()
			g.got = nil
			g.mu.Unlock()
			_, errOut, code := runCLI(t, srv, env, tc.args...)
			g.mu.Lock()
			got := g.got
			g.mu.Unlock()
			if code != tc.code || !strings.Contains(errOut, tc.err) || len(got) == 0 || got[len(got)-1] != tc.want {
				t.Fatalf("exit %d, stderr %q, requests %q; want %d, %q, last %q", code, errOut, got, tc.code, tc.err, tc.want)
			}
		})
	}
	g.got = nil
	if _, errOut, code := runCLI(t, srv, env, "hangup", b); code != 0 || len(g.got) != 1 {
		t.Fatalf("full id: exit %d %s, requests %q (want the hangup only)", code, errOut, g.got)
	}
}
