package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine of the stacks the tests
// started outlives them: every component must stop when its context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http's keep-alive connections of http.DefaultClient.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
