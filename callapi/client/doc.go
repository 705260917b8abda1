// Package client is the Go client of callgw's REST CallAPI and of its
// event streams: what a Go program imports, with the vocabulary in package
// callapi (Call, Event, the error codes, …), to place and control calls.
//
//	c, _ := client.New("http://127.0.0.1:8080", client.WithToken(tok))
//	call, err := c.Dial(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/100", Wait: callapi.WaitAnswered}})
//	var pe *client.Error
//	if errors.As(err, &pe) && pe.Code == callapi.CodeNodeUnavailable { … }
//	events, _ := call.Events(ctx) // every event of the call, from call.created on
//	_, err = call.PlayAndWait(ctx, client.PlayRequest{Media: []string{"sound:hello-world"}})
//
// Where things are: ids (callapi.CallID, BridgeID, NodeID), event types
// (callapi.EvCallCreated, EvCallAnswered, EvCallHangup, EvCallDTMF, … —
// `go doc callapi EventType`), their payloads (callapi.HangupData, …,
// decoded with callapi.Data[T]) and error codes (callapi.Code…) are in
// package callapi; the guide is docs/sdk.md.
//
// Invariants:
//
//   - One typed method per operation of docs/openapi.json; every method
//     takes a context first and honours its deadline. The server-side
//     deadline of a command is the `timeout` query parameter (WithTimeout).
//   - Errors answered by the gateway are *Error values carrying the
//     problem+json body, its stable Code included; transport failures are
//     returned wrapped (%w) as they come from net/http.
//   - Retries: a request is retried (capped exponential backoff with
//     jitter, WithRetries) when the gateway could not be reached or
//     answered a retryable code (node_unavailable, timeout, 502-504) —
//     and only when repeating it cannot act twice: reads, and commands
//     carrying an Idempotency-Key. The client generates one key per
//     command (a UUID, kept across its retries) unless the caller gives
//     its own (WithIdempotencyKey), so a retried originate never places a
//     second call.
//   - A call: Client.Call(id) is a handle (Hangup, Play, PlayAndWait,
//     Events, …); Client.Dial originates after subscribing to the events,
//     so its handle's Events cannot miss the call's first events. A
//     CallEvents subscription ends after the call's call.hangup.
//   - With Wait: WaitAnswered, a call that was not answered is a
//     *NotAnsweredError carrying the ended call.
//   - Events (EventStream) are connected when Events returns; they come from the Server-Sent Events stream; a lost
//     connection, or the gateway's own shutdown or slow-consumer notice, is
//     followed by a reconnect that resumes after the last event received
//     (Last-Event-ID). Events repeated by a resume are dropped by id.
//   - AMQP (ConsumeEvents) binds a durable, named queue to
//     callapi.events.routed: every process consuming the same queue name
//     shares its events (competing consumers), and events published while
//     no consumer runs wait in the queue. Messages are acknowledged after
//     the handler returns nil.
//
// Files: ops.go holds the call operations, ops_bridges.go those on
// bridges, transfers, playbacks and recordings, each a typed method over
// the same request helper.
package client
