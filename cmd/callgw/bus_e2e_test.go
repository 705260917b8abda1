package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/bus"
	"github.com/callgw/callgw/callapi/client"
)

// tenantBusUser creates a RabbitMQ user with the permissions docs/sdk.md
// gives a tenant's bus client, and returns its URL.
func tenantBusUser(t *testing.T, s *system, tenant string) string {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatalf("rabbitmqctl is needed to create the test user: %v", err)
	}
	user, pass := "callgw-test-"+tenant+"-"+uuid.NewString()[:8], uuid.NewString()
	ctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	ctl("add_user", user, pass)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "delete_user", user).Run() })
	q := func(s string) string { return strings.ReplaceAll(s, ".", `\.`) }
	cmds, nodes := s.prefix+callapi.ExchangeCommands, s.prefix+callapi.ExchangeNodes
	ctl("set_permissions", "-p", "/", user, `^amq\.gen-.*`, `^(`+q(cmds)+`|amq\.gen-.*)$`, `^(`+q(nodes)+`|amq\.gen-.*)$`)
	ctl("set_topic_permissions", "-p", "/", user, cmds, `^cmd\.[^.]+\.tenant\.`+tenant+`\.`, "^$")
	return strings.Replace(s.url, "guest:guest", user+":"+pass, 1)
}

// startBusClient starts a bus client of tenant on a user of its own, and
// returns it with the user's URL.
func startBusClient(t *testing.T, s *system, tenant string) (*bus.Client, string) {
	t.Helper()
	url := tenantBusUser(t, s, tenant)
	c, err := bus.New(bus.Config{URLs: []string{url}, Tenant: tenant, Prefix: s.prefix, Log: testLogger(t).Named("bus " + tenant)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bus client %s: %v", tenant, err)
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := c.Ready(rctx); err != nil {
		t.Fatal(err)
	}
	return c, url
}

// TestBusClientTenants: a bus client on its tenant's own RabbitMQ user
// places and controls its calls with the REST client's methods and
// errors, and cannot command another tenant's calls: not through the
// client (not_found, as over REST), not by publishing another tenant's
// routing key (refused by the broker), not by naming another tenant in a
// command under its own key (forbidden by the worker).
func TestBusClientTenants(t *testing.T) {
	s := startStack(t, "pbx1")
	acme, _ := startBusClient(t, s, "acme")
	beta, betaURL := startBusClient(t, s, "beta")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	call, err := acme.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}})
	if err != nil {
		t.Fatalf("originate: %v", err)
	}
	if call.Tenant != "acme" || call.State != callapi.StateUp {
		t.Fatalf("call %+v", call)
	}
	if err := acme.SetVariable(ctx, call.ID, "X", "1"); err != nil {
		t.Fatalf("set variable: %v", err)
	}
	if v, err := acme.GetVariable(ctx, call.ID, "X"); err != nil || v.Value != "1" {
		t.Fatalf("get variable: %+v, %v", v, err)
	}
	_, err = acme.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "nonsense"}})
	var ce *client.Error
	if !errors.As(err, &ce) || client.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("bad originate: %v, want a *client.Error invalid_argument", err)
	}

	// Through its client, beta sees no call of acme's.
	if _, err := beta.GetCall(ctx, call.ID); client.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("beta GetCall: %v, want not_found", err)
	}
	if err := beta.Hangup(ctx, call.ID, ""); client.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("beta Hangup: %v, want not_found", err)
	}

	// Publishing by hand with beta's user.
	conn, err := amqp.Dial(betaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	publish := func(key, tenant string) (string, error) {
		ch, err := conn.Channel()
		if err != nil {
			return "", err
		}
		defer ch.Close()
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
		if err != nil {
			return "", err
		}
		id := uuid.NewString()
		body := `{"id":"` + id + `","action":"call.hangup","tenant":"` + tenant + `","call_id":"` + string(call.ID) + `"}`
		if err := ch.PublishWithContext(ctx, s.prefix+callapi.ExchangeCommands, key, false, false, amqp.Publishing{
			ContentType: "application/json", MessageId: id, CorrelationId: id, ReplyTo: "amq.rabbitmq.reply-to",
			Type: "call.hangup", Body: []byte(body)}); err != nil {
			return "", err
		}
		select {
		case d := <-replies:
			return string(d.Body), nil
		case err := <-closed:
			return "", err
		case <-time.After(3 * time.Second):
			return "", errors.New("no reply")
		}
	}
	for _, key := range []string{"cmd.pbx1.call.hangup", "cmd.pbx1.tenant.acme.call.hangup", "cmd.all.tenant.acme.call.hangup"} {
		_, err := publish(key, "acme")
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
			t.Errorf("beta publishing %s: %v, want ACCESS_REFUSED", key, err)
		}
	}
	rep, err := publish("cmd.pbx1.tenant.beta.call.hangup", "acme")
	if err != nil || !strings.Contains(rep, `"code":"forbidden"`) {
		t.Errorf("beta naming acme under its own key: %s, %v; want forbidden", rep, err)
	}
	if got, err := acme.GetCall(ctx, call.ID); err != nil || got.State != callapi.StateUp {
		t.Errorf("acme's call after beta's attempts: %+v, %v; want up", got, err)
	}
	if err := acme.Hangup(ctx, call.ID, ""); err != nil {
		t.Errorf("acme hangup: %v", err)
	}
}
