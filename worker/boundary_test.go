package worker

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
)

// TestSpecValidation: for every action, at the trust boundary (the
// executor, which any AMQP client reaches), valid arguments run on the PBX
// and each invalid one is refused with invalid_argument before the PBX
// sees anything; so are a missing or malformed id and unknown members.
func TestSpecValidation(t *testing.T) {
	for _, s := range callapi.Specs() {
		if s.Port == callapi.PortJournal {
			continue // the journal port: TestKeyedLookup (and TestExecutorNotImplemented without one)
		}
		t.Run(string(s.Action), func(t *testing.T) {
			run := func(cmd *callapi.Command) (*callapi.Reply, []string) {
				pbx := fakepbx.NewFull()
				x := &Executor{Node: "pbx1", PBX: pbx}
				return x.Handle(context.Background(), cmd), pbx.Ran
			}
			ok := fakepbx.ValidArgs[s.Action]
			if rep, ran := run(fakepbx.CommandFor(s, ok)); !rep.OK || len(ran) != 1 {
				t.Fatalf("valid %s: %+v %+v, ran %v", ok, rep, rep.Error, ran)
			}
			bad := append([]string{`{"colour":"red"}`, `[]`}, fakepbx.InvalidArgs[s.Action]...)
			for _, args := range bad {
				rep, ran := run(fakepbx.CommandFor(s, args))
				if rep.OK || rep.Error.Code != callapi.CodeInvalidArgument || len(ran) != 0 {
					t.Errorf("%s: reply %+v %+v, ran %v; want invalid_argument and nothing run", args, rep, rep.Error, ran)
				}
			}
			if s.ID != callapi.IDNone {
				for _, id := range []string{"", "a b", strings.Repeat("x", 129), "../x"} {
					cmd := fakepbx.CommandFor(s, ok)
					cmd.CallID, cmd.BridgeID, cmd.ResourceID = callapi.CallID(id), callapi.BridgeID(id), id
					rep, ran := run(cmd)
					if rep.OK || rep.Error.Code != callapi.CodeInvalidArgument || len(ran) != 0 {
						t.Errorf("id %q: reply %+v %+v, ran %v; want invalid_argument", id, rep, rep.Error, ran)
					}
				}
			}
		})
	}
}

// TestExecutorNotImplemented: a PBX without an optional port answers its
// actions with not_implemented, and the core actions still run.
func TestExecutorNotImplemented(t *testing.T) {
	x := &Executor{Node: "pbx1", PBX: fakepbx.NewBasic()}
	for _, s := range callapi.Specs() {
		rep := x.Handle(context.Background(), fakepbx.CommandFor(s, fakepbx.ValidArgs[s.Action]))
		switch {
		case s.Port == callapi.PortPBX && !rep.OK && rep.Error.Code == callapi.CodeNotImplemented:
			t.Errorf("%s: core action not implemented", s.Action)
		case s.Port != callapi.PortPBX && (rep.OK || rep.Error.Code != callapi.CodeNotImplemented):
			t.Errorf("%s needs %s: reply %+v %+v, want not_implemented", s.Action, s.Port, rep, rep.Error)
		}
	}
	// A command the node could not serve is still checked first, as the
	// Service checks it before publishing: a bad request is a 400 anywhere.
	rep := x.Handle(context.Background(), fakepbx.CommandFor(fakepbx.MustSpec(t, callapi.ActBridgeAdd), `{"call_id":"a/b"}`))
	if rep.OK || rep.Error.Code != callapi.CodeInvalidArgument {
		t.Errorf("invalid bridge.add on a node without bridges: %+v, want invalid_argument", rep.Error)
	}
}

