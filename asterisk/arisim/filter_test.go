package arisim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// putFilter sends body (raw JSON text; "" sends none) to PUT …/eventFilter and returns the status
// and the decoded answer.
func (tg *target) putFilter(t *testing.T, app, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(http.MethodPut, tg.url+"/applications/"+app+"/eventFilter", rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(tg.user, tg.pass)
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// filterTypes returns the types of an Application's events_allowed or events_disallowed.
func filterTypes(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	list, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s is not a list: %v", key, m)
	}
	out := []string{}
	for _, e := range list {
		out = append(out, e.(map[string]any)["type"].(string))
	}
	return out
}

// TestEventFilterRules: the body rules of PUT /applications/{app}/eventFilter (applications.json's
// notes; res/stasis/app.c stasis_app_event_filter_set). Each case starts from allowed [A] and
// disallowed [D].
func TestEventFilterRules(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	tg.listen(t, tg.app, false)
	const start = `{"allowed":[{"type":"A"}],"disallowed":[{"type":"D"}]}`
	for _, tc := range []struct {
		name                string
		body                string
		status              int
		allowed, disallowed []string
	}{
		{"no body resets both", "", 200, nil, nil},
		{"empty object resets both", `{}`, 200, nil, nil},
		{"both given", `{"allowed":[{"type":"X"},{"type":"Y"}],"disallowed":[{"type":"Z"}]}`, 200, []string{"X", "Y"}, []string{"Z"}},
		{"only allowed: disallowed kept", `{"allowed":[{"type":"X"}]}`, 200, []string{"X"}, []string{"D"}},
		{"only disallowed: allowed kept", `{"disallowed":[{"type":"X"}]}`, 200, []string{"A"}, []string{"X"}},
		{"empty list empties that list", `{"allowed":[]}`, 200, nil, []string{"D"}},
		{"other keys only: nothing changes", `{"other":1}`, 200, []string{"A"}, []string{"D"}},
		{"extra keys in an entry kept", `{"allowed":[{"type":"X","note":"n"}]}`, 200, []string{"X"}, []string{"D"}},
		{"a bare array sets both", `[{"type":"X"}]`, 200, []string{"X"}, []string{"X"}},
		{"allowed not a list", `{"allowed":{"type":"X"}}`, 400, []string{"A"}, []string{"D"}},
		{"allowed null", `{"allowed":null}`, 400, []string{"A"}, []string{"D"}},
		{"entry without type", `{"disallowed":[{"name":"X"}]}`, 400, []string{"A"}, []string{"D"}},
		{"empty type", `{"allowed":[{"type":""}]}`, 400, []string{"A"}, []string{"D"}},
		{"type not a string", `{"allowed":[{"type":1}]}`, 400, []string{"A"}, []string{"D"}},
		{"entry not an object", `{"allowed":["X"]}`, 400, []string{"A"}, []string{"D"}},
		// Disallowed is set before allowed is checked (stasis_app_event_filter_set).
		{"bad allowed after good disallowed", `{"allowed":"X","disallowed":[{"type":"Z"}]}`, 400, []string{"A"}, []string{"Z"}},
		{"bad disallowed: allowed untouched", `{"allowed":[{"type":"X"}],"disallowed":"Z"}`, 400, []string{"A"}, []string{"D"}},
		{"unparsable body", `{"allowed":`, 400, []string{"A"}, []string{"D"}},
		{"a bare scalar", `"X"`, 400, []string{"A"}, []string{"D"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := tg.putFilter(t, tg.app, start); st != 200 {
				t.Fatalf("setting the start filter: %d", st)
			}
			st, m := tg.putFilter(t, tg.app, tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, m)
			}
			if st == 200 && m["name"] != tg.app {
				t.Fatalf("answer is not the Application: %v", m)
			}
			got := tg.mustDo(t, 200, "GET", "/applications/"+tg.app, nil, nil)
			if a := filterTypes(t, got, "events_allowed"); !reflect.DeepEqual(a, orEmpty(tc.allowed)) {
				t.Errorf("events_allowed %v, want %v", a, tc.allowed)
			}
			if d := filterTypes(t, got, "events_disallowed"); !reflect.DeepEqual(d, orEmpty(tc.disallowed)) {
				t.Errorf("events_disallowed %v, want %v", d, tc.disallowed)
			}
			if st == 200 && !reflect.DeepEqual(m["events_allowed"], got["events_allowed"]) {
				t.Errorf("PUT answered %v, GET %v", m["events_allowed"], got["events_allowed"])
			}
		})
	}
	if st, _ := tg.putFilter(t, "nobody-"+tg.app, `{}`); st != 404 {
		t.Fatalf("unknown app: %d, want 404", st)
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestEventFilterDelivery: which events reach the app's WebSocket under a filter (case-sensitive
// types, disallowed over allowed, an empty allowed list allows all).
func TestEventFilterDelivery(t *testing.T) {
	for _, tc := range []struct {
		name         string
		filter       string
		play, varset bool // PlaybackStarted, ChannelVarset delivered
	}{
		{"no filter", `{}`, true, true},
		{"allowed list", `{"allowed":[{"type":"PlaybackStarted"}]}`, true, false},
		{"case-sensitive", `{"allowed":[{"type":"playbackstarted"},{"type":"channelvarset"}]}`, false, false},
		{"disallowed only", `{"disallowed":[{"type":"ChannelVarset"}]}`, true, false},
		{"disallowed wins", `{"allowed":[{"type":"PlaybackStarted"},{"type":"ChannelVarset"}],"disallowed":[{"type":"ChannelVarset"}]}`, true, false},
		{"empty allowed allows all", `{"allowed":[]}`, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, arisim.Config{})
			ev := tg.listen(t, tg.app, false)
			// An unfiltered app subscribed to all tells when the events were sent.
			watch := tg.listen(t, tg.app+"all", true)
			id := tg.originate(t, ev, tg.app, "answer")
			t.Cleanup(func() { tg.do(t, "DELETE", "/channels/"+id, nil, nil) })
			if st, m := tg.putFilter(t, tg.app, tc.filter); st != 200 {
				t.Fatalf("filter: %d %v", st, m)
			}
			tg.mustDo(t, 201, "POST", "/channels/"+id+"/play", url.Values{"media": {"sound:beep"}}, nil)
			tg.mustDo(t, 204, "POST", "/channels/"+id+"/variable", url.Values{"variable": {"FOO"}, "value": {"bar"}}, nil)
			watch.wait(t, "ChannelVarset", func(m map[string]any) bool { return chanID(m) == id && m["variable"] == "FOO" }, 2*time.Second)
			time.Sleep(100 * time.Millisecond)
			foo := func(m map[string]any) bool { return m["variable"] == "FOO" }
			if got := ev.index("PlaybackStarted", nil) >= 0; got != tc.play {
				t.Errorf("PlaybackStarted delivered: %v, want %v (got %s)", got, tc.play, ev.types())
			}
			if got := ev.index("ChannelVarset", foo) >= 0; got != tc.varset {
				t.Errorf("ChannelVarset delivered: %v, want %v (got %s)", got, tc.varset, ev.types())
			}
		})
	}
}

