package arisim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/callgw/callgw/asterisk/arisim"
)

// The simulator must never be what limits end-to-end benchmarks: each simulator benchmark has a
// "floor" twin that sends the same request to a bare net/http handler returning a fixed body, in
// the same run and over the same kind of client. Compare ns/op: target ≤ 3× the floor.

var fixedChannel = []byte(`{"id":"b1","name":"Local/answer@callgw-test-00000001;1","state":"Up","protocol_id":"","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"callgw-test","exten":"answer","priority":1,"app_name":"Stasis","app_data":"bench"},"creationtime":"2026-11-25T14:16:14.626+0000","language":"en"}`)

func floorServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixedChannel)
	}))
}

// benchSim returns a simulator URL with one channel in Stasis, and its id.
func benchSim(b *testing.B) (string, string, func()) {
	srv := arisim.New(arisim.Config{User: "u", Password: "p", Log: zap.NewNop(), DialplanStep: time.Hour})
	ts := httptest.NewServer(srv.Handler())
	tg := &target{url: ts.URL + "/ari", user: "u", pass: "p", app: "bench", sim: srv, client: &http.Client{Timeout: 5 * time.Second}}
	ev := tg.listen(b, "bench", false)
	id := tg.originate(b, ev, "bench", "answer")
	// From here on, a plain reader (not the decoding collector) consumes the events, so that the
	// benchmark measures the simulator rather than the test's JSON decoding.
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, strings.Replace(tg.url, "http", "ws", 1)+"/events?app=bench&api_key=u:p", nil)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	return ts.URL + "/ari", id, func() { cancel(); _ = c.CloseNow(); <-done; srv.Close(); ts.Close() }
}

func runRequests(b *testing.B, method, u, body string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req, _ := http.NewRequest(method, u, rd)
			req.SetBasicAuth("u", "p")
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := cl.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkChannelGet(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		fl := floorServer()
		defer fl.Close()
		runRequests(b, "GET", fl.URL+"/ari/channels/b1", "")
	})
	b.Run("simulator", func(b *testing.B) {
		u, id, stop := benchSim(b)
		defer stop()
		runRequests(b, "GET", u+"/channels/"+url.PathEscape(id), "")
	})
}

func BenchmarkVariableSet(b *testing.B) {
	// As ari/v5 sends it: POST with a JSON body.
	body := `{"variable":"BENCH","value":"42"}`
	b.Run("floor", func(b *testing.B) {
		fl := floorServer()
		defer fl.Close()
		runRequests(b, "POST", fl.URL+"/ari/channels/b1/variable", body)
	})
	b.Run("simulator", func(b *testing.B) {
		u, id, stop := benchSim(b)
		defer stop()
		runRequests(b, "POST", u+"/channels/"+url.PathEscape(id)+"/variable", body)
	})
}

// TestThroughputWithinFloor runs the benchmarks above and fails when the simulator is more than 3×
// slower than the bare net/http floor. It takes ~20 s and measures the machine as much as the code,
// so it runs only when ARISIM_THROUGHPUT=1 (and never under the race detector, whose overhead falls
// unevenly on the two sides).
func TestThroughputWithinFloor(t *testing.T) {
	if os.Getenv("ARISIM_THROUGHPUT") != "1" || raceEnabled {
		t.Skip("set ARISIM_THROUGHPUT=1 (without -race) to check the simulator against the net/http floor")
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"channel get", "GET", "", ""},
		{"variable set", "POST", "/variable", `{"variable":"BENCH","value":"42"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Alternate the two and keep the best of three of each, so that load from other
			// processes on the machine does not fall on one side only.
			var floorNs, simNs int64
			for range 3 {
				floor := testing.Benchmark(func(b *testing.B) {
					fl := floorServer()
					defer fl.Close()
					runRequests(b, tc.method, fl.URL+"/ari/channels/b1"+tc.path, tc.body)
				})
				sim := testing.Benchmark(func(b *testing.B) {
					u, id, stop := benchSim(b)
					defer stop()
					runRequests(b, tc.method, u+"/channels/"+url.PathEscape(id)+tc.path, tc.body)
				})
				if floorNs == 0 || floor.NsPerOp() < floorNs {
					floorNs = floor.NsPerOp()
				}
				if simNs == 0 || sim.NsPerOp() < simNs {
					simNs = sim.NsPerOp()
				}
			}
			ratio := float64(simNs) / float64(floorNs)
			t.Logf("floor %d ns/op, simulator %d ns/op: %.2f×", floorNs, simNs, ratio)
			if ratio > 3 {
				t.Errorf("simulator is %.2f× the floor (limit 3×)", ratio)
			}
		})
	}
}
