package deploy

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/internal/testenv"
)

// brokerDefs is deploy/rabbitmq/definitions.json loaded on a run-unique
// vhost with run-unique users (the shared broker's own are never touched).
type brokerDefs struct {
	ctl, host, vhost, svc, tenant string
}

func loadDefinitions(t *testing.T) brokerDefs {
	t.Helper()
	testenv.NeedBroker(t, testenv.BrokerURL())
	d := brokerDefs{ctl: testenv.NeedTool(t, "rabbitmqctl")}
	id := uuid.NewString()[:8]
	d.vhost, d.svc, d.tenant = "cgdefs-"+id, "cgsvc-"+id, "cgacme-"+id
	d.host = strings.SplitN(strings.SplitN(testenv.BrokerURL(), "@", 2)[1], "/", 2)[0]
	raw, err := os.ReadFile("rabbitmq/definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	defs := strings.NewReplacer(`"callgw"`, `"`+d.vhost+`"`, `"callgw-service"`, `"`+d.svc+`"`, `"acme-events"`, `"`+d.tenant+`"`).Replace(string(raw))
	if !strings.Contains(defs, d.svc) || !strings.Contains(defs, d.tenant) || strings.Count(defs, `"vhost": "`+d.vhost+`"`) < 5 {
		t.Fatalf("definitions.json: the vhost callgw, users callgw-service and acme-events expected:\n%s", defs)
	}
	t.Cleanup(func() {
		for _, args := range [][]string{{"delete_vhost", d.vhost}, {"delete_user", d.svc}, {"delete_user", d.tenant}} {
			if out, err := exec.Command(d.ctl, args...).CombinedOutput(); err != nil {
				t.Errorf("cleanup %v: %v %s", args, err, out)
			}
		}
	})
	// RabbitMQ 3.10 applies the permissions of an import before the vhosts
	// it creates are up: the vhost comes first, as the docs say.
	run(t, time.Minute, ".", d.ctl, "add_vhost", d.vhost)
	imp := exec.Command(d.ctl, "import_definitions", "--format", "json")
	imp.Stdin = strings.NewReader(defs) // the broker may not see this test's files
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import_definitions: %v\n%s", err, out)
	}
	testenv.WaitFor(t, "the import", 30*time.Second, func() bool {
		out, _ := exec.Command(d.ctl, "list_users", "-q").CombinedOutput()
		return strings.Contains(string(out), d.tenant)
	})
	return d
}

func (d brokerDefs) url(user, pass string) string {
	return "amqp://" + user + ":" + pass + "@" + d.host + "/" + d.vhost
}

// envURL is CALLGW_AMQP_URL of a deploy/systemd example with the hosts,
// names and password substituted.
func (d brokerDefs) envURL(t *testing.T, file, pass string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CALLGW_AMQP_URL=(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("%s sets no CALLGW_AMQP_URL", file)
	}
	var out []string
	for _, raw := range strings.Split(m[1], ",") {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		pw, _ := u.User.Password()
		if u.Path != "/callgw" || u.User.Username() != "callgw-service" || pw != "AMQP_PASSWORD" {
			t.Fatalf("%s: %s is not vhost callgw as user callgw-service (definitions.json) with the AMQP_PASSWORD placeholder", file, raw)
		}
		u.Host, u.Path, u.User = d.host, "/"+d.vhost, url.UserPassword(d.svc, pass)
		out = append(out, u.String())
	}
	return strings.Join(out, ",")
}

