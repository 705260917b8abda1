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
// What each action is lives in one place, the action registry (specs.go,
// one Spec per Action: arguments and their one Validate, the id it needs,
// whether it creates, the PBX port that runs it, its result, its REST
// routes). The worker's Executor is the trust boundary and checks every
// command through it; the Service checks the same before publishing.
// Observer is a gateway's view of the cluster rebuilt from the bus
// (nodes, readiness, locations, call records, node.down).
//
// Routing keys are spelled in exactly one place (route.go) and documented in
// docs/protocol.md. Errors carry a stable Code (errors.go) that each edge maps
// once to its transport: HTTP status in restapi, reply error code in amqpbus.
package gateway
