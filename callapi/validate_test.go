package callapi

import (
	"encoding/json"
	"testing"
)

// TestCheckReceived: CheckReceived refuses what the Executor refuses before
// it looks at the PBX (unknown action, missing id, arguments that fail the
// type's Validate or the rules) and accepts what it runs.
func TestCheckReceived(t *testing.T) {
	var r *InputRules
	for _, tc := range []struct {
		cmd Command
		ok  bool
	}{
		{Command{Action: ActCallOriginate, CallID: "c1", Args: json.RawMessage(`{"to":"PJSIP/a"}`)}, true},
		{Command{Action: ActCallOriginate, CallID: "c1", Args: json.RawMessage(`{"to":""}`)}, false},
		{Command{Action: ActCallOriginate, Args: json.RawMessage(`{"to":"PJSIP/a"}`)}, false},
		{Command{Action: ActCallOriginate, CallID: "c1", Args: json.RawMessage(`{"to":"PJSIP/a","bogus":1}`)}, false},
		{Command{Action: ActCallPlay, CallID: "c1", Args: json.RawMessage(`{"media":["sound:../x"]}`)}, false},
		{Command{Action: ActCallHangup, CallID: "c1", Args: json.RawMessage(`{"reason":"because"}`)}, false},
		{Command{Action: ActCallHangup, CallID: "c1"}, true},
		{Command{Action: "call.bogus"}, false},
	} {
		_, _, err := CheckReceived(r, &tc.cmd)
		if (err == nil) != tc.ok || (err != nil && ErrorCode(err) != CodeInvalidArgument) {
			t.Errorf("%s %s: %v", tc.cmd.Action, tc.cmd.Args, err)
		}
	}
}

// TestOneMediaSchemeList: PlayArgs.Validate (mediaRe) and CheckMediaURI
// know the same schemes, and both refuse an unknown one with one message.
func TestOneMediaSchemeList(t *testing.T) {
	r := &InputRules{MediaHosts: []string{"media.example.com"}}
	for _, m := range mediaSchemes {
		uri := m.name + ":x"
		if m.name == "http" || m.name == "https" {
			uri = m.name + "://media.example.com/x"
		} else if m.name == "number" || m.name == "digits" {
			uri = m.name + ":1"
		}
		if !mediaRe.MatchString(uri) {
			t.Errorf("mediaRe refuses %q", uri)
		}
		if err := r.CheckMediaURI(uri); err != nil {
			t.Errorf("CheckMediaURI(%q): %v", uri, err)
		}
	}
	a := PlayArgs{Media: []string{"ftp:x"}}
	shape, rule := a.Validate(), r.CheckMediaURI("ftp:x")
	if shape == nil || rule == nil || shape.Error() != rule.Error() {
		t.Errorf("unknown scheme: %v / %v", shape, rule)
	}
}
