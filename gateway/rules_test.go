package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// ctlPBX adds the call-control methods the rules guard to fakePBX and
// records whether any of them ran. The other CallControl methods are never
// reached by these tests (the embedded nil interface would panic).
type ctlPBX struct {
	*fakePBX
	CallControl
	ran []string
}

func (p *ctlPBX) Play(_ context.Context, _ string, _ CallID, a PlayArgs) (*Playback, error) {
	p.ran = append(p.ran, "play")
	return &Playback{ID: a.PlaybackID}, nil
}

func (p *ctlPBX) SetVariable(_ context.Context, _ string, _ CallID, name, _ string) error {
	p.ran = append(p.ran, "set "+name)
	return nil
}

func (p *ctlPBX) Variable(_ context.Context, _ string, _ CallID, name string) (string, error) {
	p.ran = append(p.ran, "get "+name)
	return "v", nil
}

func (p *ctlPBX) Originate(ctx context.Context, tenant string, id CallID, a OriginateArgs) (*Call, error) {
	p.ran = append(p.ran, "originate")
	return p.fakePBX.Originate(ctx, tenant, id, a)
}

// TestExecutorInputRules: the worker's executor, which any AMQP client
// reaches, refuses each bad media URI, variable name, variable value,
// dialplan place and caller id before the PBX sees it; the good ones pass.
// Issue 12, findings 2-4.
func TestExecutorInputRules(t *testing.T) {
	rules := &InputRules{MediaHosts: []string{"media.example.com", "cdn.example.com:8443"}, VariableFunctions: []string{"CALLERID", "pjsip_header"}}
	for _, tc := range []struct {
		name   string
		action Action
		args   string
		ok     bool
	}{
		// Media URIs.
		{"sound relative", ActCallPlay, `{"media":["sound:hello-world","sound:en/digits/1"]}`, true},
		{"sound absolute", ActCallPlay, `{"media":["sound:/var/spool/asterisk/recording/globex.secret"]}`, false},
		{"sound climbing", ActCallPlay, `{"media":["sound:../../../../etc/passwd"]}`, false},
		{"sound hidden climb", ActCallPlay, `{"media":["sound:en/../../x"]}`, false},
		{"sound dot start", ActCallPlay, `{"media":["sound:.hidden"]}`, false},
		{"recording relative", ActCallPlay, `{"media":["recording:r1"]}`, true},
		{"recording climbing", ActCallPlay, `{"media":["recording:../x"]}`, false},
		{"recording absolute", ActCallPlay, `{"media":["recording:/etc/passwd"]}`, false},
		{"http metadata", ActCallPlay, `{"media":["http://169.254.169.254/latest/meta-data/"]}`, false},
		{"https metadata", ActCallPlay, `{"media":["https://169.254.169.254/x"]}`, false},
		{"http allowed host", ActCallPlay, `{"media":["https://media.example.com/prompt.wav"]}`, true},
		{"http allowed host other port", ActCallPlay, `{"media":["https://media.example.com:9999/p.wav"]}`, true},
		{"http host:port only that port", ActCallPlay, `{"media":["https://cdn.example.com/p.wav"]}`, false},
		{"http host:port", ActCallPlay, `{"media":["https://cdn.example.com:8443/p.wav"]}`, true},
		{"http userinfo trick", ActCallPlay, `{"media":["http://media.example.com@169.254.169.254/"]}`, false},
		{"http backslash trick", ActCallPlay, `{"media":["http://169.254.169.254\\media.example.com/"]}`, false},
		{"bridge play checked too", ActBridgePlay, `{"media":["sound:/etc/passwd"]}`, false},
		{"tone", ActCallPlay, `{"media":["tone:ring;tonezone=us","digits:12#","number:42","characters:abc"]}`, true},
		{"digits bad", ActCallPlay, `{"media":["digits:1/../x"]}`, false},
		// Variable names and values.
		{"plain variable", ActCallVarSet, `{"name":"FOO_1","value":"x"}`, true},
		{"inherited variable", ActCallVarSet, `{"name":"__FOO","value":"x"}`, true},
		{"reserved", ActCallVarSet, `{"name":"CALLGW_TENANT","value":"globex"}`, false},
		{"reserved lower", ActCallVarSet, `{"name":"callgw_tenant","value":"globex"}`, false},
		{"reserved inherited", ActCallVarSet, `{"name":"_CALLGW_TENANT","value":"globex"}`, false},
		{"reserved inherited twice", ActCallVarSet, `{"name":"__CALLGW_TENANT","value":"globex"}`, false},
		{"SHELL", ActCallVarSet, `{"name":"SHELL(id)","value":"x"}`, false},
		{"SHELL read", ActCallVarGet, `{"name":"SHELL(id)"}`, false},
		{"ENV read", ActCallVarGet, `{"name":"ENV(HOME)"}`, false},
		{"GLOBAL", ActCallVarSet, `{"name":"GLOBAL(X)","value":"x"}`, false},
		{"allowed function", ActCallVarSet, `{"name":"CALLERID(name)","value":"Alice"}`, true},
		{"allowed function any case", ActCallVarSet, `{"name":"PJSIP_HEADER(add,X-Foo)","value":"1"}`, true},
		{"allowed function nested", ActCallVarSet, `{"name":"CALLERID(${SHELL(id)})","value":"1"}`, false},
		{"allowed function reserved arg", ActCallVarSet, `{"name":"CALLERID(CALLGW_TENANT)","value":"x"}`, false},
		{"reserved read is fine", ActCallVarGet, `{"name":"CALLGW_TENANT"}`, true},
		{"value CRLF", ActCallVarSet, `{"name":"FOO","value":"a\r\nVia: evil"}`, false},
		{"value NUL", ActCallVarSet, `{"name":"FOO","value":"a\u0000"}`, false},
		// Originate.
		{"originate plain", ActCallOriginate, `{"to":"PJSIP/a","from":"\"Alice\" <100>","context":"default","extension":"s","variables":{"FOO":"1","__BAR":"2"}}`, true},
		{"originate context comma", ActCallOriginate, `{"to":"PJSIP/a","context":"admin-only,1","extension":"s"}`, false},
		{"originate extension newline", ActCallOriginate, `{"to":"PJSIP/a","context":"default","extension":"s\n"}`, false},
		{"originate from CRLF", ActCallOriginate, `{"to":"PJSIP/a","from":"Alice\r\nX-Evil: 1"}`, false},
		{"originate to control", ActCallOriginate, `{"to":"PJSIP/a\u0001"}`, false},
		{"originate reserved variable", ActCallOriginate, `{"to":"PJSIP/a","variables":{"CALLGW_TENANT":"globex"}}`, false},
		{"originate inherited reserved", ActCallOriginate, `{"to":"PJSIP/a","variables":{"__CALLGW_TENANT":"globex"}}`, false},
		{"originate SHELL", ActCallOriginate, `{"to":"PJSIP/a","variables":{"SHELL(id)":"x"}}`, false},
		{"originate value CRLF", ActCallOriginate, `{"to":"PJSIP/a","variables":{"FOO":"a\nb"}}`, false},
		// Redirect endpoints carry no control characters either.
		{"redirect control", ActCallRedirect, `{"endpoint":"PJSIP/b\u0000"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := &ctlPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}
			x := &Executor{Node: "pbx1", PBX: pbx, Rules: rules}
			args := tc.args
			if tc.action == ActCallPlay {
				// Every playback is named (by the gateway): the rules are
				// what these cases are about.
				args = `{"playback_id":"pb1",` + strings.TrimPrefix(args, "{")
			}
			rep := x.Handle(context.Background(), &Command{ID: "c", Action: tc.action, Tenant: "acme", CallID: "call1", Args: json.RawMessage(args)})
			if tc.ok {
				if !rep.OK || len(pbx.ran) != 1 {
					t.Fatalf("refused: %+v (ran %v)", rep.Error, pbx.ran)
				}
				return
			}
			if rep.OK || rep.Error.Code != EInvalid {
				t.Fatalf("reply %+v %+v, want invalid_argument", rep, rep.Error)
			}
			if len(pbx.ran) != 0 {
				t.Fatalf("the PBX ran %v", pbx.ran)
			}
		})
	}
}

// TestDefaultRulesStrict: without an operator allow-list no http(s) media
// and no dialplan function passes.
func TestDefaultRulesStrict(t *testing.T) {
	var r *InputRules
	if err := r.CheckMediaURI("https://media.example.com/x.wav"); ErrorCode(err) != EInvalid {
		t.Errorf("http media by default: %v", err)
	}
	if err := r.CheckVariableName("name", "CALLERID(name)", true); ErrorCode(err) != EInvalid {
		t.Errorf("function by default: %v", err)
	}
	if err := (&InputRules{}).CheckVariableName("name", "FOO", true); err != nil {
		t.Errorf("plain name: %v", err)
	}
}

// FuzzInputRules: the rules never panic, and what they accept holds no
// control character, no "..", and no reserved variable name.
func FuzzInputRules(f *testing.F) {
	for _, s := range []string{"sound:hello-world", "sound:../x", "recording:r1", "https://media.example.com/a", "http://a@b/", "tone:ring;tonezone=us",
		"__CALLGW_TENANT", "SHELL(id)", "CALLERID(name)", "FOO", "admin-only,1", "s\n"} {
		f.Add(s)
	}
	r := &InputRules{MediaHosts: []string{"media.example.com"}, VariableFunctions: []string{"CALLERID"}}
	f.Fuzz(func(t *testing.T, s string) {
		if r.CheckMediaURI(s) == nil && (hasControl(s) || containsDotDotPath(s)) {
			t.Errorf("media %q accepted", s)
		}
		if r.CheckVariableName("name", s, true) == nil && (hasControl(s) || IsReservedVariable(s)) {
			t.Errorf("variable %q accepted", s)
		}
		if CheckDialplanWord("context", s) == nil && (hasControl(s) || len(s) > 80) {
			t.Errorf("context %q accepted", s)
		}
	})
}

func containsDotDotPath(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' && (len(s) < 4 || s[:4] != "http") {
			return true
		}
	}
	return false
}

// FuzzExecutorArgs: whatever arguments a command carries (any AMQP client
// can publish one), the executor answers with a reply, never panics, and
// the PBX only sees arguments that pass the input rules.
func FuzzExecutorArgs(f *testing.F) {
	actions := []Action{ActCallOriginate, ActCallPlay, ActCallVarSet, ActCallVarGet, ActCallHangup, ActCallList}
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
	rules := &InputRules{VariableFunctions: []string{"CALLERID"}}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		pbx := &ctlPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{"call1": {ID: "call1", Tenant: "acme"}}}}
		x := &Executor{Node: "pbx1", PBX: pbx, Rules: rules}
		cmd := &Command{ID: "c", Action: actions[int(which)%len(actions)], Tenant: "acme", CallID: "call1", Args: args}
		rep := x.Handle(context.Background(), cmd)
		if rep == nil || rep.ID != "c" {
			t.Fatalf("reply %+v", rep)
		}
		if len(pbx.ran) > 0 && checkErr(CheckReceived(rules, &Command{Action: cmd.Action, CallID: cmd.CallID, Args: args})) != nil {
			t.Fatalf("%s ran with %q, which the rules refuse", cmd.Action, args)
		}
	})
}

// TestSIPURIRe: what chan_pjsip's redirect can put in a Contact.
func TestSIPURIRe(t *testing.T) {
	for in, want := range map[string]bool{
		"sip:bob@pbx.example.com":          true,
		"sips:bob@pbx.example.com:5061":    true,
		"<sip:bob@10.0.0.1;transport=tcp>": true,
		`"Bob" <sip:bob@10.0.0.1>`:         true,
		"tel:+4930123456":                  true,
		"SIP:bob@x":                        true,
		"bob":                              false,
		"bob@pbx.example.com":              false,
		"http://example.com":               false,
		"sip:":                             false,
		"sip:bob@x sip:eve@y":              false,
	} {
		if got := sipURIRe.MatchString(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// checkErr is CheckReceived's error alone.
func checkErr(_ *Spec, _ Validator, err error) error { return err }
