package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// commands lists every callctl command: one per API operation, plus the
// event tail, login and completion.
func commands() []command {
	return []command{
		{name: "originate", args: "<endpoint>", summary: "place a call (POST /v1/calls)", nargs: 1, flags: cmdOriginate},
		{name: "list", summary: "list live calls as a table (GET /v1/calls)", flags: cmdList},
		{name: "get", args: "<call-id>", summary: "show one call", nargs: 1, flags: cmdGet},
		{name: "hangup", args: "<call-id>", summary: "hang up a call", nargs: 1, flags: cmdHangup},
		{name: "create", args: "<endpoint>", summary: "create a call without dialling it (POST /v1/calls/create); then dial", nargs: 1, flags: cmdCreate},
		{name: "dial", args: "<call-id>", summary: "dial a call made by create", nargs: 1, flags: cmdDial},
		{name: "message", args: "<endpoint> <body>", summary: "send a text message (SIP MESSAGE) to an endpoint", nargs: 2, flags: cmdMessage},
		{name: "answer", args: "<call-id>", summary: "answer an inbound call", nargs: 1, flags: callAction("answer")},
		{name: "ring", args: "<call-id>", summary: "indicate ringing to the caller (--stop to end it)", nargs: 1, flags: cmdRing},
		{name: "hold", args: "<call-id>", summary: "put a call on hold", nargs: 1, flags: callAction("hold")},
		{name: "unhold", args: "<call-id>", summary: "take a call off hold", nargs: 1, flags: callAction("unhold")},
		{name: "mute", args: "<call-id>", summary: "mute a call", nargs: 1, flags: cmdMute(true)},
		{name: "unmute", args: "<call-id>", summary: "unmute a call", nargs: 1, flags: cmdMute(false)},
		{name: "dtmf", args: "<call-id> <digits>", summary: "send DTMF digits", nargs: 2, flags: cmdDTMF},
		{name: "play", args: "<call-id> <media>...", summary: "play media (sound:hello-world, tone:ring) to a call", nargs: -1, min: 2, flags: cmdPlay(false)},
		{name: "record", args: "<call-id> <name>", summary: "record a call", nargs: 2, flags: cmdRecord(false)},
		{name: "redirect", args: "<call-id> <endpoint>", summary: "move a call to another endpoint (blind transfer)", nargs: 2, flags: cmdRedirect},
		{name: "continue", args: "<call-id>", summary: "hand a call back to the dialplan", nargs: 1, flags: cmdContinue},
		{name: "moh", args: "<call-id>", summary: "start music on hold (--stop to end it)", nargs: 1, flags: cmdMOH},
		{name: "snoop", args: "<call-id>", summary: "spy on or whisper into a call", nargs: 1, flags: cmdSnoop},
		{name: "var", args: "<call-id> <name> [value]", summary: "read, or with a value set, a channel variable", nargs: -1, min: 2, flags: cmdVar},
		{name: "transfer", args: "<transferee> <target> <transferer>", summary: "attended transfer", nargs: 3, flags: cmdTransfer},
		{name: "bridges", summary: "list bridges as a table", flags: cmdBridges},
		{name: "bridge", args: "create [call-id...] | get|destroy <bridge-id> | add|remove <bridge-id> <call-id> | play <bridge-id> <media>... | record <bridge-id> <name>", summary: "bridge operations", nargs: -1, min: 1, flags: cmdBridge},
		{name: "playback", args: "get|stop|pause|unpause|restart|forward|reverse <playback-id>", summary: "show, stop or control a playback", nargs: 2, flags: cmdPlayback},
		{name: "recording", args: "list | get|delete <name> | live|stop|pause|unpause|mute|unmute <name>", summary: "stored and live recordings", nargs: -1, min: 1, flags: cmdRecording},
		{name: "endpoints", args: "[tech/resource]", summary: "list the endpoints of every node, or show one (--node)", nargs: -1, flags: cmdEndpoints},
		{name: "devstate", args: "list | get <name> | set <name> <state> | delete <name>", summary: "device states (BLF); set and delete Stasis:<name> devices (--node)", nargs: -1, min: 1, flags: cmdDeviceState},
		{name: "mailbox", args: "list | get <name> | set <name> <old> <new> | delete <name>", summary: "mailbox message counts (MWI) (--node)", nargs: -1, min: 1, flags: cmdMailbox},
		{name: "global", args: "<name> [value]", summary: "read, or with a value set, a global variable (--node)", nargs: -1, min: 1, flags: cmdGlobal},
		{name: "nodes", args: "[node-id]", summary: "list the nodes as a table, or show one", nargs: -1, flags: cmdNodes},
		{name: "webhook", args: "create <url> | list | get|update|delete|pause|resume|rotate|ping|log <webhook-id>", summary: "webhook subscriptions: signed POSTs of events (/v1/webhooks)", nargs: -1, min: 1, flags: cmdWebhook},
		{name: "events", summary: "tail events, one readable line each; reconnects and resumes", flags: cmdEvents},
		{name: "timeline", args: "<call-id>", summary: "follow one call's events with times since its start, until it ends", nargs: 1, flags: cmdTimeline},
		{name: "inbound", args: "<from> [to]", summary: "dev only: make the simulator place an inbound call", nargs: -1, min: 1, flags: cmdInbound},
		{name: "login", summary: "get a token with client credentials and save it for later commands", flags: cmdLogin},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", nargs: 1, flags: cmdCompletion},
		{name: "version", summary: "print callctl's version and the gateway's API version", flags: cmdVersion},
	}
}

