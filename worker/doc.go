// Package worker is a callgw worker: what one node does between the bus and
// its Asterisk. cmd/internal/stack wires it from the configuration; its
// idempotency journal is package worker/journal.
//
// A command the bus (amqpbus.Bus.ServeCommands) takes for this node runs
// down one chain of callapi.CommandHandler:
//
//	InFlight → metered → Keyed → Executor → the PBX (asterisk.PBX)
//
// Its links:
//   - InFlight counts the commands in flight: a stopping worker waits for
//     them.
//   - metered (Metrics.Metered) counts and times them by action and
//     outcome; an unknown action, which any AMQP client may name, is
//     counted as "other".
//   - Keyed journals a keyed originate (one with an Idempotency-Key) before
//     it runs and answers a copy of one from the journal: the call as it is
//     now, the recorded outcome, or conflict after an originate a restart
//     interrupted. It checks the originate once, through Executor.Check,
//     and runs it through Executor.Run. It is also the executor's Journal
//     port (callapi.Journal), which answers idempotency.lookup.
//   - Executor is the trust boundary: it checks every other command against
//     its action's callapi.Spec and runs it on the port the Spec names.
//
// The JournalSink passes the PBX's events to the bus and records in the
// journal how journaled calls end; after a start, Keyed hands the PBX the
// journaled calls whose end was never recorded (asterisk.PBX.CloseLost),
// one at a time, skipping a call whose end was recorded since the walk
// began (ended through the API meanwhile): one call.hangup per call. The
// journal indexes those records, so the walk costs what is open, not the
// window's history.
// The Announcer sends the heartbeats; Metrics and the ops endpoint
// (internal/ops) export the rest.
//
// Worker.Run runs the parts in three stages, each an errgroup: the
// announcer; the bus; ARI with the ops endpoint and the journal's pruning.
// A part that fails stops the worker at once. Otherwise, when its context
// ends, the worker stops in order: it announces draining, stops taking
// shared work (the any-node queue), waits for the commands in flight (at
// most DrainTimeout) while its own queue is still served, then stops the
// announcer (node.down with the last heartbeat), closes the bus (which
// acknowledges what is left) and only then ARI; then it closes the journal.
package worker
