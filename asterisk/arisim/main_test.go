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
		var err error
		for range 50 { // goroutines of closed connections need a moment to exit
			if err = goleak.Find(goleak.IgnoreAnyFunction("github.com/CyCoreSystems/ari/v5/client/native.(*Client).listen")); err == nil {
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
