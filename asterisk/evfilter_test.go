package asterisk

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestEventFilter: after connect the worker sets the app's event filter, so
// the variables it sets no longer come back as ChannelVarset frames (the
// intake's counters stay flat across them) while the call's events still
// arrive. An Asterisk without event filters (404) costs only the frames:
// the intake drops them as before. Each reconnect sets the filter again.
func TestEventFilter(t *testing.T) {
	const sets = 50
	for _, tc := range []struct {
		name     string
		filterOK bool
	}{
		{"filter set", true},
		{"Asterisk without event filters", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ts := newSim(t)
			if !tc.filterOK {
				srv.FailRequests(http.MethodPut, "/applications/callgw/eventFilter", http.StatusNotFound, 1)
			}
			p, sink, _ := startPBX(t, ts, nil)
			ctx := ctxT(t, 10*time.Second)

			allowed := appFilter(t, ts.URL+"/ari/applications/callgw")
			if want := len(relevant) + 1; tc.filterOK && len(allowed) != want || !tc.filterOK && len(allowed) != 0 {
				t.Fatalf("events_allowed has %d types: %v", len(allowed), allowed)
			}

			id := newID()
			if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "Local/answer@callgw-test"}); err != nil {
				t.Fatal(err)
			}
			sink.waitFor(t, id, callapi.EvCallAnswered)
			s0 := p.Stats()
			for range sets {
				if err := p.SetVariable(ctx, "acme", id, "FOO", "bar"); err != nil {
					t.Fatal(err)
				}
			}
			// The playback's events come after the sets' on the WebSocket.
			if _, err := p.Play(ctx, "acme", id, callapi.PlayArgs{Media: []string{"sound:beep"}, PlaybackID: "pb-" + string(id)}); err != nil {
				t.Fatal(err)
			}
			sink.waitFor(t, id, callapi.EvCallPlaybackFinished)
			s1 := p.Stats()
			in, skipped := s1.EventsIn-s0.EventsIn, s1.EventsSkipped-s0.EventsSkipped
			if tc.filterOK && (skipped != 0 || in >= sets) {
				t.Errorf("with the filter, %d sets brought %d frames, %d skipped", sets, in, skipped)
			}
			if !tc.filterOK && skipped < sets {
				t.Errorf("without the filter, %d sets brought %d frames, only %d skipped", sets, in, skipped)
			}

			if err := p.Hangup(ctx, "acme", id, ""); err != nil {
				t.Fatal(err)
			}
			sink.waitFor(t, id, callapi.EvCallHangup)
			waitNoChannels(t, srv)

			// Every connect sets the filter again (the refused one too).
			srv.DropWebSockets()
			for deadline := time.Now().Add(5 * time.Second); len(appFilter(t, ts.URL+"/ari/applications/callgw")) != len(relevant)+1; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("filter not set after the reconnect")
				}
			}
		})
	}
}

// appFilter reads the events_allowed types of an app from ARI.
func appFilter(t *testing.T, u string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var app struct {
		EventsAllowed []ariEventType `json:"events_allowed"`
	}
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out := make([]string, 0, len(app.EventsAllowed))
	for _, e := range app.EventsAllowed {
		out = append(out, e.Type)
	}
	return out
}
