package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// Place a call, wait until it is answered, play a greeting, hang up; a
// gateway error is a *client.Error with its stable code.
func ExampleClient_Originate() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New("http://127.0.0.1:8080", client.WithClientCredentials("acme-app", "secret", ""))
	if err != nil {
		log.Fatal(err)
	}
	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/alice", Wait: callapi.WaitAnswered, Tags: []string{"sales-42"}}},
		client.WithTimeout(30*time.Second))
	var pe *client.Error
	switch {
	case errors.As(err, &pe) && pe.Code == callapi.CodeNodeUnavailable:
		log.Fatalf("no node could take it (request %s)", pe.RequestID)
	case err != nil:
		log.Fatal(err)
	}
	if _, err := c.Play(ctx, string(call.ID), client.PlayRequest{Media: []string{"sound:hello-world"}}); err != nil {
		log.Fatal(err)
	}
	if err := c.Hangup(ctx, string(call.ID), ""); err != nil {
		log.Fatal(err)
	}
	rec, err := c.GetCall(ctx, string(call.ID)) // the ended call's record
	if err == nil && rec.Hangup != nil {
		fmt.Println(rec.State, rec.Hangup.Cause, rec.EndReason)
	}
}

// Follow the hangups of a tenant's calls over Server-Sent Events; the
// stream reconnects and resumes by itself.
func ExampleClient_Events() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", client.WithToken("…"))
	if err != nil {
		log.Fatal(err)
	}
	stream := c.Events(ctx, client.EventFilter{Types: []string{"call.hangup"}}, client.StreamOptions{})
	defer stream.Close()
	for e, err := range stream.All() {
		if err != nil {
			log.Fatal(err) // ctx ended, or the gateway refused the stream
		}
		d, _ := callapi.DecodeData(e)
		h := d.(*callapi.HangupData)
		fmt.Println(e.CallID, h.Cause, h.CauseText, h.Reason)
	}
}

// Share a tenant's new calls between the instances of an application: each
// call.created goes to exactly one instance consuming the durable queue.
func ExampleConsumeEvents() {
	ctx := context.Background()
	err := client.ConsumeEvents(ctx, client.QueueConfig{
		URLs:     []string{"amqp://acme-events:secret@127.0.0.1:5672/callgw"},
		Queue:    "acme.new-calls",
		Patterns: []string{callapi.Pattern("acme", "", "call", "created", "")},
	}, func(ctx context.Context, e *callapi.Event) error {
		fmt.Println("new call", e.CallID)
		return nil // acknowledged
	})
	if err != nil {
		log.Fatal(err)
	}
}
