package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// ANSI colours by event kind.
const (
	cReset  = "\x1b[0m"
	cDim    = "\x1b[2m"
	cRed    = "\x1b[31m"
	cGreen  = "\x1b[32m"
	cYellow = "\x1b[33m"
	cBlue   = "\x1b[34m"
	cPurple = "\x1b[35m"
	cCyan   = "\x1b[36m"
)

func colourOf(t callapi.EventType) string {
	s := string(t)
	switch {
	case s == "call.hangup", s == "node.down", strings.HasSuffix(s, ".failed"):
		return cRed
	case s == "call.answered", s == "node.up":
		return cGreen
	case s == "call.ringing", s == "node.draining", s == "call.hold":
		return cYellow
	case s == "call.created":
		return cCyan
	case strings.Contains(s, "bridge"):
		return cPurple
	case strings.HasPrefix(s, "call.playback"), strings.HasPrefix(s, "call.recording"), s == "call.dtmf":
		return cBlue
	}
	return ""
}

// short cuts a UUID-like id to its first 8 characters for the line
// format (the full id is in --json).
func short(id string) string {
	if len(id) == 36 && id[8] == '-' {
		return id[:8]
	}
	return id
}

// keyFields are the few fields of an event's data that matter to a
// person reading a tail.
func keyFields(e *callapi.Event) string {
	d, err := callapi.DecodeData(e)
	if err != nil {
		return "(undecodable data)"
	}
	var f []string
	add := func(k, v string) {
		if v != "" {
			f = append(f, k+"="+v)
		}
	}
	switch v := d.(type) {
	case *callapi.CreatedData:
		add("dir", string(v.Direction))
		add("from", v.From)
		add("to", v.To)
		if v.Adopted {
			add("adopted", "yes")
		}
		if len(v.Args) > 0 {
			add("args", strings.Join(v.Args, ","))
		}
	case *callapi.StateData:
		add("state", string(v.State))
	case *callapi.HangupData:
		add("cause", fmt.Sprintf("%d(%s)", v.Cause, v.CauseText))
		add("dial", v.DialStatus)
		add("by", v.Reason)
	case *callapi.DTMFData:
		add("digit", v.Digit)
		add("ms", fmt.Sprint(v.DurationMS))
	case *callapi.HoldData:
		add("by", v.Source)
	case *callapi.PlaybackData:
		add("media", v.Media)
		add("playback", short(v.PlaybackID))
	case *callapi.RecordingData:
		add("name", v.Name)
		add("state", v.State)
		add("cause", v.Cause)
		if v.Duration != nil {
			add("duration", fmt.Sprintf("%ds", *v.Duration))
		}
	case *callapi.BridgedData:
		add("bridge", short(string(v.BridgeID)))
	case *callapi.BridgeData:
		add("type", v.Type)
		add("name", v.Name)
	case *callapi.Heartbeat:
		add("state", string(v.State))
		add("calls", fmt.Sprintf("%d/%d", v.Calls, v.Capacity))
		add("reason", v.Reason)
	case *callapi.CommandCompletedData:
		add("action", string(v.Action))
		add("command", short(v.CommandID))
		if v.Reply != nil && !v.Reply.OK && v.Reply.Error != nil {
			add("error", string(v.Reply.Error.Code))
		}
	}
	if len(e.Tags) > 0 {
		add("tags", strings.Join(e.Tags, ","))
	}
	return strings.Join(f, " ")
}

// eventLine is one event as one line: time, node, call (or bridge), type,
// key fields.
func eventLine(e *callapi.Event, colour bool, since time.Time) string {
	ts := e.Time.Local().Format("15:04:05.000")
	if !since.IsZero() {
		ts = fmt.Sprintf("%+9.3fs", e.Time.Sub(since).Seconds())
	}
	subject := short(string(e.CallID))
	if subject == "" {
		subject = short(string(e.BridgeID))
	}
	if subject == "" {
		subject = "-"
	}
	typ := fmt.Sprintf("%-23s", e.Type)
	if c := colourOf(e.Type); colour && c != "" {
		typ = c + typ + cReset
	}
	if colour {
		ts = cDim + ts + cReset
	}
	return strings.TrimRight(fmt.Sprintf("%s %-6s %-8s %s %s", ts, e.Node, subject, typ, keyFields(e)), " ")
}

