package config

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// randomKey is the shape `head -c 48 /dev/urandom | base64` gives.
const randomKey = "q3Jb8wW0x1mZ7kP2vN9sT4yH6cL5aR8eU0iO3dF7gB1jK2nM4pQ6rS9tV0wX5zY7"

func TestCheckSigningKey(t *testing.T) {
	for _, tc := range []struct {
		key, want string // want "" = accepted
	}{
		{randomKey, ""},
		{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ""},
		{"short", "at least 32 bytes"},
		{strings.Repeat("k", 32), "guessable"},
		{strings.Repeat("password", 4), "guessable"},
		{"correct horse battery staple!!!!", "guessable"},
		{"change-me-change-me-change-me-change-me", "example value"},
		{"SIGNING_KEY", "example value"},
	} {
		err := CheckSigningKey(tc.key)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckSigningKey(%q) = %v, want %q", tc.key, err, tc.want)
		}
	}
}

// exampleKeyRE finds signing keys given in the example files and docs:
// env lines, --auth-signing-key flags and Go struct fields.
var exampleKeyRE = regexp.MustCompile(`(?:CALLGW_AUTH_SIGNING_KEY=|--auth-signing-key[ =]|SigningKey: *"?)([^\s"'|` + "`" + `)]+)`)

// TestExampleSigningKeysRefused reads every signing key the repository's
// examples show (deploy/, docs/, the README, the Dockerfile) and checks
// that a gateway refuses to start with it, so that an example copied as
// is can never sign tokens.
func TestExampleSigningKeysRefused(t *testing.T) {
	var files []string
	for _, root := range []string{"../deploy", "../docs"} {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasSuffix(p, "_test.go") && !strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return nil
		})
	}
	files = append(files, "../README.md", "../Dockerfile")
	found := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range exampleKeyRE.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasPrefix(m[1], "$") { // a shell variable the reader fills in
				found[m[1]] = f
			}
		}
	}
	if _, ok := found["SIGNING_KEY"]; !ok {
		t.Fatalf("the gateway.env.example placeholder was not found (keys found: %v)", found)
	}
	dir := t.TempDir()
	clients := dir + "/clients.json"
	if err := os.WriteFile(clients, []byte(`[{"id":"app","secret_hash":"sha256$00$00","tenant":"acme","scopes":["calls:read"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for key, f := range found {
		_, err := LoadGateway(nil, envOf(map[string]string{"CALLGW_AUTH_CLIENTS_FILE": clients, "CALLGW_AUTH_SIGNING_KEY": key}), &bytes.Buffer{})
		if err == nil {
			t.Errorf("%s: a gateway starts with the example signing key %q", f, key)
			continue
		}
		listed := false
		for _, k := range ExampleSigningKeys {
			listed = listed || k == key
		}
		if !listed && len(key) >= 32 {
			t.Errorf("%s: example signing key %q is refused only by chance: add it to ExampleSigningKeys", f, key)
		}
	}
}

func TestListenAddressWithoutAuth(t *testing.T) {
	dir := t.TempDir()
	clients := dir + "/clients.json"
	if err := os.WriteFile(clients, []byte(`[{"id":"app","secret_hash":"sha256$00$00","tenant":"acme","scopes":["calls:read"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"CALLGW_AUTH_CLIENTS_FILE": clients, "CALLGW_AUTH_SIGNING_KEY": randomKey}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantAddr string // "" = refused
	}{
		{"no auth: loopback only", nil, "127.0.0.1:8080"},
		{"auth: every interface", auth, ":8080"},
		{"no auth, every interface: refused", map[string]string{"CALLGW_HTTP_ADDR": ":8080"}, ""},
		{"no auth, public address: refused", map[string]string{"CALLGW_HTTP_ADDR": "10.0.0.5:8080"}, ""},
		{"no auth, loopback", map[string]string{"CALLGW_HTTP_ADDR": "127.0.0.1:9000"}, "127.0.0.1:9000"},
		{"no auth, localhost", map[string]string{"CALLGW_HTTP_ADDR": "localhost:9000"}, "localhost:9000"},
		{"no auth, ipv6 loopback", map[string]string{"CALLGW_HTTP_ADDR": "[::1]:9000"}, "[::1]:9000"},
		{"no auth, opted out", map[string]string{"CALLGW_HTTP_ADDR": ":8080", "CALLGW_ALLOW_UNAUTHENTICATED": "true"}, ":8080"},
		{"auth, explicit address", with(auth, "CALLGW_HTTP_ADDR", "10.0.0.5:8080"), "10.0.0.5:8080"},
		{"bad opt-out value", map[string]string{"CALLGW_ALLOW_UNAUTHENTICATED": "maybe"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := LoadGateway(nil, envOf(tc.env), &bytes.Buffer{})
			if tc.wantAddr == "" {
				if err == nil {
					t.Fatalf("started on %q", g.HTTPAddr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.HTTPAddr != tc.wantAddr {
				t.Fatalf("http addr %q, want %q", g.HTTPAddr, tc.wantAddr)
			}
		})
	}
	// callgw dev keeps its one-command start, on loopback.
	d, err := LoadDev(nil, envOf(nil), &bytes.Buffer{})
	if err != nil || d.Gateway.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("dev: %v, addr %q", err, d.Gateway.HTTPAddr)
	}
	if _, err := LoadGateway([]string{"--http-addr", "0.0.0.0:8080"}, envOf(nil), &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "CALLGW_ALLOW_UNAUTHENTICATED") {
		t.Fatalf("err = %v", err)
	}
}
