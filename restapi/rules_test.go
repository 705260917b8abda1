package restapi

import (
	"context"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestInputRulesEarly400: the REST layer runs the gateway's input rules
// before publishing, so each bad media URI, variable name or value,
// dialplan place and caller id is a 400 that never reaches the bus (the
// worker checks again: worker.TestExecutorInputRules). Issue 12,
// findings 2-4.
func TestInputRulesEarly400(t *testing.T) {
	var sent []string
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			return []*callapi.Reply{callapi.OKReply(cmd.ID, expect[0], callapi.LocateResult{Node: expect[0]})}, nil
		},
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			sent = append(sent, string(cmd.Action))
			switch cmd.Action {
			case callapi.ActCallOriginate:
				return callapi.OKReply(cmd.ID, "pbx1", &callapi.Call{ID: cmd.CallID, Node: "pbx1", Tenant: cmd.Tenant}), nil
			case callapi.ActCallPlay:
				return callapi.OKReply(cmd.ID, "pbx1", &callapi.Playback{ID: "p", Node: "pbx1"}), nil
			}
			return callapi.OKReply(cmd.ID, "pbx1", nil), nil
		},
		SendFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) error {
			sent = append(sent, string(cmd.Action))
			return nil
		},
	}
	h := serviceServer(t, bus, Config{}).Handler()
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"play sound", "POST", "/v1/calls/c1/play", `{"media":["sound:hello-world"]}`, 201},
		{"play absolute sound", "POST", "/v1/calls/c1/play", `{"media":["sound:/var/spool/asterisk/recording/globex.x"]}`, 400},
		{"play climbing sound", "POST", "/v1/calls/c1/play", `{"media":["sound:../../../../etc/passwd"]}`, 400},
		{"play climbing recording", "POST", "/v1/calls/c1/play", `{"media":["recording:../x"]}`, 400},
		{"play metadata URL", "POST", "/v1/calls/c1/play", `{"media":["http://169.254.169.254/latest/meta-data/"]}`, 400},
		{"bridge play absolute", "POST", "/v1/bridges/b1/play", `{"media":["sound:/etc/passwd"]}`, 400},
		{"set variable", "PUT", "/v1/calls/c1/variables/FOO", `{"value":"1"}`, 204},
		{"set reserved inherited", "PUT", "/v1/calls/c1/variables/__CALLGW_TENANT", `{"value":"globex"}`, 400},
		{"set SHELL", "PUT", "/v1/calls/c1/variables/SHELL(id)", `{"value":"1"}`, 400},
		{"get ENV", "GET", "/v1/calls/c1/variables/ENV(HOME)", ``, 400},
		{"set GLOBAL", "PUT", "/v1/calls/c1/variables/GLOBAL(X)", `{"value":"1"}`, 400},
		{"set value CRLF", "PUT", "/v1/calls/c1/variables/FOO", `{"value":"a\r\nb"}`, 400},
		{"originate", "POST", "/v1/calls", `{"to":"PJSIP/a","context":"default","extension":"s","variables":{"FOO":"1"}}`, 201},
		{"originate context comma", "POST", "/v1/calls", `{"to":"PJSIP/a","context":"admin-only,1","extension":"s"}`, 400},
		{"originate extension newline", "POST", "/v1/calls", `{"to":"PJSIP/a","context":"default","extension":"s\n"}`, 400},
		{"originate from CRLF", "POST", "/v1/calls", `{"to":"PJSIP/a","from":"a\r\nb"}`, 400},
		{"originate reserved variable", "POST", "/v1/calls", `{"to":"PJSIP/a","variables":{"__CALLGW_TENANT":"globex"}}`, 400},
		{"originate SHELL variable", "POST", "/v1/calls", `{"to":"PJSIP/a","variables":{"SHELL(id)":"1"}}`, 400},
		{"originate variable value LF", "POST", "/v1/calls", `{"to":"PJSIP/a","variables":{"FOO":"a\nb"}}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent = nil
			rec := do(t, h, tc.method, tc.path, tc.body)
			if rec.Code != tc.want {
				t.Fatalf("%d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 400 {
				if p := decodeProblem(t, rec.Body.Bytes()); p.Code != callapi.CodeInvalidArgument {
					t.Errorf("problem %+v", p)
				}
				if len(sent) != 0 {
					t.Errorf("published %s", strings.Join(sent, ", "))
				}
			}
		})
	}
}
