package restapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// requestSchemaArgs names, for each request body schema of openapi.json,
// the gateway types whose rules (callapi.ArgRules) it describes.
var requestSchemaArgs = map[string][]string{
	"OriginateRequest":  {"OriginateArgs"},
	"MuteRequest":       {"MuteArgs"},
	"DTMFRequest":       {"DTMFArgs"},
	"PlayRequest":       {"PlayArgs"},
	"RecordRequest":     {"RecordArgs"},
	"RedirectRequest":   {"RedirectArgs"},
	"ContinueRequest":   {"ContinueArgs"},
	"SnoopRequest":      {"SnoopArgs"},
	"MOHRequest":        {"MOHArgs"},
	"VariableRequest":   {"VariableArgs"},
	"BridgeRequest":     {"BridgeCreateArgs", "BridgeCreateRequest"},
	"BridgeCallRequest": {"BridgeCallArgs"},
	"TransferRequest":   {"TransferArgs"},
	"RingRequest":       {"RingArgs"},
	"CreateRequest":     {"CreateArgs", "CreateRequest"},
	"DialRequest":       {"DialArgs"},
	"MessageRequest":    {"MessageArgs", "MessageRequest"},
	// webhook bodies are no action's arguments: no ArgRules (their limits
	// are stated in the descriptions and enforced by webhook.Manager)
	"WebhookRequest":         nil,
	"WebhookRotateRequest":   nil,
	"DeviceStateRequest":     {"DeviceStateArgs"},
	"MailboxRequest":         {"MailboxArgs"},
	"PlaybackControlRequest": {"PlaybackControlArgs"},
}

// parameterArgs names the query parameters that are arguments of an
// action: "METHOD path name" to "Type.member".
var parameterArgs = map[string]string{
	"DELETE /v1/calls/{id} reason": "HangupArgs.reason",
	"GET /v1/calls state":          "ListArgs.state",
}

