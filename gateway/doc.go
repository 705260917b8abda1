// Package gateway is what a callgw gateway process does between the REST
// edge and the bus, in the vocabulary of package callapi.
//
//   - Service turns API requests into commands: it validates them with the
//     action's callapi.Spec (the early 400), picks the target (a named node,
//     the any queue, the node that owns the call from the location cache or
//     a locate broadcast, every node for a listing, a rendezvous-hashed node
//     for a keyed originate after asking every journal), refuses a node it
//     knows to be down, sends the command over callapi.Bus and decodes the
//     reply.
//   - Observer is the gateway's view of the cluster rebuilt from the bus:
//     the node Registry (from heartbeats, with readiness and the sweep that
//     declares silent nodes down), call and bridge Locations, and the
//     Records of ended calls, all learnt from events.
//
// It imports no I/O library (no AMQP, ARI, HTTP router or logger): amqpbus
// implements its Bus, restapi calls its Service, cmd/callgw wires them.
package gateway