// replayTime reads --since as a time to replay from: RFC 3339, unix
// milliseconds, or a duration ago; ok is false for an event's cursor or
// id.
func replayTime(s string, now time.Time) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms), true
	}
	return time.Time{}, false
}

// tail prints the stream's events until ctx ends or stop says so.
func (a *app) tail(ctx context.Context, f client.EventFilter, lastID string, stop func(*callapi.Event) bool, since func(*callapi.Event) time.Time) error {
	lost := false
	open := a.client.Events
	if a.ws {
		open = a.client.EventsWS
	}
	st, err := open(ctx, f, client.StreamOptions{LastEventID: lastID, Since: a.replayFrom,
		OnReconnect: func(err error, n int) {
			lost = true
			fmt.Fprintf(a.errOut, "callctl: event stream lost (%v); reconnecting (attempt %d), resuming after the last event\n", err, n)
		},
		OnConnect: func() {
			if lost {
				lost = false
				fmt.Fprintln(a.errOut, "callctl: event stream connected again; resumed after the last event")
			}
		}})
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil // Ctrl-C
		}
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(a.out)
	for e, err := range st.All() {
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
		if a.json {
			err = enc.Encode(e)
		} else {
			var t0 time.Time
			if since != nil {
				t0 = since(e)
			}
			_, err = fmt.Fprintln(a.out, eventLine(e, a.colour, t0))
		}
		if err != nil {
			return err
		}
		if stop != nil && stop(e) {
			return nil
		}
	}
	return nil
}

func cmdEvents(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var f client.EventFilter
	var types multi
	fs.Var(&types, "type", "event type or prefix: call.hangup, call., node. (repeatable)")
	fs.StringVar((*string)(&f.CallID), "call", "", "only this call's events")
	fs.StringVar((*string)(&f.Node), "node", "", "only this node's events")
	fs.StringVar(&f.Tag, "tag", "", "only events of calls with this tag")
	last := fs.String("since", "", "resume after this event (its cursor or id, Last-Event-ID), or replay the kept events from a time: RFC 3339, unix milliseconds or a duration ago (10m)")
	maxN := fs.Int("max", 0, "exit after this many events (0: until Ctrl-C)")
	fs.BoolVar(&a.ws, "ws", false, "read the WebSocket stream instead of Server-Sent Events")
	return func(ctx context.Context, _ []string) error {
		for _, t := range types {
			for _, t := range strings.Split(t, ",") {
				f.Types = append(f.Types, callapi.EventType(t))
			}
		}
		id, err := a.resolveCall(ctx, string(f.CallID))
		if err != nil {
			return err
		}
		f.CallID = callapi.CallID(id)
		resume := *last
		if t, ok := replayTime(resume, time.Now()); ok {
			a.replayFrom, resume = t, ""
		}
		n := 0
		return a.tail(ctx, f, resume, func(*callapi.Event) bool { n++; return *maxN > 0 && n >= *maxN }, nil)
	}
}

func cmdTimeline(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		var start time.Time
		c, err := a.client.GetCall(ctx, callapi.CallID(pos[0]), a.callOpts()...)
		switch {
		case err == nil:
			start = c.CreatedAt
			if !a.json {
				fmt.Fprintf(a.out, "call %s on %s: %s → %s, %s since %s\n", c.ID, c.Node, orDash(c.From), orDash(c.To), c.State, c.CreatedAt.Local().Format("15:04:05.000"))
			}
		case client.ErrorCode(err) == callapi.CodeNotFound:
			// not yet placed, or ended: follow whatever comes
		default:
			return err
		}
		since := func(e *callapi.Event) time.Time {
			if start.IsZero() {
				start = e.Time
			}
			return start
		}
		return a.tail(ctx, client.EventFilter{CallID: callapi.CallID(pos[0])}, "", func(e *callapi.Event) bool { return e.Type == "call.hangup" }, since)
	}
}

// isTerminal reports whether f is a terminal (colour on with --color=auto).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
