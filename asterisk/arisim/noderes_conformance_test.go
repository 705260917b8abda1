package arisim_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestNodeResourcesConformance: mailboxes (PUT, GET, list, DELETE, and
// counts that are not numbers read as 0, as res_ari_mailboxes.c's atoi
// does), global variables (GET and POST, a missing name, an unset
// variable) and endpoints (list, get, an unknown technology or resource)
// answer as Asterisk 22 does. On the simulator and, with
// CALLGW_TEST_ARI_URL, on Asterisk 22.
func TestNodeResourcesConformance(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	message := func(b []byte) string {
		var m struct{ Message string }
		_ = json.Unmarshal(b, &m)
		return m.Message
	}
	t.Run("mailboxes", func(t *testing.T) {
		box := uniq("mbox")
		path := "/mailboxes/" + url.PathEscape(box)
		t.Cleanup(func() { tg.do(t, "DELETE", path, nil, nil) })
		count := func(old, nw float64) {
			t.Helper()
			m := tg.mustDo(t, 200, "GET", path, nil, nil)
			if m["name"] != box || m["old_messages"] != old || m["new_messages"] != nw {
				t.Errorf("GET mailbox %v, want %v old, %v new", m, old, nw)
			}
		}
		tg.mustDo(t, 204, "PUT", path, url.Values{"oldMessages": {"2"}, "newMessages": {"3"}}, nil)
		count(2, 3)
		st, b := tg.do(t, "GET", "/mailboxes", nil, nil)
		var list []map[string]any
		if err := json.Unmarshal(b, &list); st != 200 || err != nil {
			t.Fatalf("GET /mailboxes: %d %s", st, b)
		}
		found := false
		for _, m := range list {
			found = found || m["name"] == box
		}
		if !found {
			t.Errorf("GET /mailboxes lacks %s: %s", box, b)
		}
		tg.mustDo(t, 204, "PUT", path, url.Values{"oldMessages": {"x"}, "newMessages": {"3"}}, nil)
		count(0, 3)
		tg.mustDo(t, 204, "PUT", path, nil, nil)
		count(0, 0)
		tg.mustDo(t, 204, "DELETE", path, nil, nil)
		if st, b := tg.do(t, "GET", path, nil, nil); st != 404 || message(b) != "Mailbox is does not exist" {
			t.Errorf("GET a deleted mailbox: %d %s", st, b)
		}
		if st, b := tg.do(t, "DELETE", path, nil, nil); st != 404 || message(b) != "Mailbox does not exist" {
			t.Errorf("DELETE a deleted mailbox: %d %s", st, b)
		}
	})
	t.Run("global variables", func(t *testing.T) {
		name := "CALLGW_G_" + uniq("v")
		for _, tc := range []struct {
			method string
			q      url.Values
		}{{"GET", nil}, {"POST", url.Values{"value": {"x"}}}} {
			if st, b := tg.do(t, tc.method, "/asterisk/variable", tc.q, nil); st != 400 || message(b) != "Variable name is required" {
				t.Errorf("%s without a name: %d %s", tc.method, st, b)
			}
		}
		get := func(want string) {
			t.Helper()
			if m := tg.mustDo(t, 200, "GET", "/asterisk/variable", url.Values{"variable": {name}}, nil); m["value"] != want {
				t.Errorf("GET %s: %v, want %q", name, m, want)
			}
		}
		get("")
		tg.mustDo(t, 204, "POST", "/asterisk/variable", url.Values{"variable": {name}, "value": {"abc"}}, nil)
		get("abc")
		tg.mustDo(t, 204, "POST", "/asterisk/variable", url.Values{"variable": {name}}, nil)
		get("")
	})
	t.Run("endpoints", func(t *testing.T) {
		if tg.sim != nil {
			tg.sim.AddEndpoint("alice", arisim.Endpoint{})
		}
		st, b := tg.do(t, "GET", "/endpoints", nil, nil)
		var list []map[string]any
		if err := json.Unmarshal(b, &list); st != 200 || err != nil {
			t.Fatalf("GET /endpoints: %d %s", st, b)
		}
		var ep map[string]any
		for _, e := range list {
			if e["technology"] == "PJSIP" {
				ep = e
				break
			}
		}
		if ep == nil {
			t.Fatalf("no PJSIP endpoint in %s", b)
		}
		res, _ := ep["resource"].(string)
		got := tg.mustDo(t, 200, "GET", "/endpoints/PJSIP/"+url.PathEscape(res), nil, nil)
		if got["technology"] != "PJSIP" || got["resource"] != res || got["state"] == nil || got["channel_ids"] == nil {
			t.Errorf("GET endpoint %v (listed as %v)", got, ep)
		}
		if st, b := tg.do(t, "GET", "/endpoints/PJSIP/"+uniq("nobody"), nil, nil); st != 404 || message(b) != "Endpoint not found" {
			t.Errorf("an unknown endpoint: %d %s", st, b)
		}
		if st, b := tg.do(t, "GET", "/endpoints/NOTECH", nil, nil); st != 404 || message(b) != "No Endpoints found - invalid tech NOTECH" {
			t.Errorf("an unknown technology: %d %s", st, b)
		}
	})
}
