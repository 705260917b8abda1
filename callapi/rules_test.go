package callapi

import (
	"testing"
)

// TestDefaultRulesStrict: without an operator allow-list no http(s) media
// and no dialplan function passes.
func TestDefaultRulesStrict(t *testing.T) {
	var r *InputRules
	if err := r.CheckMediaURI("https://media.example.com/x.wav"); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("http media by default: %v", err)
	}
	if err := r.CheckVariableName("name", "CALLERID(name)", true); ErrorCode(err) != CodeInvalidArgument {
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
		if r.CheckVariableName("name", s, true) == nil && (hasControl(s) || isReservedVariable(s)) {
			t.Errorf("variable %q accepted", s)
		}
		if checkDialplanWord("context", s) == nil && (hasControl(s) || len(s) > 80) {
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
