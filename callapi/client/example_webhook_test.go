package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// Subscribe a URL to the hangups of the calls tagged "crm", and check each
// POST's signature with the secret the subscription was created with. (A
// receiver on loopback over http is for dev: a gateway elsewhere takes
// https URLs on public addresses.)
func ExampleClient_CreateWebhook() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	var secret string // set once the subscription exists
	got := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		key := secret
		mu.Unlock()
		err := callapi.VerifyWebhook(r.Header.Get(callapi.WebhookSignatureHeader), body, time.Now(), 0, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev callapi.Event
		_ = json.Unmarshal(body, &ev)
		got <- string(ev.Type)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	tag := "crm"
	w, err := c.CreateWebhook(ctx, callapi.WebhookRequest{URL: &receiver.URL, Types: &[]string{"call.hangup"}, Tag: &tag})
	if err != nil {
		log.Fatal(err)
	}
	defer c.DeleteWebhook(ctx, w.ID) //nolint:errcheck // an example
	mu.Lock()
	secret = w.Secret // shown once: keep it
	mu.Unlock()

	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{
		To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered, Tags: []string{"crm"}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Hangup(ctx, call.ID, ""); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed POST received:", <-got)
	// Output:
	// signed POST received: call.hangup
}
