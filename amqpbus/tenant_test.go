package amqpbus

import (
	"context"
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

// TestAllTenantsOnlyFromTrustedPublisher: a call.list whose tenant is
// callapi.AllTenants (every tenant's calls, what an admin's GET
// /v1/calls?tenant=* sends) runs when a trusted user (the gateway's, whose
// keys name no tenant) publishes it; a tenant's own bus client is answered
// forbidden and it never runs, and so is a key that names "*" as its
// tenant, published raw.
func TestAllTenantsOnlyFromTrustedPublisher(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	ran := map[string]string{} // command id → tenant it ran with
	e.worker("pbx1", handlerFunc(func(_ context.Context, cmd *callapi.Command) *callapi.Reply {
		mu.Lock()
		ran[cmd.ID] = cmd.Tenant
		mu.Unlock()
		return callapi.OKReply(cmd.ID, "pbx1", callapi.CallList{})
	}), ServeOptions{}, nil)
	gw := e.bus("gateway", nil)
	tb := e.bus("tenant acme", func(c *Config) { c.Tenant = "acme" })
	ctx := ctxFor(t, 10*time.Second)
	didRun := func(id string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		tn, ok := ran[id]
		return tn, ok
	}
	all := func() *callapi.Command {
		return &callapi.Command{ID: newID(), Action: callapi.ActCallList, Tenant: callapi.AllTenants}
	}

	cmd := all()
	if rep, err := gw.Request(ctx, "pbx1", cmd); err != nil || !rep.OK {
		t.Fatalf("trusted call.list for every tenant: %+v, %v", rep, err)
	}
	if tn, ok := didRun(cmd.ID); !ok || tn != callapi.AllTenants {
		t.Fatalf("trusted call.list ran %v with tenant %q", ok, tn)
	}

	cmd = all()
	rep, err := tb.Request(ctx, "pbx1", cmd)
	if err != nil || rep.OK || rep.Error.Code != callapi.CodeForbidden {
		t.Fatalf("a tenant's call.list for every tenant: %+v, %v; want forbidden", rep, err)
	}
	if _, ok := didRun(cmd.ID); ok {
		t.Fatal("a tenant's call.list for every tenant ran")
	}
	own := &callapi.Command{ID: newID(), Action: callapi.ActCallList, Tenant: "acme"}
	if rep, err := tb.Request(ctx, "pbx1", own); err != nil || !rep.OK {
		t.Fatalf("a tenant's call.list of its own calls: %+v, %v", rep, err)
	}

	// A key naming "*" as its tenant (what a broker permission written as
	// a pattern might let through) is no tenant's: refused, dead-lettered.
	cmd = all()
	msg, err := encodeCommand(cmd, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, ch := e.rawChannel()
	key := callapi.TenantCommandKey("pbx1", callapi.AllTenants, callapi.ActCallList)
	if err := ch.PublishWithContext(ctx, e.names.Commands, key, true, false, msg); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.waitDead(cmd.ID, 5*time.Second); !ok {
		t.Fatalf("the command keyed %s was not dead-lettered", key)
	}
	if _, ok := didRun(cmd.ID); ok {
		t.Fatalf("the command keyed %s ran", key)
	}
}
