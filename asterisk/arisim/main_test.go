package arisim_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// The ari/v5 client uses http.DefaultTransport: close its idle connections first.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		ignore := []goleak.Option{goleak.IgnoreAnyFunction("github.com/CyCoreSystems/ari/v5/client/native.(*Client).listen")}
		if realTarget() {
			// connectARI leaves the ari/v5 client unclosed (see there). The simulator's server
			// closes its WebSocket at the end of the test; a real Asterisk keeps it open, so the
			// client's reader goroutine of that socket is still there too.
			ignore = append(ignore, goleak.IgnoreAnyFunction("github.com/CyCoreSystems/ari/v5/client/native.(*Client).wsRead.func1"))
		}
		var err error
		for range 50 { // goroutines of closed connections need a moment to exit
			if err = goleak.Find(ignore...); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}