// TestTenantUserOnDefinitions: a gateway and a worker run on the
// definitions with the examples' broker URLs, and the tenant user of the
// definitions (the recipe of docs/operations.md) receives its tenant's
// events, and no other, with SubscribeEvents and ConsumeEvents. Nobody
// logs in as a user of the definitions until its password is set.
func TestTenantUserOnDefinitions(t *testing.T) {
	t.Parallel()
	d := loadDefinitions(t)
	for _, u := range []string{d.svc, d.tenant} {
		if c, err := amqp.Dial(d.url(u, "change-me")); err == nil {
			_ = c.Close()
			t.Errorf("%s logs in with a password from definitions.json", u)
		}
	}
	svcPW, tenantPW := uuid.NewString(), uuid.NewString()
	run(t, time.Minute, ".", d.ctl, "change_password", d.svc, svcPW)
	run(t, time.Minute, ".", d.ctl, "change_password", d.tenant, tenantPW)
	gwURL := d.envURL(t, "systemd/gateway.env.example", svcPW)
	wkURL := d.envURL(t, "systemd/worker-pbx1.env.example", svcPW)
	for _, u := range strings.Split(gwURL+","+wkURL, ",") {
		c, err := amqp.Dial(u)
		if err != nil {
			t.Fatalf("the examples' URL %s does not reach the definitions' vhost as their user: %v", u, err)
		}
		_ = c.Close()
	}
	api := startGatewayAndWorker(t, gwURL, wkURL)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	tenantURL := d.url(d.tenant, tenantPW)
	var mu sync.Mutex
	var subscribed, consumed []string
	bus, err := amqpbus.New(amqpbus.Config{URLs: []string{tenantURL}, SubscribeOnly: true, ConnectionName: "acme app"})
	if err != nil {
		t.Fatal(err)
	}
	busDone := make(chan error, 1)
	bctx, stopBus := context.WithCancel(ctx)
	go func() { busDone <- bus.Run(bctx) }()
	defer func() { stopBus(); <-busDone }()
	if _, err := bus.SubscribeEvents(ctx, []string{"acme.#"}, func(e *callapi.Event) {
		mu.Lock()
		defer mu.Unlock()
		subscribed = append(subscribed, e.Tenant+" "+string(e.Type))
	}); err != nil {
		t.Fatalf("SubscribeEvents as the tenant user: %v", err)
	}
	consuming := make(chan struct{}, 1)
	cctx, stopConsumer := context.WithCancel(ctx)
	consumerDone := make(chan error, 1)
	go func() {
		consumerDone <- client.ConsumeEvents(cctx, client.QueueConfig{URLs: []string{tenantURL}, Queue: "acme.new-calls",
			Patterns: []string{callapi.Pattern("acme", "", "call", "created", "")}, OnConsuming: func() { consuming <- struct{}{} }},
			func(_ context.Context, e *callapi.Event) error {
				mu.Lock()
				defer mu.Unlock()
				consumed = append(consumed, e.Tenant+" "+string(e.Type))
				return nil
			})
	}()
	select {
	case <-consuming:
	case err := <-consumerDone:
		t.Fatalf("ConsumeEvents as the tenant user: %v", err)
	case <-ctx.Done():
		t.Fatal("tenant consumer not up")
	}

	for _, tn := range []string{"beta", "acme"} { // beta first: its events would arrive first
		api.callAndHangUp(t, tn)
	}
	testenv.WaitFor(t, "acme's call.hangup", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(subscribed, ","), "acme call.hangup") && len(consumed) > 0
	})
	time.Sleep(300 * time.Millisecond) // anything else would be here by now
	mu.Lock()
	for _, e := range subscribed {
		if !strings.HasPrefix(e, "acme ") {
			t.Errorf("SubscribeEvents received %q", e)
		}
	}
	if len(consumed) != 1 || consumed[0] != "acme call.created" {
		t.Errorf("ConsumeEvents received %q, want only acme's call.created", consumed)
	}
	mu.Unlock()
	stopConsumer()
	if err := <-consumerDone; err != nil {
		t.Errorf("consumer: %v", err)
	}
	tenantRefusals(ctx, t, bus, tenantURL)
}

// tenantRefusals: everything outside the tenant is refused.
func tenantRefusals(ctx context.Context, t *testing.T, bus *amqpbus.Bus, tenantURL string) {
	for _, p := range [][]string{{"beta.#"}, {"#"}, nil} { // nil: the fanout of every tenant
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		sub, err := bus.SubscribeEvents(sctx, p, func(*callapi.Event) {})
		cancel()
		if err == nil {
			_ = sub.Close()
			t.Errorf("SubscribeEvents %q as the tenant user: allowed", p)
		}
	}
	for _, tc := range []struct{ queue, pattern string }{
		{"acme.snoop", "beta.#"},      // topic permission: bind key not acme.
		{"acme.all", "#"},             // ditto
		{"beta.q", "beta.#"},          // configure: not its queue
		{"acme.fanout", "acme.#.x.#"}, // allowed: a control that the refusals are not a broken setup
	} {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		ok := make(chan struct{}, 1)
		err := client.ConsumeEvents(rctx, client.QueueConfig{URLs: []string{tenantURL}, Queue: tc.queue, Patterns: []string{tc.pattern},
			OnConsuming: func() { ok <- struct{}{}; rcancel() }}, func(context.Context, *callapi.Event) error { return nil })
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
