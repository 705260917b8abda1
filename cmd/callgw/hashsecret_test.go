package main

import (
	"strings"
	"testing"

	"github.com/callgw/callgw/restapi"
)

// TestHashSecretCommand: `callgw hash-secret` prints an argon2id hash that
// verifies the secret read from stdin (trailing newline dropped), and
// refuses short secrets. Issue 12, finding 6.
func TestHashSecretCommand(t *testing.T) {
	var out strings.Builder
	if err := hashSecret(strings.NewReader("a-generated-secret-0123\n"), &out); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if !strings.HasPrefix(h, "$argon2id$") || !restapi.CheckSecret(h, "a-generated-secret-0123") || restapi.IsLegacyHash(h) {
		t.Errorf("hash-secret printed %q", h)
	}
	if err := hashSecret(strings.NewReader("short"), &out); err == nil {
		t.Error("short secret accepted")
	}
}
