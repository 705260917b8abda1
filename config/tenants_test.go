package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestParseTenants: the tenants file gives each tenant its NameScope
// ("globals" are the scope's variables); a malformed file, an unknown
// field, a bad tenant or pattern is refused with what is wrong.
func TestParseTenants(t *testing.T) {
	ts, err := ParseTenants([]byte(`{"acme": {"endpoints": ["PJSIP/acme-*"], "device_states": ["Stasis:acme-*"], "mailboxes": ["*@acme"], "globals": ["ACME_*"]}, "beta": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	acme := ts.Of("acme")
	if acme == nil || !acme.Allows(callapi.KindVariable, "ACME_X") || !acme.Allows(callapi.KindEndpoint, "PJSIP/acme-1") ||
		acme.Allows(callapi.KindMailbox, "1@beta") || acme.All {
		t.Errorf("acme: %+v", acme)
	}
	if b := ts.Of("beta"); b == nil || b.Allows(callapi.KindEndpoint, "PJSIP/beta-1") {
		t.Errorf("beta without patterns: %+v", b)
	}
	if ts.Of("gamma") != nil {
		t.Error("an unlisted tenant has a scope")
	}
	if got := ts.Matching(callapi.KindEndpoint, "PJSIP/acme-1"); len(got) != 1 || got[0] != "acme" {
		t.Errorf("matching: %v", got)
	}
	for _, tc := range []struct{ in, want string }{
		{`[]`, "cannot unmarshal"},
		{`{"acme": {"colour": ["x"]}}`, "unknown field"},
		{`{"ac.me": {}}`, "tenant"},
		{`{"acme": {"endpoints": ["PJSIP/[a"]}}`, "scope.endpoints"},
		{`{"acme": {"globals": [""]}}`, "scope.variables"},
		{`{"acme": {}} {}`, "trailing"},
		{`{"acme": {"endpoints": "PJSIP/*"}}`, "cannot unmarshal"},
	} {
		if _, err := ParseTenants([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	p := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(p, []byte(`{"acme": {"mailboxes": ["*@acme"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := LoadWorker([]string{"-tenants-file", p, "-ari-url", "http://127.0.0.1:8088/ari"}, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil || g.Tenants.Of("acme") == nil {
		t.Errorf("worker with a tenants file: %+v %v", g, err)
	}
}

// FuzzParseTenants: the tenants-file decoder never panics, and what it
// accepts validates.
func FuzzParseTenants(f *testing.F) {
	for _, s := range []string{
		`{"acme": {"endpoints": ["PJSIP/acme-*"], "globals": ["ACME_*"]}}`, `{}`, `null`, `[]`, `{"a": {"x": 1}}`, `{"a":`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ParseTenants(b)
		if err != nil {
			return
		}
		if err := ts.Validate(); err != nil {
			t.Fatalf("%q: accepted, yet %v", b, err)
		}
	})
}
