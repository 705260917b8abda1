package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// TestTenantTopicPermissions checks the core of the tenant recipe: a
// customer's AMQP user with topic permissions on callapi.events.routed can
// bind its queues to its own tenant's keys and is refused any other (here
// with server-named queues only, on the test's vhost). The recipe of
// docs/operations.md as a whole, on deploy/rabbitmq/definitions.json, is
// deploy's TestTenantUserOnDefinitions.
func TestTenantTopicPermissions(t *testing.T) {
	s := startStack(t, "pbx1")
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatalf("rabbitmqctl is needed to create the test user: %v", err)
	}
	user, pass := "callgw-test-"+uuid.NewString()[:8], uuid.NewString()
	ctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	ctl("add_user", user, pass)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "delete_user", user).Run() })
	routed := s.prefix + callapi.ExchangeEventsRouted
	q := func(s string) string { return strings.ReplaceAll(s, ".", `\.`) }
	// Server-named queues only; read on the routed exchange, not the fanout.
	ctl("set_permissions", "-p", "/", user, `^amq\.gen-.*`, `^amq\.gen-.*`, `^(amq\.gen-.*|`+q(routed)+`)$`)
	ctl("set_topic_permissions", "-p", "/", user, routed, "^$", `^acme\.`)

	conn, err := amqp.Dial(strings.Replace(s.url, "guest:guest", user+":"+pass, 1))
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	defer conn.Close()
	try := func(exchange, key string) error {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		defer ch.Close()
		qu, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return err
		}
		return ch.QueueBind(qu.Name, key, exchange, false, nil)
	}
	for _, tc := range []struct {
		exchange, key string
		ok            bool
	}{
		{routed, "acme.#", true},
		{routed, "acme.*.call.hangup.*", true},
		{routed, "acme.tag.sales-42", true},
		{routed, "beta.#", false},
		{routed, "#", false},
		{routed, "*.pbx1.call.#", false},
		{s.prefix + callapi.ExchangeEvents, "", false}, // the fanout carries every tenant
	} {
		err := try(tc.exchange, tc.key)
		var ae *amqp.Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("bind %s %q: %v, want allowed", tc.exchange, tc.key, err)
		case !tc.ok && (err == nil || !errors.As(err, &ae) || ae.Code != amqp.AccessRefused):
			t.Errorf("bind %s %q: %v, want ACCESS_REFUSED", tc.exchange, tc.key, err)
		}
	}
}
