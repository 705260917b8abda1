package webhook

import (
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestMatch: a subscription takes the events of its tenant (and node
// events, which belong to none) through the same filters as the event
// streams: types and prefixes, node, tag, call id, all at once.
func TestMatch(t *testing.T) {
	hangup := callapi.Event{Type: callapi.EvCallHangup, Tenant: "acme", Node: "pbx1", CallID: "c1", Tags: []string{"vip"}}
	nodeUp := callapi.Event{Type: callapi.EvNodeUp, Node: "pbx2"}
	for _, c := range []struct {
		name string
		sub  callapi.Webhook
		ev   callapi.Event
		want bool
	}{
		{"no filter", callapi.Webhook{Tenant: "acme"}, hangup, true},
		{"another tenant's event", callapi.Webhook{Tenant: "globex"}, hangup, false},
		{"node events reach every tenant", callapi.Webhook{Tenant: "globex"}, nodeUp, true},
		{"exact type", callapi.Webhook{Tenant: "acme", Types: []string{"call.hangup"}}, hangup, true},
		{"other type", callapi.Webhook{Tenant: "acme", Types: []string{"call.answered"}}, hangup, false},
		{"prefix", callapi.Webhook{Tenant: "acme", Types: []string{"call."}}, hangup, true},
		{"prefix with star", callapi.Webhook{Tenant: "acme", Types: []string{"call.*"}}, hangup, true},
		{"prefix of another resource", callapi.Webhook{Tenant: "acme", Types: []string{"bridge."}}, hangup, false},
		{"node", callapi.Webhook{Tenant: "acme", Node: "pbx1"}, hangup, true},
		{"other node", callapi.Webhook{Tenant: "acme", Node: "pbx9"}, hangup, false},
		{"tag", callapi.Webhook{Tenant: "acme", Tag: "vip"}, hangup, true},
		{"other tag", callapi.Webhook{Tenant: "acme", Tag: "sales"}, hangup, false},
		{"call", callapi.Webhook{Tenant: "acme", CallID: "c1"}, hangup, true},
		{"other call", callapi.Webhook{Tenant: "acme", CallID: "c2"}, hangup, false},
		{"all filters", callapi.Webhook{Tenant: "acme", Types: []string{"call."}, Node: "pbx1", Tag: "vip", CallID: "c1"}, hangup, true},
		{"all but one", callapi.Webhook{Tenant: "acme", Types: []string{"call."}, Node: "pbx1", Tag: "vip", CallID: "c2"}, hangup, false},
		{"node event, type filter", callapi.Webhook{Tenant: "acme", Types: []string{"call."}}, nodeUp, false},
	} {
		s := &Subscription{Webhook: c.sub}
		if got := s.Match(&c.ev); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
