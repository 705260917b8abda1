package amqpbus

import (
	"encoding/json"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestConfineScope: a node resource command from a tenant's own AMQP user
// runs with its tenant's scope whatever its arguments claim (an "all"
// scope is dropped; no patterns: no scope, so no name); the other
// arguments and other commands are untouched.
func TestConfineScope(t *testing.T) {
	acme := &callapi.NameScope{Mailboxes: []string{"*@acme"}}
	for _, tc := range []struct {
		action callapi.Action
		args   string
		scope  *callapi.NameScope
		want   string
	}{
		{callapi.ActMailboxGet, `{"name":"1@beta","scope":{"all":true}}`, acme, `{"name":"1@beta","scope":{"mailboxes":["*@acme"]}}`},
		{callapi.ActMailboxList, `{"scope":{"all":true}}`, nil, `{}`},
		{callapi.ActMailboxList, ``, acme, `{"scope":{"mailboxes":["*@acme"]}}`},
		{callapi.ActGlobalVarSet, `{"name":"X","value":"1"}`, nil, `{"name":"X","value":"1"}`},
		{callapi.ActCallHangup, `{"reason":"normal","scope":{"all":true}}`, acme, `{"reason":"normal","scope":{"all":true}}`},
		{callapi.ActMailboxGet, `[1]`, acme, `[1]`},
	} {
		cmd := &callapi.Command{Action: tc.action, Args: json.RawMessage(tc.args)}
		confineScope(cmd, tc.scope)
		if string(cmd.Args) != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.action, tc.args, cmd.Args, tc.want)
		}
	}
}
