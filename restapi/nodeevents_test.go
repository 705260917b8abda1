package restapi

import (
	"encoding/json"
	"testing"
)

// TestNodeView: the one function that hides a node's call count, for
// GET /v1/nodes and for node events alike.
func TestNodeView(t *testing.T) {
	admin := Principal{Scopes: []string{ScopeAdmin}}
	tenant := Principal{Tenant: "acme", Scopes: []string{ScopeNodesRead, ScopeEventsRead}}
	for _, tc := range []struct {
		name string
		in   string
		p    Principal
		want string // "" = nil: could not be redacted
	}{
		{"admin sees calls", `{"node":"pbx1","calls":3}`, admin, `{"node":"pbx1","calls":3}`},
		{"tenant does not", `{"node":"pbx1","calls":3}`, tenant, `{"node":"pbx1"}`},
		{"nothing to hide", `{"node":"pbx1"}`, tenant, `{"node":"pbx1"}`},
		{"not an object", `[1]`, tenant, ""},
		{"null has nothing to hide", `null`, tenant, `null`},
		{"not json", `{`, tenant, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nodeView(json.RawMessage(tc.in), tc.p)
			if tc.want == "" {
				if got != nil {
					t.Fatalf("nodeView(%s) = %s, want nil", tc.in, got)
				}
				return
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("nodeView(%s) = %s: %v", tc.in, got, err)
			}
			_ = json.Unmarshal([]byte(tc.want), &w)
			if gb, wb := mustJSON(t, g), mustJSON(t, w); gb != wb {
				t.Fatalf("nodeView(%s) = %s, want %s", tc.in, gb, wb)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
