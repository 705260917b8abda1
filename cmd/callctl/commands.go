package main

import (
	"context"
	"encoding/json"
	"flag"
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
		{name: "playback", args: "get|stop <playback-id>", summary: "show or stop a playback", nargs: 2, flags: cmdPlayback},
		{name: "recording", args: "list | get|delete <name> | live|stop <name>", summary: "stored and live recordings", nargs: -1, min: 1, flags: cmdRecording},
		{name: "nodes", args: "[node-id]", summary: "list the nodes as a table, or show one", nargs: -1, flags: cmdNodes},
		{name: "events", summary: "tail events, one readable line each; reconnects and resumes", flags: cmdEvents},
		{name: "timeline", args: "<call-id>", summary: "follow one call's events with times since its start, until it ends", nargs: 1, flags: cmdTimeline},
		{name: "inbound", args: "<from> [to]", summary: "dev only: make the simulator place an inbound call", nargs: -1, min: 1, flags: cmdInbound},
		{name: "login", summary: "get a token with client credentials and save it for later commands", flags: cmdLogin},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", nargs: 1, flags: cmdCompletion},
	}
}

// show prints v as JSON with --json, else calls human.
func (a *app) show(v any, human func()) error {
	if a.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human()
	return nil
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

func (a *app) showCall(c *callapi.Call) error {
	return a.show(c, func() {
		rows := [][]string{{"id", string(c.ID)}, {"node", string(c.Node)}, {"state", string(c.State)}, {"direction", string(c.Direction)},
			{"from", orDash(c.From)}, {"to", orDash(c.To)}, {"channel", orDash(c.Channel)}, {"created", c.CreatedAt.Local().Format(time.DateTime)}}
		if c.AnsweredAt != nil {
			rows = append(rows, []string{"answered", c.AnsweredAt.Local().Format(time.DateTime)})
		}
		if len(c.Tags) > 0 {
			rows = append(rows, []string{"tags", strings.Join(c.Tags, ",")})
		}
		if c.BridgeID != "" {
			rows = append(rows, []string{"bridge", string(c.BridgeID)})
		}
		if c.Hangup != nil {
			rows = append(rows, []string{"outcome", outcome(c) + " " + c.Hangup.DialStatus})
		}
		if c.EndedAt != nil {
			rows = append(rows, []string{"ended", c.EndedAt.Local().Format(time.DateTime)}, []string{"duration", ms(c.DurationMS)}, []string{"talk", ms(c.TalkMS)})
		}
		for k, v := range c.Variables {
			rows = append(rows, []string{"var " + k, v})
		}
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintln(tw, r[0]+"\t"+r[1])
		}
		_ = tw.Flush()
	})
}

