package callapi_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
)

// TestArgRulesMatchValidate: the patterns ArgRules describes agree with the
// checks they stand for (tagRe with ValidTag, noControlRe with
// hasControl), and each enum value passes its type's Validate.
func TestArgRulesMatchValidate(t *testing.T) {
	for _, s := range []string{"", "a", "sales-42", "a_b", "a.b", "a b", strings.Repeat("x", 64), strings.Repeat("x", 65), "ä"} {
		if callapi.TagRe.MatchString(s) != callapi.ValidTag(s) {
			t.Errorf("tag %q: pattern %v, ValidTag %v", s, callapi.TagRe.MatchString(s), callapi.ValidTag(s))
		}
	}
	for _, s := range []string{"", "abc", "a\r\nb", "a\x00", "a\x7f", "a\tb", "ü", "\xff"} {
		if callapi.NoControlRe.MatchString(s) == callapi.HasControl(s) {
			t.Errorf("%q: pattern and hasControl disagree", s)
		}
	}
	// Each enum value, numeric bound and length limit, set on arguments the
	// action otherwise accepts (ValidArgs), passes Spec.Validate at the edge
	// and is refused just past it: the rules OpenAPI is held to are the ones
	// Validate enforces.
	for name, fields := range callapi.ArgRules() {
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
				if err := json.Unmarshal([]byte(fakepbx.ValidArgs[spec.Action]), &m); err != nil {
					t.Fatalf("%s: ValidArgs: %v", spec.Action, err)
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

func specOfArgType(name string) *callapi.Spec {
	for _, s := range callapi.Specs() {
		if s.Args.Name() == name {
			return s
		}
	}
	return nil
}
