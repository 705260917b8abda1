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

func TestKeyTenant(t *testing.T) {
	if got := TenantCommandKey("pbx1", "acme", ActCallVarSet); got != "cmd.pbx1.tenant.acme.call.variable.set" {
		t.Errorf("TenantCommandKey = %q", got)
	}
	for _, tc := range []struct {
		key, tenant string
		ok          bool
	}{
		{"cmd.pbx1.tenant.acme.call.hangup", "acme", true},
		{"cmd.all.tenant.beta.call.list", "beta", true},
		{"cmd.any.tenant.acme.batch", "acme", true},
		{"cmd.pbx1.call.hangup", "", false},
		{"cmd.pbx1.tenant", "", false},
		{"callapi.node.pbx1", "", false},
	} {
		got, ok := KeyTenant(tc.key)
		if got != tc.tenant || ok != tc.ok {
			t.Errorf("KeyTenant(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.tenant, tc.ok)
		}
	}
}
