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

// The examples run against `callgw dev` (see TestMain): gatewayURL is its
// address, http://127.0.0.1:8080 in `make dev`. Its simulated PBX answers
// Local/answer@callgw-test at once and Local/busy@callgw-test is busy.

// Place a call and wait until it is answered, then hang it up. The
// command's deadline on the gateway (WithTimeout) must cover the ring
// time waited for.
func ExampleClient_Originate() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL) // add client.WithToken or WithClientCredentials when auth is on
	if err != nil {
		log.Fatal(err)
	}
	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{
		To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered, Tags: []string{"sales-42"},
	}}, client.WithTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", call.State, "tags:", call.Tags)
	if err := c.Hangup(ctx, call.ID, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// state: up tags: [sales-42]
}

// A call that is not answered (busy, no answer, …) is an error carrying
// the ended call: its Hangup says why.
func ExampleNotAnsweredError() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{
		To: "Local/busy@callgw-test", Wait: callapi.WaitAnswered,
	}})
	var na *client.NotAnsweredError
	if errors.As(err, &na) {
		fmt.Println("state:", na.Call.State, "dial status:", na.Call.Hangup.DialStatus)
	}
	// Output:
	// state: ended dial status: BUSY
}

// Dial places a call with an event subscription opened before the
// originate was sent: no event of the call is missed, from call.created
// to call.hangup, after which the iteration ends.
func ExampleClient_Dial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	call, err := c.Dial(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{
		To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered,
	}})
	if err != nil {
		log.Fatal(err)
	}
	events, err := call.Events(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer events.Close()
	if err := call.Hangup(ctx, ""); err != nil {
		log.Fatal(err)
	}
	for e, err := range events.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Type)
	}
	// Output:
	// call.created
	// call.answered
	// call.hangup
}

// PlayAndWait plays a greeting and returns when it finished; the call is
// then hung up.
func ExampleCallHandle_PlayAndWait() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	call, err := c.Dial(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{
		To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered,
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer call.Close()
	p, err := call.PlayAndWait(ctx, client.PlayRequest{Media: []string{"sound:hello-world", "sound:goodbye"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("playback", p.State)
	if err := call.Hangup(ctx, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// playback done
}

// Follow one existing call: Client.Call gives its handle, whose Events
// is connected when it returns. callapi.Data decodes an event's payload
// into its type.
func ExampleClient_Call() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	placed, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}})
	if err != nil {
		log.Fatal(err)
	}
	call := c.Call(placed.ID)
	events, err := call.Events(ctx, callapi.EvCallDTMF, callapi.EvCallHangup)
	if err != nil {
		log.Fatal(err)
	}
	defer events.Close()
	if err := call.Hangup(ctx, "busy"); err != nil {
		log.Fatal(err)
	}
	e, err := events.Wait(callapi.EvCallHangup)
	if err != nil {
		log.Fatal(err)
	}
	h, err := callapi.Data[callapi.HangupData](e)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Type, h.Cause, h.CauseText, "by", h.Reason)
	// Output:
	// call.hangup 17 User busy by api
}

// Bridge two answered calls, then hang both up.
func ExampleClient_CreateBridge() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	var ids []callapi.CallID
	for range 2 {
		call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, call.ID)
	}
	b, err := c.CreateBridge(ctx, callapi.BridgeCreateRequest{Calls: ids})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("calls in the bridge:", len(b.Calls))
	for _, id := range ids {
		if err := c.Hangup(ctx, id, ""); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// calls in the bridge: 2
}

// An error answer of the gateway is a *client.Error with a stable code.
func ExampleError() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	err = c.Hangup(ctx, "no-such-call", "")
	var pe *client.Error
	if errors.As(err, &pe) {
		fmt.Println(pe.Status, pe.Code)
	}
	fmt.Println(client.ErrorCode(err) == callapi.CodeNotFound)
	// Output:
	// 404 not_found
	// true
}

// Follow the tenant's hangups over Server-Sent Events. The stream is
// connected when Events returns, so the call placed next cannot lose its
// events; it reconnects and resumes by itself.
func ExampleClient_Events() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	stream, err := c.Events(ctx, client.EventFilter{Types: []callapi.EventType{callapi.EvCallHangup}, Tag: "example-events"}, client.StreamOptions{})
	if err != nil {
		log.Fatal(err) // ctx ended, or the gateway refused the filter (a *client.Error)
	}
	defer stream.Close()
	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered, Tags: []string{"example-events"}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Hangup(ctx, call.ID, ""); err != nil {
		log.Fatal(err)
	}
	e, err := stream.Next()
	if err != nil {
		log.Fatal(err)
	}
	h, err := callapi.Data[callapi.HangupData](e)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Type, e.CallID == call.ID, h.CauseText, "by", h.Reason)
	// Output:
	// call.hangup true Normal Clearing by api
}
