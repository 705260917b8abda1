// Package asterisk drives one Asterisk node over ARI and implements
// callapi.PBX, callapi.CallControl (control.go), callapi.BridgeControl
// (bridges.go, attended transfer included) and callapi.MediaControl
// (media.go). It turns the ARI events of the calls and bridges it owns
// into callapi.Events and publishes them through a callapi.EventSink.
//
// State: the live calls are held by a callTable (calls.go; its event
// mapping in callevents.go), the bridges created through callgw by a
// bridgeTable (bridgetable.go). Each owns its lock; the command paths
// (originate.go, control.go, bridges.go, media.go) read and change calls
// and bridges only through their methods.
//
// Invariants:
//
//   - Control: callgw controls only channels in its Stasis application.
//     Originated calls enter Stasis(app) by construction (or are sent to the
//     dialplan and merely watched); inbound calls enter it from the
//     dialplan. Channel operations on a channel outside Stasis answer 409,
//     which maps to callapi.CodeConflict.
//   - Deadlines: every ARI REST call is bounded by its ctx (and by
//     Config.RequestTimeout when the ctx has none).
//   - Ordering: the events of one call are published in ARI's order, with a
//     per-call strictly increasing Seq (dispatch.go: one shard per call id).
//     Intake never blocks for more than Config.EnqueueTimeout per event;
//     an event dropped then is counted and logged, never silently lost.
//   - Completeness: call.hangup is published exactly once per call, from
//     StasisEnd, ChannelDestroyed or a re-read that finds the channel gone,
//     whichever comes first. After each (re)connect the channels are re-read
//     and the differences published; channels already in the app are
//     adopted (worker restart).
//   - Tenancy: every operation is scoped by tenant; another tenant's call,
//     bridge, playback or recording is not found, without asking Asterisk
//     where the worker knows. A bridge remembers its creator's tenant; a
//     playback belongs to its target's tenant; a recording is stored on
//     Asterisk as "<tenant>.<name>".
//   - Memory: a call is a small struct, forgotten once it ended; a bounded
//     ring of ended ids keeps late events from resurrecting it. A bridge
//     created through callgw is a smaller one, forgotten once destroyed
//     (with a ring of its own);
//     playbacks and recordings take no memory.
//   - Lifecycle: NewPBX does no I/O; Run owns every goroutine (event
//     shards, WebSocket reader, keepalive, re-read) and stops them all
//     before it returns.
//
// ARI client: the package does not run on the CyCoreSystems/ari/v5 native
// client (client/native is not imported; ari.go lists why). The REST calls
// are its own restClient over net/http (ari.go), the events WebSocket is
// github.com/coder/websocket (conn.go), and events and channels decode into
// its own wire models (wire.go). Of github.com/CyCoreSystems/ari/v5 (v5.3.1
// in go.mod) it uses two types only: ari.OriginateRequest, the body of POST
// /channels (originate.go), and ari.AsteriskInfo, the answer of GET
// /asterisk/info (pbx.go). The native client itself runs only in
// asterisk/arisim's conformance tests, against the simulator.
//
// ARI→CallAPI mapping: docs/events.md. Comments cite shared/ari-recordings
// (transcripts of a real Asterisk 22.10.1) and shared/ari-spec (Asterisk's
// API description): shared/ lies beside the repository, not in it.
package asterisk