// schemaRule is the part of a JSON schema that a callapi.FieldRule says.
type schemaRule struct {
	Pattern              string          `json:"pattern"`
	Enum                 []string        `json:"enum"`
	Minimum              *int            `json:"minimum"`
	Maximum              *int            `json:"maximum"`
	MaxLength            int             `json:"maxLength"`
	MinItems             int             `json:"minItems"`
	MaxItems             int             `json:"maxItems"`
	Items                *schemaRule     `json:"items"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
}

// unchecked are the value constraints of a JSON schema that schemaRule
// does not compare: one in a request schema is held to nothing.
var unchecked = []string{"minLength", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minProperties", "maxProperties", "const", "format"}

// ecmaPattern writes a Go pattern as openapi.json does (JSON Schema
// patterns are ECMA-262: \x00 is written \u0000).
func ecmaPattern(p string) string {
	return regexp.MustCompile(`\\x([0-9a-fA-F]{2})`).ReplaceAllString(p, `\u00$1`)
}

// fieldRules flattens a property's schema as callapi.ArgRules does: "m[]"
// for its items, "m{}" for its values.
func fieldRules(name string, raw json.RawMessage, out map[string]callapi.FieldRule, t *testing.T) {
	var s schemaRule
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(raw, &keys)
	for _, k := range unchecked {
		if _, ok := keys[k]; ok {
			t.Errorf("%s: %s is not held to the gateway's rules (add it to callapi.FieldRule and this test)", name, k)
		}
	}
	r := callapi.FieldRule{Pattern: s.Pattern, Enum: s.Enum, Min: s.Minimum, Max: s.Maximum, MaxLen: s.MaxLength, MinItems: s.MinItems, MaxItems: s.MaxItems}
	if !reflect.DeepEqual(r, callapi.FieldRule{}) {
		out[name] = r
	}
	if s.Items != nil {
		items, _ := json.Marshal(s.Items)
		fieldRules(name+"[]", items, out, t)
	}
	if len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
		fieldRules(name+"{}", s.AdditionalProperties, out, t)
	}
}

// goRules is callapi.ArgRules of the given types, merged, with patterns
// written as openapi.json writes them.
func goRules(all map[string]map[string]callapi.FieldRule, types ...string) map[string]callapi.FieldRule {
	out := map[string]callapi.FieldRule{}
	for _, ty := range types {
		for f, r := range all[ty] {
			r.Pattern = ecmaPattern(r.Pattern)
			out[f] = r
		}
	}
	return out
}

// TestOpenAPIArgRules: the patterns, enums and numeric limits openapi.json
// states for the arguments of the actions are the ones the gateway's
// validation enforces (callapi.ArgRules), in both directions, so the
// description cannot drift from the rules it restates.
func TestOpenAPIArgRules(t *testing.T) {
	doc := decodeOpenAPI(t)
	all := callapi.ArgRules()
	seen := map[string]bool{}
	names := make([]string, 0, len(requestSchemaArgs))
	for n := range requestSchemaArgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("openapi.json has no schema %s", name)
			continue
		}
		got := map[string]callapi.FieldRule{}
		for prop, raw := range schema.Properties {
			fieldRules(prop, raw, got, t)
		}
		want := goRules(all, requestSchemaArgs[name]...)
		compareRules(t, name, got, want)
		for _, ty := range requestSchemaArgs[name] {
			seen[ty] = true
		}
	}

	// The parameters that are arguments; every other parameter with a
	// value constraint must be known not to be one.
	notArgs := []string{"limit", "tenant"} // tenant=*: the REST layer's, for admin tokens
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op openAPIOperation
			_ = json.Unmarshal(raw, &op)
			for _, ref := range op.bodyRefs() {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if _, ok := requestSchemaArgs[name]; !ok && name != "TokenRequest" {
					t.Errorf("%s %s: request body %q is not in requestSchemaArgs", method, path, ref)
				}
			}
			for _, p := range op.Parameters {
				if p.Ref != "" || len(p.Schema) == 0 {
					continue
				}
				got := map[string]callapi.FieldRule{}
				fieldRules(p.Name, p.Schema, got, t)
				key := strings.ToUpper(method) + " " + path + " " + p.Name
				arg, isArg := parameterArgs[key]
				switch {
				case isArg:
					ty, member, _ := strings.Cut(arg, ".")
					seen[ty] = true
					compareRules(t, key, got, map[string]callapi.FieldRule{p.Name: goRules(all, ty)[member]})
				case len(got) > 0 && !slices.Contains(notArgs, p.Name):
					t.Errorf("%s: parameter constrained by openapi.json but not mapped to a gateway argument", key)
				}
			}
		}
	}
	for ty := range all {
		if !seen[ty] {
			t.Errorf("callapi.ArgRules describes %s, which openapi.json does not show here", ty)
		}
	}
}

func compareRules(t *testing.T, where string, got, want map[string]callapi.FieldRule) {
	t.Helper()
	for f, w := range want {
		if g, ok := got[f]; !ok {
			t.Errorf("%s.%s: openapi.json states no rule; the gateway enforces %+v", where, f, show(w))
		} else if !sameRule(g, w) {
			t.Errorf("%s.%s: openapi.json says %+v, the gateway enforces %+v", where, f, show(g), show(w))
		}
	}
	for f, g := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("%s.%s: openapi.json states %+v, which the gateway does not enforce", where, f, show(g))
		}
	}
}

func sameRule(a, b callapi.FieldRule) bool {
	eqInt := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Pattern == b.Pattern && slices.Equal(a.Enum, b.Enum) && eqInt(a.Min, b.Min) && eqInt(a.Max, b.Max) &&
		a.MaxLen == b.MaxLen && a.MinItems == b.MinItems && a.MaxItems == b.MaxItems
}

// show prints a rule with its bounds as numbers.
func show(r callapi.FieldRule) string {
	b, _ := json.Marshal(r)
	return string(b)
}