// FuzzSpecBoundary: whatever arguments any action gets, the executor
// answers, and the PBX runs only arguments that decode into the action's
// argument type and pass its Spec's Validate.
func FuzzSpecBoundary(f *testing.F) {
	specs := callapi.Specs()
	for i, s := range specs {
		f.Add(uint8(i), []byte(fakepbx.ValidArgs[s.Action]))
		for _, a := range fakepbx.InvalidArgs[s.Action] {
			f.Add(uint8(i), []byte(a))
		}
	}
	f.Add(uint8(0), []byte(`null`))
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		s := specs[int(which)%len(specs)]
		pbx := fakepbx.NewFull()
		rep := (&Executor{Node: "pbx1", PBX: pbx}).Handle(context.Background(), fakepbx.CommandFor(s, string(args)))
		if rep == nil || rep.ID != "c" {
			t.Fatalf("reply %+v", rep)
		}
		if len(pbx.Ran) == 0 {
			return
		}
		v := s.NewArgs()
		if err := callapi.DecodeArgs(&callapi.Command{Args: args}, v); err != nil {
			t.Fatalf("%s ran with undecodable %q", s.Action, args)
		}
		if err := s.Validate(nil, v); err != nil {
			t.Fatalf("%s ran with %q, which Validate refuses: %v", s.Action, args, err)
		}
	})
}

