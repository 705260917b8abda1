// Package amqpbus is callgw's RabbitMQ layer, on github.com/rabbitmq/amqp091-go
// (v1.16.0, pinned in go.mod). It implements callapi.Bus (Request, Gather,
// Send), callapi.EventSink and callapi.HeartbeatSink, serves a worker's
// commands (ServeCommands) and offers the subscription helpers a customer
// would use (SubscribeEvents, SubscribeHeartbeats). A gateway watches the
// nodes with WatchNodes: heartbeats plus a nodes.ping (PingNodes) each time
// its queue consumes, which every worker answers with a beat at once
// (ServeOptions.OnPing). The wire protocol is docs/protocol.md.
//
// # Who owns reconnection
//
// Bus.Run does, with its own loop. amqp091's Config.Recovery (connection and
// topology recovery) is experimental, recovers only what was declared on a
// channel it tracked, and would race with our re-declaration; it is left nil.
// Run dials the configured URLs in order (a cluster), moving to the next
// one on failure and after a loss, with capped exponential backoff and
// jitter after every full round (100 ms doubling to 400 ms by default:
// back within half a second of the broker's return). On each connection it declares the whole
// topology, opens the publishing pool and (re)starts every consumer: the
// worker's node and shared queues and every subscription (server-named
// queues are declared again, with their bindings). State reports the
// connection, the broker, the reconnect count and a blocked connection.
//
// # Invariants
//
// Publishing: every publish is confirmed (publisher confirms) and commands
// are mandatory. A return (NO_ROUTE) becomes callapi.CodeNodeUnavailable at
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
// counted. If the channel carrying the reply dies, a request for an action
// that creates nothing is published again under the same id (at most twice,
// within its deadline: the worker's memory answers it if it already ran); a
// creating one fails at once with callapi.CodeOutcomeUnknown ("it may have run").
// Requests to a node of protocol version 2 travel in batches (route.go,
// worker_batch.go; docs/protocol.md §10).
// Config.DirectRouting sends node and any commands through the default
// exchange instead of the topic exchange (same returns; faster).
//
// Worker: manual acks with prefetch. In order, for each delivery:
// undecodable → dead-lettered (nack, no requeue) and logged with its id;
// known command id → answered from the bounded memory (a copy of a command
// still running waits for its outcome) and never run again; past x-deadline
// → dead-lettered, never run; a creating action (callapi.Action.Creates) is
// acked before it runs (at most once; not run if the ack fails), the others
// after their reply is published (at least once, the memory making repeats
// harmless). A handler that panics gets its command retried up to the
// delivery limit (shared queue) or once (node queue), then dead-lettered
// with an internal-error reply. Commands of one call (CallID, else
// BridgeID) run one at a time in delivery order; others run concurrently up
// to ServeOptions.Concurrency. Node queues are exclusive to the worker's
// connection, so commands for a node that is gone are returned, not parked.
// Consumers are supervised: if the broker cancels them while the connection
// lives (a queue deleted), they are declared and started again.
//
// Shutdown: when Run's context ends the worker's consumers are cancelled,
// the deliveries already received run, every command finishes and is acked
// (handlers' contexts are cancelled after Config.ShutdownTimeout), then the
// subscriptions, the pooled channels and the connection are closed, in
// that order, each close handshake bounded (2 s) so that a broker that no
// longer answers cannot hang the shutdown. Every goroutine belongs to the connection (session) or to the
// worker and has ended when Run returns.
//
// # Testing on a shared broker
//
// Give every test its own Config.Prefix and ConnectionName, and call
// DeleteTopology with that prefix at cleanup: the callapi.any quorum queue of
// a forgotten prefix keeps files open in the broker, and a few hundred of
// them exhaust its file descriptors (every new connection then times out).
// The package's own integration tests run against the real broker; with
// CI=true a missing broker fails them instead of skipping them.
package amqpbus
