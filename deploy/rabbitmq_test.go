package deploy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/internal/testenv"

	"github.com/google/uuid"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
)

// TestRabbitMQDefinitions loads deploy/rabbitmq/definitions.json on a
// run-unique vhost with run-unique users (the shared broker's own are
// never touched), then checks what it promises: callgw runs as its service
// user, the policies apply to its queues, and the tenant user consumes its
// tenant's events from a durable queue of its own and is refused anything
// else.
func TestRabbitMQDefinitions(t *testing.T) {
	ctl := testenv.NeedTool(t, "rabbitmqctl")
	raw, err := os.ReadFile("rabbitmq/definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()[:8]
	vhost, svc, tenant := "callgwtest-"+id, "cgsvc-"+id, "cgacme-"+id
	defs := strings.NewReplacer(`"callgw"`, `"`+vhost+`"`, `"name": "callgw"`, `"name": "`+svc+`"`, `"acme-events"`, `"`+tenant+`"`).Replace(string(raw))
	// The service user is "callgw" in "users" and "permissions"; the vhost
	// is "callgw" too: the replacer made both the vhost; fix the users.
	defs = strings.ReplaceAll(defs, `"user": "`+vhost+`"`, `"user": "`+svc+`"`)
	defs = strings.Replace(defs, `{
      "name": "`+vhost+`",
      "password_hash"`, `{
      "name": "`+svc+`",
      "password_hash"`, 1)
	if !strings.Contains(defs, `"name": "`+svc+`"`) || strings.Contains(defs, `"callgw"`) || strings.Contains(defs, "acme-events") {
		t.Fatalf("could not make the definitions run-unique:\n%s", defs)
	}
	t.Cleanup(func() {
		for _, args := range [][]string{{"delete_vhost", vhost}, {"delete_user", svc}, {"delete_user", tenant}} {
			if out, err := exec.Command(ctl, args...).CombinedOutput(); err != nil {
				t.Errorf("cleanup %v: %v %s", args, err, out)
			}
		}
	})
	// RabbitMQ 3.10 applies the permissions of an import before the
	// vhosts it creates are up ("Virtual host … does not exist"): the
	// vhost is made first, as the README says.
	run(t, time.Minute, ".", ctl, "add_vhost", vhost)
	// Through stdin: the broker node reads a file path itself, and may not
	// see this test's temporary files.
	imp := exec.Command(ctl, "import_definitions", "--format", "json")
	imp.Stdin = strings.NewReader(defs)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import_definitions: %v\n%s", err, out)
	}

	host := os.Getenv("CALLGW_TEST_AMQP_HOST")
	if host == "" {
		host = "127.0.0.1:5672"
	}
	svcURL := "amqp://" + svc + ":change-me@" + host + "/" + vhost
	tenantURL := "amqp://" + tenant + ":change-me@" + host + "/" + vhost

	// callgw as its service user: the topology declares, events publish.
	bus, err := amqpbus.New(amqpbus.Config{URLs: []string{svcURL}, ConnectionName: "callgw definitions test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	busCtx, stopBus := context.WithCancel(ctx)
	busDone := make(chan error, 1)
	go func() { busDone <- bus.Run(busCtx) }()
	defer func() { stopBus(); <-busDone }()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := bus.Ready(rctx); err != nil {
		t.Fatalf("callgw cannot run as %s on %s with these definitions: %v", svc, vhost, err)
	}
	pol := run(t, time.Minute, ".", ctl, "list_queues", "-p", vhost, "name", "policy")
	for _, want := range []string{"callapi.any\tcallgw-any", "callapi.dead\tcallgw-dead"} {
		if !strings.Contains(pol, want) {
			t.Errorf("policy not applied: want %q in\n%s", want, pol)
		}
	}

	// The tenant user: a durable queue of its own, bound to its tenant.
	var mu sync.Mutex
	var got []string
	consuming := make(chan struct{}, 1)
	cctx, stopConsumer := context.WithCancel(ctx)
	consumerDone := make(chan error, 1)
	go func() {
		consumerDone <- client.ConsumeEvents(cctx, client.QueueConfig{URLs: []string{tenantURL}, Queue: "acme.billing",
			Patterns: []string{callapi.Pattern("acme", "", "call", "created", "")}, OnConsuming: func() { consuming <- struct{}{} }},
			func(_ context.Context, e *callapi.Event) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, e.Tenant+" "+string(e.Type))
				return nil
			})
	}()
	select {
	case <-consuming:
	case err := <-consumerDone:
		t.Fatalf("tenant user cannot consume its queue: %v", err)
	case <-ctx.Done():
		t.Fatal("tenant consumer not up")
	}
	for _, tn := range []string{"beta", "acme"} {
		e := &callapi.Event{ID: uuid.NewString(), Type: callapi.EvCallCreated, Time: time.Now(), Node: "pbx1", Tenant: tn, CallID: callapi.CallID(uuid.NewString()), Data: []byte(`{}`)}
		if err := bus.PublishEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 1 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // a beta event would arrive by now
	mu.Lock()
	if len(got) != 1 || got[0] != "acme call.created" {
		t.Errorf("tenant user received %q, want only acme's call.created", got)
	}
	mu.Unlock()
	stopConsumer()
	if err := <-consumerDone; err != nil {
		t.Errorf("consumer: %v", err)
	}

	// Anything outside the tenant is refused, at once.
	for _, tc := range []struct{ queue, pattern string }{
		{"acme.snoop", "beta.#"},      // topic permission: bind key not acme.
		{"acme.all", "#"},             // ditto
		{"beta.q", "beta.#"},          // configure: not its queue
		{"acme.fanout", "acme.#.x.#"}, // allowed: a control that the refusals are not a broken setup
	} {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		ok := make(chan struct{}, 1)
		err := func() error {
			errc := make(chan error, 1)
			go func() {
				errc <- client.ConsumeEvents(rctx, client.QueueConfig{URLs: []string{tenantURL}, Queue: tc.queue, Patterns: []string{tc.pattern},
					OnConsuming: func() { ok <- struct{}{}; rcancel() }}, func(context.Context, *callapi.Event) error { return nil })
			}()
			return <-errc
		}()
		rcancel()
		allowed := len(ok) == 1
		if want := tc.queue == "acme.fanout"; allowed != want {
			t.Errorf("queue %s bound %q: allowed=%v (err %v), want %v", tc.queue, tc.pattern, allowed, err, want)
		}
		if !allowed && (err == nil || !strings.Contains(err.Error(), "ACCESS_REFUSED")) {
			t.Errorf("queue %s bound %q: %v, want ACCESS_REFUSED", tc.queue, tc.pattern, err)
		}
		if allowed && err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("allowed binding: %v", err)
		}
	}
}
