package arisim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestRoutesMatchSpec holds the route table to Asterisk's API description: every operation of the
// spec is routed (handled or answered 501 "not simulated"), and nothing outside it is.
func TestRoutesMatchSpec(t *testing.T) {
	sp := loadSpec(t)
	var want []string
	for _, op := range sp.ops {
		want = append(want, op.method+" "+op.path)
	}
	srv := arisim.New(arisim.Config{User: "u", Password: "p"})
	defer srv.Close()
	got := srv.RoutePatterns()
	slices.Sort(want)
	slices.Sort(got)
	for _, p := range want {
		if _, ok := slices.BinarySearch(got, p); !ok {
			t.Errorf("spec operation %s is not routed", p)
		}
	}
	for _, p := range got {
		if _, ok := slices.BinarySearch(want, p); !ok {
			t.Errorf("route %s is not in the spec", p)
		}
	}
	if len(want) < 90 {
		t.Fatalf("only %d spec operations loaded", len(want))
	}
}

// TestRouterAnswers checks what res_ari.c's router answers before any handler runs (unknown
// paths, wrong methods, OPTIONS, trailing slashes), and that a literal segment wins over a
// wildcard. It runs against a real Asterisk when CALLGW_TEST_ARI_URL is set.
func TestRouterAnswers(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	for _, tc := range []struct {
		name, method, path string
		want               int
		msg, allow         string
	}{
		{"unknown top", "GET", "/nothing", 404, "Resource not found", ""},
		{"unknown under a wildcard", "POST", "/channels/nope/nothing", 404, "Resource not found", ""},
		{"unknown under a missing bridge", "POST", "/bridges/nope/nothing", 404, "Resource not found", ""},
		{"too deep", "POST", "/channels/nope/play/pb/more", 404, "Resource not found", ""},
		{"wrong method on a collection", "PUT", "/channels", 405, "Invalid method", "OPTIONS,GET,POST"},
		{"wrong method on an operation", "GET", "/channels/nope/answer", 405, "Invalid method", "OPTIONS,POST"},
		{"literal wins over wildcard", "GET", "/channels/create", 405, "Invalid method", "OPTIONS,POST"},
		{"literal under endpoints", "GET", "/endpoints/sendMessage", 405, "Invalid method", "OPTIONS,PUT"},
		{"wrong method on an id", "PUT", "/bridges/nope", 405, "Invalid method", "OPTIONS,GET,POST,DELETE"},
		{"wrong method on events (a WebSocket, not a callback)", "POST", "/events", 405, "Invalid method", "OPTIONS"},
		{"options", "OPTIONS", "/bridges/nope", 204, "", "OPTIONS,GET,POST,DELETE"},
		{"options on variables", "OPTIONS", "/channels/nope/variable", 204, "", "OPTIONS,GET,POST"},
		{"trailing slash", "GET", "/channels/", 404, "ARI URLs do not end with a slash. Try /ari/channels", ""},
		{"trailing slash deep", "POST", "/channels/nope/answer/", 404, "ARI URLs do not end with a slash. Try /ari/channels/nope/answer", ""},
		{"handler after routing", "POST", "/channels/nope/answer", 404, "Channel not found", ""},
		{"HEAD is not GET", "HEAD", "/asterisk/info", 405, "", "OPTIONS,GET"}, // no body to a HEAD
		{"any other method", "PATCH", "/channels", 405, "Invalid method", "OPTIONS,GET,POST"},
		{"the root has no callback", "GET", "/", 405, "Invalid method", "OPTIONS"},
		{"the path ends at an empty segment", "POST", "//channels", 405, "Invalid method", "OPTIONS"},
		{"a dot is an id", "GET", "/channels/.", 404, "Channel not found", ""},
		{"two dots are an id", "POST", "/channels/../answer", 404, "Channel not found", ""},
		{"an escaped id", "GET", "/channels/%7a%7a", 404, "Channel not found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tg.url+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(tg.user, tg.pass)
			resp, err := tg.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var m map[string]string
			_ = json.Unmarshal(b, &m)
			if resp.StatusCode != tc.want || m["message"] != tc.msg {
				t.Fatalf("got %d %s, want %d %q", resp.StatusCode, b, tc.want, tc.msg)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}
