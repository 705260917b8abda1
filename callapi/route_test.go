package callapi

import "testing"

func TestPatterns(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Pattern("acme", "", "call", "created", ""), "acme.*.call.created.*"},
		{Pattern("", "pbx1", "call", "", ""), "*.pbx1.call.*.*"},
		{Pattern("acme", "", "call", "playback.started", "pbx1-17.4"), "acme.*.call.playback_started.pbx1-17_4"},
		{TenantPattern("acme"), "acme.#"},
		{TagPattern("acme", "sales.42"), "acme.tag.sales_42"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	e := &Event{Tenant: "acme", Node: "pbx1", Type: EvCallPlaybackStarted, CallID: "pbx1-17.4"}
	if got := EventKey(e); got != "acme.pbx1.call.playback_started.pbx1-17_4" {
		t.Errorf("the gateway's key %q no longer matches Pattern's spelling", got)
	}
}