func cmdOriginate(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req client.OriginateRequest
	var tags, vars multi
	fs.StringVar(&req.From, "from", "", `caller id, e.g. '"Sales" <100>'`)
	fs.StringVar(&req.Node, "node", "", "node to place it on (default: any)")
	fs.StringVar((*string)(&req.Wait), "wait", "none", "none: answer at once; answered: when the callee answered")
	fs.StringVar(&req.Context, "context", "", "dialplan context to connect the answered call to (default: stay under API control)")
	fs.StringVar(&req.Extension, "extension", "", "dialplan extension, with --context")
	fs.IntVar(&req.Timeout, "ring-timeout", 0, "seconds the callee may ring (default: the gateway's)")
	fs.Var(&tags, "tag", "tag (repeatable)")
	fs.Var(&vars, "var", "channel variable K=V (repeatable)")
	async := fs.Bool("async", false, "do not wait for the worker: print the command id (Prefer: respond-async)")
	return func(ctx context.Context, pos []string) error {
		req.To, req.Tags = pos[0], tags
		if len(vars) > 0 {
			req.Variables = map[string]string{}
			for _, kv := range vars {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--var %q: want K=V", kv)
				}
				req.Variables[k] = v
			}
		}
		if *async {
			acc, err := a.client.OriginateAsync(ctx, req, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(acc, func() { fmt.Fprintf(a.out, "accepted: command %s, call %s\n", acc.CommandID, acc.CallID) })
		}
		c, err := a.client.Originate(ctx, req, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.showCall(c)
	}
}

func cmdList(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var f client.ListCallsFilter
	fs.StringVar(&f.Node, "node", "", "only this node")
	fs.Func("state", "only this state (down, dialing, ringing, up, busy), or ended: the calls that ended recently", func(s string) error { f.State = callapi.CallState(s); return nil })
	fs.StringVar(&f.Tag, "tag", "", "only calls with this tag")
	fs.IntVar(&f.Limit, "limit", 0, "at most this many calls, and the cursor of the next page (0: all)")
	fs.StringVar(&f.Cursor, "cursor", "", "the next page: the cursor a --limit listing printed")
	return func(ctx context.Context, _ []string) error {
		l, err := a.client.ListCalls(ctx, f, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(l, func() {
			var rows [][]string
			if f.State == "ended" {
				for _, c := range l.Calls {
					rows = append(rows, []string{string(c.ID), string(c.Node), orDash(c.From), orDash(c.To), endedAt(c), outcome(c), ms(c.DurationMS), ms(c.TalkMS), orDash(strings.Join(c.Tags, ","))})
				}
				a.table("ID\tNODE\tFROM\tTO\tENDED\tOUTCOME\tDURATION\tTALK\tTAGS", rows)
			} else {
				for _, c := range l.Calls {
					rows = append(rows, []string{string(c.ID), string(c.Node), string(c.State), string(c.Direction), orDash(c.From), orDash(c.To), age(c.CreatedAt), orDash(strings.Join(c.Tags, ","))})
				}
				a.table("ID\tNODE\tSTATE\tDIR\tFROM\tTO\tAGE\tTAGS", rows)
			}
			fmt.Fprintf(a.out, "%d call(s)", len(l.Calls))
			if l.NextCursor != "" {
				fmt.Fprintf(a.out, "; more: --cursor %s", l.NextCursor)
			}
			if len(l.MissingNodes) > 0 {
				fmt.Fprintf(a.out, "; nodes that did not answer (their calls are missing): %s", strings.Join(l.MissingNodes, ", "))
			}
			fmt.Fprintln(a.out)
		})
	}
}

func cmdGet(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		c, err := a.client.GetCall(ctx, pos[0], a.callOpts()...)
		if err != nil {
			return err
		}
		return a.showCall(c)
	}
}

func cmdHangup(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	reason := fs.String("reason", "", "hangup reason: normal, busy, congestion, no_answer, rejected, …")
	return func(ctx context.Context, pos []string) error {
		if err := a.client.Hangup(ctx, pos[0], *reason, a.callOpts()...); err != nil {
			return err
		}
		return a.done("hung up %s", pos[0])
	}
}

// callAction is a command that runs one argument-less call operation.
func callAction(action string) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
		return func(ctx context.Context, pos []string) error {
			fn := map[string]func(context.Context, string, ...client.CallOption) error{
				"answer": a.client.Answer, "hold": a.client.Hold, "unhold": a.client.Unhold,
			}[action]
			if err := fn(ctx, pos[0], a.callOpts()...); err != nil {
				return err
			}
			return a.done("%s: %s", action, pos[0])
		}
	}
}

func cmdRing(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	stop := fs.Bool("stop", false, "stop indicating ringing")
	return func(ctx context.Context, pos []string) error {
		fn, what := a.client.Ring, "ringing"
		if *stop {
			fn, what = a.client.RingStop, "ringing stopped"
		}
		if err := fn(ctx, pos[0], a.callOpts()...); err != nil {
			return err
		}
		return a.done("%s: %s", what, pos[0])
	}
}

