// Package arisim is a simulated Asterisk 22 speaking ARI: the REST interface under /ari and the
// events WebSocket /ari/events, faithful enough that the unmodified CyCoreSystems ari/v5 client and
// our own adapter cannot tell it from a real Asterisk for the operations callgw uses.
//
// Typical test use:
//
//	srv := arisim.New(arisim.Config{User: "u", Password: "p"})
//	ts := httptest.NewServer(srv.Handler())
//	defer ts.Close()
//	defer srv.Close()
//	ariURL := ts.URL + "/ari"
//
// Test hooks and faults: AddEndpoint (PJSIP/<name> behaviours), AddExtension (extra callgw-test
// extensions), InboundCall, HangupChannel, DropWebSockets, RefuseFor, FailRequests, SlowRequests,
// Restart, ChannelCount. Main runs the simulator standalone (`callgw simulator`). docs/simulator.md
// lists what is simulated, what is not, and the operation → test table.
//
// The source of truth is Asterisk's own API description (shared/ari-spec), Asterisk's
// res/ari/resource_*.c for status codes and messages, and transcripts of a real Asterisk 22.10.1
// (shared/ari-recordings), which fix the event order the simulator reproduces. shared/ lies beside
// the repository, not in it (the spec tests find it at <repo root>/../shared):
//
//   - Originate into Stasis (Local/answer@callgw-test): the REST answer (state Down) comes first;
//     then Dial (dialstatus ""), ChannelDialplan on ;2, ChannelStateChange ;2 Up, ChannelStateChange
//     ;1 Up, Dial ANSWER, ChannelVarset STASISSTATUS="", StasisStart. No ChannelCreated reaches the
//     app: Asterisk subscribes the app to the channel (and its Local peer) only after creating it, so
//     ChannelCreated goes to subscribeAll listeners only.
//   - DELETE /channels/{id} of a Stasis channel: ChannelHangupRequest (cause 32 = the soft-hangup
//     flag AST_SOFTHANGUP_EXPLICIT, soft=true), StasisEnd, ChannelVarset STASISSTATUS=SUCCESS,
//     ChannelHangupRequest ;2 (cause), ChannelDestroyed ;1 (cause, dialplan back to AppDial2),
//     ChannelHangupRequest ;2 (16, soft), ChannelDestroyed ;2. Live recordings of the channel
//     finish (RecordingFinished) before the ChannelHangupRequest.
//   - Busy/congestion: the originated side is destroyed with cause 0 ("Unknown") while still Down;
//     the outcome is only in Dial's dialstatus (BUSY/CONGESTION) and in ;2's cause (17/34).
//   - Ring timeout: ;2 ChannelHangupRequest 19, ;2 ChannelHangupRequest 16 soft, ChannelDestroyed ;2
//     19, ChannelDestroyed ;1 19.
//   - StasisStart/StasisEnd are sent to the owning app only (app_send), not to subscribeAll
//     listeners of other apps.
//   - An answered PJSIP channel sets RTPAUDIOQOS* (five ChannelVarset) just before its
//     ChannelHangupRequest.
//   - Inbound calls (Stasis() from the dialplan): the app sees StasisStart only; after StasisEnd the
//     app is unsubscribed, so no ChannelVarset/ChannelDestroyed follows. Consumers must treat
//     StasisEnd (or ChannelHangupRequest) as the end of such a call.
//   - Bridges: ChannelEnteredBridge for each channel, then BRIDGEPEER ChannelVarset on each member;
//     leaving: BRIDGEPEER "" then ChannelLeftBridge. An app is subscribed to a bridge only while
//     one of its channels is in it (app_subscribe_bridge), so it sees neither BridgeCreated nor,
//     once its channels left, BridgeDestroyed (as recorded).
//   - Hold raises no ChannelHold (no moh_passthrough); redirect of a Local channel answers 204 and
//     does nothing; a recording on a Local channel (no audio frames) never reaches
//     maxDurationSeconds and has duration 0. PJSIP channels of the simulator do carry audio.
//
// Where the order is not documented nor recorded, the simulator chooses, and docs/simulator.md
// lists the choices: far-end hangup of a Stasis channel (ChannelHangupRequest with the cause, no
// soft flag, StasisEnd, STASISSTATUS, ChannelDestroyed of ;2 then ;1); hangup of a call that is
// still ringing; PlaybackStarted after queued playbacks on the same channel finish; events raised at
// the same instant by different channels come in a fixed order here (Asterisk varies it).
//
// Concurrency: all state is behind one mutex, and events are queued to each WebSocket in the order
// they happen; a WebSocket that falls more than sendQueue events behind is disconnected and logged,
// never silently thinned. Timers (dialplan steps, playback durations, ring timeouts) run through
// Server.after and die with Close or Restart.
//
// Routing: routes.go is one table of every path and method of Asterisk's API description, served by
// net/http's ServeMux through router.go, which answers unknown paths, wrong methods, OPTIONS and
// trailing slashes as res_ari.c does; the handlers live in routes_*.go by resource.
//
// Calls: originate.go checks and creates what POST /channels asks for; dialplan.go runs it (the
// Dial, Local channels and the reference dialplan's extensions, one behaviour each, side by side);
// endpoints.go holds the simulated PJSIP endpoints and the inbound calls from them.
package arisim
