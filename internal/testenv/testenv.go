// Package testenv holds what the tests of several packages need from the
// machine they run on: external tools, free ports. Tests only.
package testenv

import (
	"net"
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

// FreeAddr returns a loopback address with a port free at the time of the
// call, for a server a test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