func cmdMute(on bool) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
		dir := fs.String("direction", "both", "both, in (what the caller says) or out (what the caller hears)")
		return func(ctx context.Context, pos []string) error {
			fn, what := a.client.Mute, "muted"
			if !on {
				fn, what = a.client.Unmute, "unmuted"
			}
			if err := fn(ctx, pos[0], *dir, a.callOpts()...); err != nil {
				return err
			}
			return a.done("%s %s (%s)", what, pos[0], *dir)
		}
	}
}

func cmdDTMF(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	between := fs.Int("between", 0, "milliseconds between digits (default: Asterisk's)")
	duration := fs.Int("duration", 0, "milliseconds per digit (default: Asterisk's)")
	return func(ctx context.Context, pos []string) error {
		if err := a.client.SendDTMF(ctx, pos[0], client.DTMFRequest{Digits: pos[1], BetweenMS: *between, DurationMS: *duration}, a.callOpts()...); err != nil {
			return err
		}
		return a.done("sent %s to %s", pos[1], pos[0])
	}
}

func cmdPlay(bridge bool) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
		lang := fs.String("lang", "", "sound language, e.g. en")
		return func(ctx context.Context, pos []string) error {
			fn := a.client.Play
			if bridge {
				fn = a.client.PlayOnBridge
			}
			p, err := fn(ctx, pos[0], client.PlayRequest{Media: pos[1:], Lang: *lang}, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(p, func() { fmt.Fprintf(a.out, "playback %s: %s on %s (%s)\n", p.ID, p.Media, pos[0], p.State) })
		}
	}
}

func cmdRecord(bridge bool) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
		var req client.RecordRequest
		fs.StringVar(&req.Format, "format", "wav", "wav, wav16, gsm, ulaw, alaw, sln, g722, g729, ogg")
		fs.IntVar(&req.MaxDurationSeconds, "max-duration", 0, "stop after this many seconds (0: no limit)")
		fs.IntVar(&req.MaxSilenceSeconds, "max-silence", 0, "stop after this many seconds of silence (0: no limit)")
		fs.BoolVar(&req.Beep, "beep", false, "beep first")
		fs.StringVar(&req.IfExists, "if-exists", "", "fail (default), overwrite or append")
		fs.StringVar(&req.TerminateOn, "terminate-on", "", "DTMF that stops it: none, any, *, #")
		return func(ctx context.Context, pos []string) error {
			req.Name = pos[1]
			fn := a.client.Record
			if bridge {
				fn = a.client.RecordBridge
			}
			r, err := fn(ctx, pos[0], req, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(r, func() { fmt.Fprintf(a.out, "recording %s (%s) of %s: %s\n", r.Name, r.Format, pos[0], r.State) })
		}
	}
}

func cmdRedirect(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := a.client.Redirect(ctx, pos[0], pos[1], a.callOpts()...); err != nil {
			return err
		}
		return a.done("redirected %s to %s", pos[0], pos[1])
	}
}

func cmdContinue(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req client.ContinueRequest
	fs.StringVar(&req.Context, "context", "", "dialplan context (default: where the call came from)")
	fs.StringVar(&req.Extension, "extension", "", "dialplan extension")
	fs.IntVar(&req.Priority, "priority", 0, "dialplan priority")
	fs.StringVar(&req.Label, "label", "", "dialplan label")
	return func(ctx context.Context, pos []string) error {
		if err := a.client.Continue(ctx, pos[0], req, a.callOpts()...); err != nil {
			return err
		}
		return a.done("%s continues in the dialplan", pos[0])
	}
}

func cmdMOH(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	class := fs.String("class", "", "music-on-hold class (default: Asterisk's)")
	stop := fs.Bool("stop", false, "stop the music")
	return func(ctx context.Context, pos []string) error {
		if *stop {
			if err := a.client.StopMOH(ctx, pos[0], a.callOpts()...); err != nil {
				return err
			}
			return a.done("music on hold stopped on %s", pos[0])
		}
		if err := a.client.StartMOH(ctx, pos[0], *class, a.callOpts()...); err != nil {
			return err
		}
		return a.done("music on hold on %s", pos[0])
	}
}

