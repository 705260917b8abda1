package chaos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestScaleOut measures the aggregate command rate of 1, 2, 4 and 8 workers
// (each with its own simulator) behind 2 gateways: closed-loop clients
// originate (to any node) and hang up as fast as answers come. Run by
// `make scale` (CALLGW_SCALE=1; CALLGW_CHAOS_URLS for the cluster); the
// figures are in docs/scaling.md.
func TestScaleOut(t *testing.T) {
	if os.Getenv("CALLGW_SCALE") == "" {
		t.Skip("CALLGW_SCALE=1 (make scale)")
	}
	counts := []int{1, 2, 4, 8}
	if v := os.Getenv("CALLGW_SCALE_WORKERS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, _ := strconv.Atoi(f)
			counts = append(counts, n)
		}
	}
	dur := 10 * time.Second
	clients := 64
	var base float64
	t.Log("| workers | commands/s | per worker | ratio to 1 worker | errors |")
	for _, n := range counts {
		t.Run(fmt.Sprintf("workers=%d", n), func(t *testing.T) {
			var nodes []string
			for i := range n {
				nodes = append(nodes, fmt.Sprintf("pbx%d", i+1))
			}
			s := startSystem(t, sysOpts{nodes: nodes, gateways: 2})
			var done, errs atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						st, b, err := s.do(i, "POST", "/v1/calls", `{"to":"Local/answer@callgw-test"}`, nil)
						if err != nil || st != http.StatusCreated {
							errs.Add(1)
							continue
						}
						done.Add(1)
						var call callapi.Call
						_ = json.Unmarshal(b, &call)
						hg := i + 1 // the hang-up through the other gateway, as independent clients do
						if os.Getenv("CALLGW_SCALE_SAMEGW") != "" {
							hg = i
						}
						if st, _, err := s.do(hg, "DELETE", "/v1/calls/"+string(call.ID), "", nil); err != nil || st != http.StatusNoContent {
							errs.Add(1)
							continue
						}
						done.Add(1)
					}
				}()
			}
			time.Sleep(2 * time.Second) // warm up
			d0, e0, t0 := done.Load(), errs.Load(), time.Now()
			time.Sleep(dur)
			d1, e1, el := done.Load(), errs.Load(), time.Since(t0)
			close(stop)
			wg.Wait()
			rate := float64(d1-d0) / el.Seconds()
			if base == 0 {
				base = rate
			}
			row := fmt.Sprintf("| %d | %.0f | %.0f | %.2f | %d |", n, rate, rate/float64(n), rate/base, e1-e0)
			t.Log(row)
			if p := os.Getenv("CALLGW_CHAOS_REPORT"); p != "" {
				if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
					fmt.Fprintln(f, row)
					f.Close()
				}
			}
		})
	}
}
