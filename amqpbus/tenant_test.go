package amqpbus

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestTenantBusKeysAndRefusal: a tenant's bus publishes its commands with
// the tenant in the routing key, and the worker refuses a command whose
// body names another tenant (forbidden, never run), alone or in a batch.
func TestTenantBusKeysAndRefusal(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder("pbx1")
	e.worker("pbx1", rec, ServeOptions{}, nil)
	tb := e.bus("tenant acme", func(c *Config) { c.Tenant = "acme" })
	ctx := ctxFor(t, 10*time.Second)

	own := cmdOf(callapi.ActCallGet, "c1")
	if rep, err := tb.Request(ctx, "pbx1", own); err != nil || !rep.OK {
		t.Fatalf("own tenant's command: %+v, %v", rep, err)
	}
	var wg sync.WaitGroup
	for i := range 40 { // concurrent: the route sends batches
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := cmdOf(callapi.ActCallGet, fmt.Sprintf("c%d", i))
			if i%2 == 1 {
				cmd.Tenant = "beta"
			}
			rep, err := tb.Request(ctx, "pbx1", cmd)
			switch {
			case err != nil:
				t.Errorf("command %d: %v", i, err)
			case i%2 == 0 && !rep.OK:
				t.Errorf("own command %d refused: %+v", i, rep.Error)
			case i%2 == 1 && (rep.OK || rep.Error.Code != callapi.CodeForbidden):
				t.Errorf("other tenant's command %d: %+v, want forbidden", i, rep)
			case i%2 == 1 && rec.count(cmd.ID) != 0:
				t.Errorf("other tenant's command %d ran", i)
			}
		}()
	}
	wg.Wait()
	if rec.count(own.ID) != 1 {
		t.Errorf("own command ran %d times", rec.count(own.ID))
	}
	if tb.Stats().Batches == 0 {
		t.Log("no batch was sent: the batch path went untested this run")
	}
}