// show prints v as JSON with -o json, its ids with -o id, else calls
// human.
func (a *app) show(v any, human func()) error {
	switch a.output {
	case "json":
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "id":
		for _, id := range idsOf(v) {
			fmt.Fprintln(a.out, id)
		}
		return nil
	}
	human()
	return nil
}

// idsOf is what -o id prints of v: the ids (or names) of what it shows.
func idsOf(v any) []string {
	var ids []string
	switch v := v.(type) {
	case *callapi.Call:
		ids = append(ids, string(v.ID))
	case *client.CallList:
		for _, c := range v.Calls {
			ids = append(ids, string(c.ID))
		}
	case *callapi.Accepted:
		ids = append(ids, v.CommandID)
	case *callapi.Bridge:
		ids = append(ids, string(v.ID))
	case *client.BridgeList:
		for _, b := range v.Bridges {
			ids = append(ids, string(b.ID))
		}
	case *callapi.Playback:
		ids = append(ids, v.ID)
	case *callapi.Recording:
		ids = append(ids, v.Name)
	case *client.RecordingList:
		for _, r := range v.Recordings {
			ids = append(ids, r.Name)
		}
	case []callapi.Node:
		for _, n := range v {
			ids = append(ids, string(n.Node))
		}
	case *callapi.Webhook:
		ids = append(ids, v.ID)
	case []*callapi.Webhook:
		for _, w := range v {
			ids = append(ids, w.ID)
		}
	}
	return ids
}

// done prints a one-line confirmation (or {"ok":true} with --json).
func (a *app) done(format string, args ...any) error {
	return a.show(map[string]bool{"ok": true}, func() { fmt.Fprintf(a.out, format+"\n", args...) })
}

func (a *app) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Truncate(time.Second).String()
}

// timeOf is a time of day with milliseconds, or "-".
func timeOf(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("15:04:05.000")
}

func endedAt(c *callapi.Call) string {
	if c.EndedAt == nil {
		return "-"
	}
	return c.EndedAt.Local().Format("15:04:05")
}

// outcome is "16 Normal Clearing by api".
func outcome(c *callapi.Call) string {
	if c.Hangup == nil {
		return "-"
	}
	s := fmt.Sprintf("%d %s", c.Hangup.Cause, c.Hangup.CauseText)
	if c.EndReason != "" {
		s += " by " + c.EndReason
	}
	return s
}

func ms(p *int64) string {
	if p == nil {
		return "-"
	}
	return (time.Duration(*p) * time.Millisecond).String()
}
