// Package gateway is callgw's domain: calls, commands, replies, events, nodes
// and the routing rules that tie them to the message bus.
//
// It imports no I/O library (no AMQP, ARI, HTTP router or logger). The
// adapters around it implement or consume the small interfaces it defines:
//
//   - Bus (gateway side): send a Command to a target and wait for its Reply;
//     implemented by amqpbus.
//   - PBX (worker side): drive one Asterisk node; implemented by asterisk.
//   - EventSink (worker side): publish normalized events; implemented by amqpbus.
//
// Routing keys are spelled in exactly one place (route.go) and documented in
// docs/protocol.md. Errors carry a stable Code (errors.go) that each edge maps
// once to its transport: HTTP status in restapi, reply error code in amqpbus.
package gateway