// TestEventFilterLifecycle: the filter is the app's: a connection that replaces another inherits
// it, ApplicationReplaced is filtered like any event of the app, and the filter goes with the app
// once nothing holds it.
func TestEventFilterLifecycle(t *testing.T) {
	tg := newSim(t, arisim.Config{})
	first := tg.listen(t, tg.app, false)
	if st, _ := tg.putFilter(t, tg.app, `{"allowed":[{"type":"StasisStart"}]}`); st != 200 {
		t.Fatal(st)
	}
	second := tg.listen(t, tg.app, false)
	first.none(t, "ApplicationReplaced", 200*time.Millisecond)
	if a := filterTypes(t, tg.mustDo(t, 200, "GET", "/applications/"+tg.app, nil, nil), "events_allowed"); !reflect.DeepEqual(a, []string{"StasisStart"}) {
		t.Fatalf("replacing connection: events_allowed %v", a)
	}
	if st, _ := tg.putFilter(t, tg.app, `{"allowed":[{"type":"StasisStart"},{"type":"ApplicationReplaced"}]}`); st != 200 {
		t.Fatal(st)
	}
	tg.listen(t, tg.app, false)
	second.wait(t, "ApplicationReplaced", nil, 2*time.Second)

	// Nothing holds the app once its WebSocket is gone: a new connection starts unfiltered.
	tg.sim.DropWebSockets()
	tg.listen(t, tg.app, false)
	got := tg.mustDo(t, 200, "GET", "/applications/"+tg.app, nil, nil)
	if a := filterTypes(t, got, "events_allowed"); len(a) != 0 {
		t.Fatalf("filter survived the app: %v", a)
	}
}