func cmdSnoop(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req client.SnoopRequest
	fs.StringVar(&req.Spy, "spy", "both", "what to hear: none, both, in, out")
	fs.StringVar(&req.Whisper, "whisper", "none", "where to speak: none, both, in, out")
	return func(ctx context.Context, pos []string) error {
		c, err := a.client.Snoop(ctx, pos[0], req, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.showCall(c)
	}
}

func cmdVar(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		switch len(pos) {
		case 2:
			v, err := a.client.GetVariable(ctx, pos[0], pos[1], a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(v, func() { fmt.Fprintf(a.out, "%s=%s\n", v.Name, v.Value) })
		case 3:
			if err := a.client.SetVariable(ctx, pos[0], pos[1], pos[2], a.callOpts()...); err != nil {
				return err
			}
			return a.done("%s: %s=%s", pos[0], pos[1], pos[2])
		}
		return fmt.Errorf("var takes <call-id> <name> [value]")
	}
}

func cmdTransfer(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		b, err := a.client.Transfer(ctx, client.TransferRequest{Transferee: pos[0], Target: pos[1], Transferer: pos[2]}, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(b, func() { fmt.Fprintf(a.out, "transferred: %s and %s in bridge %s\n", pos[0], pos[1], b.ID) })
	}
}

func (a *app) bridgeTable(bs []*callapi.Bridge, missing []string) {
	var rows [][]string
	for _, b := range bs {
		calls := make([]string, len(b.Calls))
		for i, c := range b.Calls {
			calls[i] = string(c)
		}
		rows = append(rows, []string{string(b.ID), string(b.Node), b.Type, orDash(b.Name), age(b.CreatedAt), orDash(strings.Join(calls, ","))})
	}
	a.table("ID\tNODE\tTYPE\tNAME\tAGE\tCALLS", rows)
	if len(missing) > 0 {
		fmt.Fprintf(a.out, "nodes that did not answer: %s\n", strings.Join(missing, ", "))
	}
}

func cmdBridges(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, _ []string) error {
		l, err := a.client.ListBridges(ctx, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(l, func() { a.bridgeTable(l.Bridges, l.MissingNodes) })
	}
}

func cmdBridge(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req client.BridgeRequest
	fs.StringVar(&req.Type, "type", "", "create: mixing (default), holding, dtmf_events, proxy_media")
	fs.StringVar(&req.Name, "name", "", "create: a name")
	fs.StringVar(&req.Node, "node", "", "create: the node (default: the calls' node)")
	play, record := cmdPlay(true)(a, fs), cmdRecord(true)(a, fs)
	return func(ctx context.Context, pos []string) error {
		sub, rest := pos[0], pos[1:]
		need := func(n int) error {
			if len(rest) != n {
				return fmt.Errorf("bridge %s takes %d argument(s)", sub, n)
			}
			return nil
		}
		switch sub {
		case "create":
			req.Calls = rest
			b, err := a.client.CreateBridge(ctx, req, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(b, func() { a.bridgeTable([]*callapi.Bridge{b}, nil) })
		case "list":
			return cmdBridges(a, fs)(ctx, nil)
		case "get":
			if err := need(1); err != nil {
				return err
			}
			b, err := a.client.GetBridge(ctx, rest[0], a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(b, func() { a.bridgeTable([]*callapi.Bridge{b}, nil) })
		case "destroy":
			if err := need(1); err != nil {
				return err
			}
			if err := a.client.DestroyBridge(ctx, rest[0], a.callOpts()...); err != nil {
				return err
			}
			return a.done("destroyed bridge %s", rest[0])
		case "add", "remove":
			if err := need(2); err != nil {
				return err
			}
			fn, what := a.client.AddToBridge, "added %s to bridge %s"
			if sub == "remove" {
				fn, what = a.client.RemoveFromBridge, "removed %s from bridge %s"
			}
			if err := fn(ctx, rest[0], rest[1], a.callOpts()...); err != nil {
				return err
			}
			return a.done(what, rest[1], rest[0])
		case "play":
			if len(rest) < 2 {
				return fmt.Errorf("bridge play takes <bridge-id> <media> [media...]")
			}
			return play(ctx, rest)
		case "record":
			if err := need(2); err != nil {
				return err
			}
			return record(ctx, rest)
		}
		return fmt.Errorf("unknown bridge subcommand %q: create, list, get, destroy, add, remove, play, record", sub)
	}
}

func cmdPlayback(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		switch pos[0] {
		case "get":
			p, err := a.client.GetPlayback(ctx, pos[1], a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(p, func() { fmt.Fprintf(a.out, "playback %s: %s on %s (%s)\n", p.ID, p.Media, p.TargetID, p.State) })
		case "stop":
			if err := a.client.StopPlayback(ctx, pos[1], a.callOpts()...); err != nil {
				return err
			}
			return a.done("stopped playback %s", pos[1])
		}
		return fmt.Errorf("playback takes get or stop, not %q", pos[0])
	}
}

func (a *app) recordingTable(rs []*callapi.Recording) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Name, string(r.Node), r.Format, orDash(r.State), orDash(r.TargetID), fmt.Sprintf("%ds", r.DurationSeconds)})
	}
	a.table("NAME\tNODE\tFORMAT\tSTATE\tOF\tDURATION", rows)
}

