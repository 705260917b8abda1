package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCreateBridgeRequestRules: the calls of a bridge creation (at most
// MaxBridgeCalls valid ids, none twice) and its node are checked by the
// Service, so a caller of the Service (not only restapi) is refused before
// anything is published.
func TestCreateBridgeRequestRules(t *testing.T) {
	many := make([]CallID, MaxBridgeCalls+1)
	for i := range many {
		many[i] = CallID(fmt.Sprintf("c%d", i))
	}
	for _, tc := range []struct {
		name  string
		req   BridgeCreateRequest
		field string
	}{
		{"too many calls", BridgeCreateRequest{Calls: many}, "calls"},
		{"bad call id", BridgeCreateRequest{Calls: []CallID{"a b"}}, "calls"},
		{"call twice", BridgeCreateRequest{Calls: []CallID{"c1", "c2", "c1"}}, "calls"},
		{"bad node", BridgeCreateRequest{Node: "a.b"}, "node"},
		{"reserved node", BridgeCreateRequest{Node: "all"}, "node"},
		{"bad type", BridgeCreateRequest{Args: BridgeCreateArgs{Type: "x"}}, "type"},
		{"name with CRLF", BridgeCreateRequest{Args: BridgeCreateArgs{Name: "conf\r\nX: 1"}}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := &loopBus{nodes: map[NodeID]*Executor{"pbx1": {Node: "pbx1", PBX: &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}}}}
			reg := NewRegistry()
			reg.Observe(Heartbeat{Node: "pbx1", State: NodeUp, Healthy: true, IntervalMS: 1000}, time.Now())
			s := NewService(bus, reg, NewLocations(0))
			_, err := s.CreateBridge(context.Background(), Options{Tenant: "acme"}, tc.req)
			if ErrorCode(err) != EInvalid || ErrorField(err) != tc.field {
				t.Fatalf("err %v (field %q), want invalid_argument on %s", err, ErrorField(err), tc.field)
			}
			if len(bus.sent) != 0 {
				t.Fatalf("published to %v", bus.sent)
			}
		})
	}
}

// TestExecutorBridgeName: a bridge name reaches ARI and events, so the
// worker refuses one with control characters before the PBX sees it.
func TestExecutorBridgeName(t *testing.T) {
	pbx := &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}
	x := &Executor{Node: "pbx1", PBX: pbx}
	rep := x.Handle(context.Background(), &Command{ID: "c", Action: ActBridgeCreate, BridgeID: "b1", Args: json.RawMessage(`{"name":"conf\r\nX: 1"}`)})
	if rep.OK || rep.Error.Code != EInvalid || len(pbx.ran) != 0 {
		t.Fatalf("reply %+v, ran %v", rep.Error, pbx.ran)
	}
	rep = x.Handle(context.Background(), &Command{ID: "c", Action: ActBridgeCreate, BridgeID: "b1", Args: json.RawMessage(`{"name":"conf 1"}`)})
	if !rep.OK {
		t.Fatalf("plain name refused: %+v", rep.Error)
	}
}

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
		if (err == nil) != tc.ok || (err != nil && ErrorCode(err) != EInvalid) {
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

// TestArgRulesMatchValidate: the patterns ArgRules describes agree with the
// checks they stand for (tagRe with ValidTag, noControlRe with
// hasControl), and each enum value passes its type's Validate.
func TestArgRulesMatchValidate(t *testing.T) {
	for _, s := range []string{"", "a", "sales-42", "a_b", "a.b", "a b", strings.Repeat("x", 64), strings.Repeat("x", 65), "ä"} {
		if tagRe.MatchString(s) != ValidTag(s) {
			t.Errorf("tag %q: pattern %v, ValidTag %v", s, tagRe.MatchString(s), ValidTag(s))
		}
	}
	for _, s := range []string{"", "abc", "a\r\nb", "a\x00", "a\x7f", "a\tb", "ü", "\xff"} {
		if noControlRe.MatchString(s) == hasControl(s) {
			t.Errorf("%q: pattern and hasControl disagree", s)
		}
	}
	// Each enum value, numeric bound and length limit, set on arguments the
	// action otherwise accepts (validArgs), passes Spec.Validate at the edge
	// and is refused just past it: the rules OpenAPI is held to are the ones
	// Validate enforces.
	for name, fields := range ArgRules() {
		for field, fr := range fields {
			if fr.Pattern != "" {
				regexp.MustCompile(fr.Pattern)
			}
			if strings.ContainsAny(field, "[{") {
				continue // items and values: covered by the pattern tests above
			}
			if strings.HasSuffix(name, "Request") {
				continue // a Service request, not an action's arguments: TestCreateBridgeRequestRules
			}
			spec := specOfArgType(name)
			if spec == nil {
				t.Errorf("ArgRules names %s, the argument type of no action", name)
				continue
			}
			check := func(v any, ok bool) {
				t.Helper()
				var m map[string]any
				if err := json.Unmarshal([]byte(validArgs[spec.Action]), &m); err != nil {
					t.Fatalf("%s: validArgs: %v", spec.Action, err)
				}
				if name == "SnoopArgs" && field == "spy" {
					m["whisper"] = "both" // spy and whisper may not both be none
				}
				m[field] = v
				b, _ := json.Marshal(m)
				args := spec.NewArgs()
				if err := json.Unmarshal(b, args); err != nil {
					t.Fatalf("%s: %s: %v", name, b, err)
				}
				err := spec.Validate(nil, args)
				switch {
				case ok && err != nil:
					t.Errorf("%s.%s = %v refused: %v", name, field, v, err)
				case !ok && err == nil:
					t.Errorf("%s.%s = %v accepted past its rule", name, field, v)
				}
			}
			for _, v := range fr.Enum {
				check(v, true)
			}
			if len(fr.Enum) > 0 {
				check("not-one-of-them", false)
			}
			if fr.Min != nil {
				check(*fr.Min, true)
				check(*fr.Min-1, false)
			}
			if fr.Max != nil {
				check(*fr.Max, true)
				check(*fr.Max+1, false)
			}
			if fr.MaxLen > 0 {
				check(strings.Repeat("a", fr.MaxLen), true)
				check(strings.Repeat("a", fr.MaxLen+1), false)
			}
		}
	}
}

func specOfArgType(name string) *Spec {
	for _, s := range Specs() {
		if s.Args.Name() == name {
			return s
		}
	}
	return nil
}
