// Package callapi is callgw's vocabulary: the nouns that the gateway, the
// workers, the PBX adapter and every client share, defined once.
//
//   - Resources: Call, Bridge, Playback, Recording, Node (and the ids
//     CallID, BridgeID, NodeID).
//   - Commands: Action, Command, Reply, the argument type of each action
//     (OriginateArgs, DTMFArgs, PlayArgs, …) with its one Validate, and the
//     action registry (Spec, SpecOf, CheckReceived): the id each action
//     needs, whether it creates, which PBX port runs it, its REST route.
//   - Events: Event, EventType and the Ev… constants, one payload type per
//     event type (HangupData, DTMFData, …) and DecodeData.
//   - Errors: Code and the Code… constants, the one list of stable error
//     codes (problem+json "code" and AMQP reply "error.code"); Error is the
//     typed error that carries one.
//   - Routing: the exchange names and routing keys of the bus (route.go,
//     docs/protocol.md).
//   - Ports: the interfaces the adapters implement (PBX, CallControl,
//     BridgeControl, MediaControl, EventSink, HeartbeatSink, CommandHandler)
//     and the gateway's Bus.
//
// It imports nothing but the standard library and google/uuid: no AMQP,
// ARI, HTTP router or logger. A Go program that places calls imports it
// with its client, callapi/client:
//
//	c, _ := client.New("http://127.0.0.1:8080", client.WithToken(tok))
//	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/100", Wait: callapi.WaitAnswered}})
//	if client.ErrorCode(err) == callapi.CodeNodeUnavailable { … }
package callapi