func cmdRecording(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		sub, rest := pos[0], pos[1:]
		if sub == "list" {
			l, err := a.client.ListStoredRecordings(ctx, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(l, func() {
				a.recordingTable(l.Recordings)
				if len(l.MissingNodes) > 0 {
					fmt.Fprintf(a.out, "nodes that did not answer: %s\n", strings.Join(l.MissingNodes, ", "))
				}
			})
		}
		if len(rest) != 1 {
			return fmt.Errorf("recording %s takes one name", sub)
		}
		var r *callapi.Recording
		var err error
		switch sub {
		case "get":
			r, err = a.client.GetStoredRecording(ctx, rest[0], a.callOpts()...)
		case "live":
			r, err = a.client.GetLiveRecording(ctx, rest[0], a.callOpts()...)
		case "delete":
			if err := a.client.DeleteStoredRecording(ctx, rest[0], a.callOpts()...); err != nil {
				return err
			}
			return a.done("deleted recording %s", rest[0])
		case "stop":
			if err := a.client.StopRecording(ctx, rest[0], a.callOpts()...); err != nil {
				return err
			}
			return a.done("stopped recording %s", rest[0])
		default:
			return fmt.Errorf("unknown recording subcommand %q: list, get, delete, live, stop", sub)
		}
		if err != nil {
			return err
		}
		return a.show(r, func() { a.recordingTable([]*callapi.Recording{r}) })
	}
}

func cmdNodes(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		var nodes []callapi.Node
		if len(pos) > 1 {
			return fmt.Errorf("nodes takes at most one node id")
		}
		if len(pos) == 1 {
			n, err := a.client.GetNode(ctx, pos[0], a.callOpts()...)
			if err != nil {
				return err
			}
			if a.json {
				return a.show(n, nil)
			}
			nodes = []callapi.Node{*n}
		} else {
			l, err := a.client.ListNodes(ctx, a.callOpts()...)
			if err != nil {
				return err
			}
			if a.json {
				return a.show(map[string]any{"nodes": l}, nil)
			}
			nodes = l
		}
		var rows [][]string
		for _, n := range nodes {
			health := "yes"
			if !n.Healthy {
				health = "no: " + n.Reason
			}
			rows = append(rows, []string{string(n.Node), string(n.State), fmt.Sprintf("%d/%d", n.Calls, n.Capacity), health, orDash(n.AsteriskVersion), age(n.LastSeen) + " ago"})
		}
		a.table("NODE\tSTATE\tCALLS\tHEALTHY\tASTERISK\tLAST BEAT", rows)
		return nil
	}
}
