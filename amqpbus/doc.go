// Package amqpbus is callgw's RabbitMQ layer, on github.com/rabbitmq/amqp091-go
// (v1.16.0, pinned in go.mod). It implements gateway.Bus (Request, Gather,
// Send), gateway.EventSink and gateway.HeartbeatSink, serves a worker's
// commands (ServeCommands) and offers the subscription helpers a customer
// would use (SubscribeEvents, SubscribeHeartbeats). The wire protocol is
// docs/protocol.md.
//
// # Who owns reconnection
//
// Bus.Run does, with its own loop. amqp091's Config.Recovery (connection and
// topology recovery) is experimental, recovers only what was declared on a
// channel it tracked, and would race with our re-declaration; it is left nil.
// Run dials the configured URLs in order (a cluster), moving to the next
// one on failure and after a loss, with capped exponential backoff and
// jitter after every full round. On each connection it declares the whole
// topology, opens the publishing pool and (re)starts every consumer: the
// worker's node and shared queues and every subscription (server-named
// queues are declared again, with their bindings). State reports the
// connection, the broker, the reconnect count and a blocked connection.
//
// # Invariants
//
// Publishing: every publish is confirmed (publisher confirms) and commands
// are mandatory. A return (NO_ROUTE) becomes gateway.ENodeUnavailable at
// once; a nack, a channel lost before the confirm, or no confirm before the
// deadline is an error to the caller, never a silent drop. A publish waits
// for a connection, and for a blocked connection (connection.blocked) to be
// unblocked, only until its context ends. Publishes go through a pool of
// channels; a channel-level error (404 on a missing exchange) closes that
// channel only, and the pool replaces it.
//
// RPC: a request is published on a pooled channel that consumes direct
// reply-to, with correlation_id = message_id = command id; the reply is
// matched by correlation id (several requests may share an id: each gets one
// reply, first come first served). A request leaves the pending table when
// it returns, whatever the cause; a reply nobody waits for is dropped and
// counted. If the channel carrying the reply dies, its requests fail at once
// with ETimeout ("the command may have run"), not at their deadline.
//
// Worker: manual acks with prefetch. In order, for each delivery:
// undecodable → dead-lettered (nack, no requeue) and logged with its id;
// known command id → answered from the bounded memory (a copy of a command
// still running waits for its outcome) and never run again; past x-deadline
// → dead-lettered, never run; a creating action (gateway.Action.Creates) is
// acked before it runs (at most once; not run if the ack fails), the others
// after their reply is published (at least once, the memory making repeats
// harmless). A handler that panics gets its command retried up to the
// delivery limit (shared queue) or once (node queue), then dead-lettered
// with an internal-error reply. Commands of one call (CallID, else
// BridgeID) run one at a time in delivery order; others run concurrently up
// to ServeOptions.Concurrency. Node queues are exclusive to the worker's
// connection, so commands for a node that is gone are returned, not parked.
//
// Shutdown: when Run's context ends the worker's consumers are cancelled,
// the deliveries already received run, every command finishes and is acked
// (handlers' contexts are cancelled after Config.ShutdownTimeout), then the
// subscriptions, the pooled channels and the connection are closed, in
// that order. Every goroutine belongs to the connection (session) or to the
// worker and has ended when Run returns.
package amqpbus
