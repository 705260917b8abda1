// Package testenv holds what the tests of several packages need from the
// machine they run on (the broker, external tools, free ports) and the
// polling wait they share. Tests only.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultBrokerURL is the local RabbitMQ that .ci/run starts.
const DefaultBrokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// BrokerURL is the RabbitMQ the tests use: of CALLGW_AMQP_URL's URLs (the
// variable callgw itself reads; a cluster's nodes), the first whose
// address answers, or the first when none does; DefaultBrokerURL without
// it. So a test run on a cluster with one node stopped uses a live one.
func BrokerURL() string {
	u := os.Getenv("CALLGW_AMQP_URL")
	if u == "" {
		return DefaultBrokerURL
	}
	urls := strings.Split(u, ",")
	for _, x := range urls {
		if reachable(x, 500*time.Millisecond) {
			return x
		}
	}
	return urls[0]
}

// reachable reports whether url's address takes a TCP connection.
func reachable(url string, timeout time.Duration) bool {
	_, err := dial(url, timeout)
	return err == nil
}

// dial opens and closes a TCP connection to url's address, which it
// returns (empty when url does not parse).
func dial(url string, timeout time.Duration) (string, error) {
	u, err := amqp.ParseURI(url)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return addr, err
	}
	_ = c.Close()
	return addr, nil
}

// NeedBroker fails the test under CI=true (.ci/run starts the broker), and
// skips it elsewhere, when nothing answers at url's address.
func NeedBroker(t testing.TB, url string) {
	t.Helper()
	addr, err := dial(url, 2*time.Second)
	switch {
	case addr == "":
		t.Fatalf("broker URL: %v", err)
	case err != nil && os.Getenv("CI") == "true":
		t.Fatalf("RabbitMQ not reachable at %s (CI=true: integration tests must run): %v", addr, err)
	case err != nil:
		t.Skipf("RabbitMQ not reachable at %s: %v", addr, err)
	}
}

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

// WaitFor polls cond every 10 ms until it holds, and fails the test with
// "timed out waiting for <what>" once within has passed.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
