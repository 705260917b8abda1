package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/webhook"
)

// TestWebhooksCommand: `callgw webhooks`, configured by its CALLGW_*
// variables, delivers a subscription's events to a loopback receiver as
// signed POSTs (the subscription made through webhook.Manager, as a
// gateway with CALLGW_WEBHOOKS=true makes it), and stops on its context.
func TestWebhooksCommand(t *testing.T) {
	url := brokerURL(t)
	prefix := "wh" + uuid.NewString()[:8] + "."
	t.Cleanup(func() { deleteTopology(t, url, prefix) })
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	names := webhook.Names{Prefix: prefix, QueueType: webhook.QueueTypeClassic}
	st, err := webhook.OpenStore(ctx, conn, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := webhook.NewManager(ctx, conn, names, webhook.Policy{AllowLoopback: true}, st)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var mu sync.Mutex
	var secret string
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := callapi.VerifyWebhook(r.Header.Get(callapi.WebhookSignatureHeader), body, time.Now(), 0, secret); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = append(got, r.Header.Get(callapi.WebhookIDHeader))
	}))
	defer rcv.Close()
	hook, err := m.Create(ctx, callapi.DefaultTenant, "", callapi.WebhookRequest{URL: &rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = hook.Secret
	mu.Unlock()
	defer func() { // before the manager and the connection close
		if err := m.Delete(context.Background(), callapi.DefaultTenant, hook.ID); err != nil {
			t.Error(err)
		}
	}()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	env := map[string]string{"CALLGW_AMQP_URL": url, "CALLGW_AMQP_PREFIX": prefix, "CALLGW_LOG_LEVEL": "warn",
		"CALLGW_WEBHOOK_ALLOW_LOOPBACK": "true", "CALLGW_WEBHOOK_QUEUE_TYPE": "classic"}
	go func() {
		done <- run(runCtx, []string{"webhooks"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()

	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ev := callapi.Event{ID: uuid.NewString(), Type: callapi.EvCallHangup, Time: time.Now(), Node: "pbx1", Tenant: callapi.DefaultTenant, CallID: "c1"}
	body, _ := json.Marshal(ev)
	c, err := ch.PublishWithDeferredConfirm(prefix+callapi.ExchangeEvents, "", false, false, amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent})
	if err != nil || !c.Wait() {
		t.Fatalf("publish: %v", err)
	}
	testenv.WaitFor(t, "the signed POST", 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1 && got[0] == ev.ID
	})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("callgw webhooks: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("callgw webhooks did not stop")
	}
}