// TestExecutorInputRules: the worker's executor, which any AMQP client
// reaches, refuses each bad media URI, variable name, variable value,
// dialplan place and caller id before the PBX sees it; the good ones pass.
// Issue 12, findings 2-4.
func TestExecutorInputRules(t *testing.T) {
	rules := &callapi.InputRules{MediaHosts: []string{"media.example.com", "cdn.example.com:8443"}, VariableFunctions: []string{"CALLERID", "pjsip_header"}}
	for _, tc := range []struct {
		name   string
		action callapi.Action
		args   string
		ok     bool
	}{
		// Media URIs.
		{"sound relative", callapi.ActCallPlay, `{"media":["sound:hello-world","sound:en/digits/1"]}`, true},
		{"sound absolute", callapi.ActCallPlay, `{"media":["sound:/var/spool/asterisk/recording/globex.secret"]}`, false},
		{"sound climbing", callapi.ActCallPlay, `{"media":["sound:../../../../etc/passwd"]}`, false},
		{"sound hidden climb", callapi.ActCallPlay, `{"media":["sound:en/../../x"]}`, false},
		{"sound dot start", callapi.ActCallPlay, `{"media":["sound:.hidden"]}`, false},
		{"recording relative", callapi.ActCallPlay, `{"media":["recording:r1"]}`, true},
		{"recording climbing", callapi.ActCallPlay, `{"media":["recording:../x"]}`, false},
		{"recording absolute", callapi.ActCallPlay, `{"media":["recording:/etc/passwd"]}`, false},
		{"http metadata", callapi.ActCallPlay, `{"media":["http://169.254.169.254/latest/meta-data/"]}`, false},
		{"https metadata", callapi.ActCallPlay, `{"media":["https://169.254.169.254/x"]}`, false},
		{"http allowed host", callapi.ActCallPlay, `{"media":["https://media.example.com/prompt.wav"]}`, true},
		{"http allowed host other port", callapi.ActCallPlay, `{"media":["https://media.example.com:9999/p.wav"]}`, true},
		{"http host:port only that port", callapi.ActCallPlay, `{"media":["https://cdn.example.com/p.wav"]}`, false},
		{"http host:port", callapi.ActCallPlay, `{"media":["https://cdn.example.com:8443/p.wav"]}`, true},
		{"http userinfo trick", callapi.ActCallPlay, `{"media":["http://media.example.com@169.254.169.254/"]}`, false},
		{"http backslash trick", callapi.ActCallPlay, `{"media":["http://169.254.169.254\\media.example.com/"]}`, false},
		{"bridge play checked too", callapi.ActBridgePlay, `{"media":["sound:/etc/passwd"]}`, false},
		{"tone", callapi.ActCallPlay, `{"media":["tone:ring;tonezone=us","digits:12#","number:42","characters:abc"]}`, true},
		{"digits bad", callapi.ActCallPlay, `{"media":["digits:1/../x"]}`, false},
		// Variable names and values.
		{"plain variable", callapi.ActCallVarSet, `{"name":"FOO_1","value":"x"}`, true},
		{"inherited variable", callapi.ActCallVarSet, `{"name":"__FOO","value":"x"}`, true},
		{"reserved", callapi.ActCallVarSet, `{"name":"CALLGW_TENANT","value":"globex"}`, false},
		{"reserved lower", callapi.ActCallVarSet, `{"name":"callgw_tenant","value":"globex"}`, false},
		{"reserved inherited", callapi.ActCallVarSet, `{"name":"_CALLGW_TENANT","value":"globex"}`, false},
		{"reserved inherited twice", callapi.ActCallVarSet, `{"name":"__CALLGW_TENANT","value":"globex"}`, false},
		{"SHELL", callapi.ActCallVarSet, `{"name":"SHELL(id)","value":"x"}`, false},
		{"SHELL read", callapi.ActCallVarGet, `{"name":"SHELL(id)"}`, false},
		{"ENV read", callapi.ActCallVarGet, `{"name":"ENV(HOME)"}`, false},
		{"GLOBAL", callapi.ActCallVarSet, `{"name":"GLOBAL(X)","value":"x"}`, false},
		{"allowed function", callapi.ActCallVarSet, `{"name":"CALLERID(name)","value":"Alice"}`, true},
		{"allowed function any case", callapi.ActCallVarSet, `{"name":"PJSIP_HEADER(add,X-Foo)","value":"1"}`, true},
		{"allowed function nested", callapi.ActCallVarSet, `{"name":"CALLERID(${SHELL(id)})","value":"1"}`, false},
		{"allowed function reserved arg", callapi.ActCallVarSet, `{"name":"CALLERID(CALLGW_TENANT)","value":"x"}`, false},
		{"reserved read is fine", callapi.ActCallVarGet, `{"name":"CALLGW_TENANT"}`, true},
		{"value CRLF", callapi.ActCallVarSet, `{"name":"FOO","value":"a\r\nVia: evil"}`, false},
		{"value NUL", callapi.ActCallVarSet, `{"name":"FOO","value":"a\u0000"}`, false},
		// Originate.
		{"originate plain", callapi.ActCallOriginate, `{"to":"PJSIP/a","from":"\"Alice\" <100>","context":"default","extension":"s","variables":{"FOO":"1","__BAR":"2"}}`, true},
		{"originate context comma", callapi.ActCallOriginate, `{"to":"PJSIP/a","context":"admin-only,1","extension":"s"}`, false},
		{"originate extension newline", callapi.ActCallOriginate, `{"to":"PJSIP/a","context":"default","extension":"s\n"}`, false},
		{"originate from CRLF", callapi.ActCallOriginate, `{"to":"PJSIP/a","from":"Alice\r\nX-Evil: 1"}`, false},
		{"originate to control", callapi.ActCallOriginate, `{"to":"PJSIP/a\u0001"}`, false},
		{"originate reserved variable", callapi.ActCallOriginate, `{"to":"PJSIP/a","variables":{"CALLGW_TENANT":"globex"}}`, false},
		{"originate inherited reserved", callapi.ActCallOriginate, `{"to":"PJSIP/a","variables":{"__CALLGW_TENANT":"globex"}}`, false},
		{"originate SHELL", callapi.ActCallOriginate, `{"to":"PJSIP/a","variables":{"SHELL(id)":"x"}}`, false},
		{"originate value CRLF", callapi.ActCallOriginate, `{"to":"PJSIP/a","variables":{"FOO":"a\nb"}}`, false},
		// Redirect endpoints carry no control characters either.
		{"redirect control", callapi.ActCallRedirect, `{"endpoint":"PJSIP/b\u0000"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := fakepbx.NewFull()
			x := &Executor{Node: "pbx1", PBX: pbx, Rules: rules}
			args := tc.args
			if tc.action == callapi.ActCallPlay {
				// Every playback is named (by the gateway): the rules are
				// what these cases are about.
				args = `{"playback_id":"pb1",` + strings.TrimPrefix(args, "{")
			}
			rep := x.Handle(context.Background(), &callapi.Command{ID: "c", Action: tc.action, Tenant: "acme", CallID: "call1", Args: json.RawMessage(args)})
			if tc.ok {
				if !rep.OK || len(pbx.Ran) != 1 {
					t.Fatalf("refused: %+v (ran %v)", rep.Error, pbx.Ran)
				}
				return
			}
			if rep.OK || rep.Error.Code != callapi.CodeInvalidArgument {
				t.Fatalf("reply %+v %+v, want invalid_argument", rep, rep.Error)
			}
			if len(pbx.Ran) != 0 {
				t.Fatalf("the PBX ran %v", pbx.Ran)
			}
		})
	}
}

// FuzzExecutorArgs: whatever arguments a command carries (any AMQP client
// can publish one), the executor answers with a reply, never panics, and
// the PBX only sees arguments that pass the input rules.
func FuzzExecutorArgs(f *testing.F) {
	actions := []callapi.Action{callapi.ActCallOriginate, callapi.ActCallPlay, callapi.ActCallVarSet, callapi.ActCallVarGet, callapi.ActCallHangup, callapi.ActCallList}
	for _, s := range []string{
		`{"to":"PJSIP/a","from":"\"Alice\" <100>","context":"default","extension":"s","variables":{"FOO":"1","__BAR":"2"}}`,
		`{"to":"PJSIP/a","variables":{"__CALLGW_TENANT":"globex"}}`, `{"to":"PJSIP/a","context":"admin-only,1","extension":"s"}`,
		`{"media":["sound:hello-world"]}`, `{"media":["sound:../../../../etc/passwd"]}`, `{"media":["http://169.254.169.254/"]}`,
		`{"name":"FOO","value":"x"}`, `{"name":"SHELL(id)","value":"x"}`, `{"name":"CALLERID(name)"}`, `{"reason":"busy"}`, `{"state":"up"}`,
		``, `null`, `[]`, `{"to":1}`, `{"media":null}`,
	} {
		for i := range actions {
			f.Add(uint8(i), []byte(s))
		}
	}
	rules := &callapi.InputRules{VariableFunctions: []string{"CALLERID"}}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		pbx := fakepbx.NewFull(&callapi.Call{ID: "call1", Tenant: "acme"})
		x := &Executor{Node: "pbx1", PBX: pbx, Rules: rules}
		cmd := &callapi.Command{ID: "c", Action: actions[int(which)%len(actions)], Tenant: "acme", CallID: "call1", Args: args}
		rep := x.Handle(context.Background(), cmd)
		if rep == nil || rep.ID != "c" {
			t.Fatalf("reply %+v", rep)
		}
		if len(pbx.Ran) > 0 && checkErr(callapi.CheckReceived(rules, &callapi.Command{Action: cmd.Action, CallID: cmd.CallID, Args: args})) != nil {
			t.Fatalf("%s ran with %q, which the rules refuse", cmd.Action, args)
		}
	})
}

// checkErr is CheckReceived's error alone.
func checkErr(_ *callapi.Spec, _ callapi.Validator, err error) error { return err }

// TestExecutorBridgeName: a bridge name reaches ARI and events, so the
// worker refuses one with control characters before the PBX sees it.
func TestExecutorBridgeName(t *testing.T) {
	pbx := fakepbx.NewFull()
	x := &Executor{Node: "pbx1", PBX: pbx}
	rep := x.Handle(context.Background(), &callapi.Command{ID: "c", Action: callapi.ActBridgeCreate, BridgeID: "b1", Args: json.RawMessage(`{"name":"conf\r\nX: 1"}`)})
	if rep.OK || rep.Error.Code != callapi.CodeInvalidArgument || len(pbx.Ran) != 0 {
		t.Fatalf("reply %+v, ran %v", rep.Error, pbx.Ran)
	}
	rep = x.Handle(context.Background(), &callapi.Command{ID: "c", Action: callapi.ActBridgeCreate, BridgeID: "b1", Args: json.RawMessage(`{"name":"conf 1"}`)})
	if !rep.OK {
		t.Fatalf("plain name refused: %+v", rep.Error)
	}
}
