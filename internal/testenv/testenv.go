// Package testenv holds what the tests of several packages need from the
// machine they run on: external tools today. Tests only.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of the named program. A missing one fails the
// test under CI=true (.ci/run installs every tool) and skips it elsewhere.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}
