package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

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
	var req callapi.OriginateRequest
	var tags, vars multi
	fs.StringVar(&req.From, "from", "", `caller id, e.g. '"Sales" <100>'`)
	fs.StringVar((*string)(&req.Node), "node", "", "node to place it on (default: any)")
	fs.StringVar((*string)(&req.Wait), "wait", "none", "none: answer at once; answered: when the callee answered")
	fs.StringVar(&req.Context, "context", "", "dialplan context to connect the answered call to (default: stay under API control)")
	fs.StringVar(&req.Extension, "extension", "", "dialplan extension, with --context")
	fs.IntVar(&req.Timeout, "ring-timeout", 0, "seconds the callee may ring (default: the gateway's)")
	fs.Var(&tags, "tag", "tag (repeatable)")
	fs.Var(&vars, "var", "channel variable K=V (repeatable)")
	async := fs.Bool("async", false, "do not wait for the worker: print the command id (Prefer: respond-async)")
	return func(ctx context.Context, pos []string) error {
		req.To, req.Tags = pos[0], tags
		m, err := keyValues("var", vars)
		if err != nil {
			return err
		}
		req.Variables = m
		if *async {
			acc, err := a.client.OriginateAsync(ctx, req, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(acc, func() { fmt.Fprintf(a.out, "accepted: command %s, call %s\n", acc.CommandID, acc.CallID) })
		}
		c, err := a.client.Originate(ctx, req, a.callOpts()...)
		if _, unanswered := err.(*client.NotAnsweredError); err != nil && !unanswered {
			if req.Wait == callapi.WaitAnswered && client.ErrorCode(err) == callapi.CodeTimeout {
				return &notMetError{msg: "not answered before the deadline (--timeout): " + describe(err), err: err}
			}
			return err
		}
		if err := a.showCall(c); err != nil {
			return err
		}
		if req.Wait == callapi.WaitAnswered && c.AnsweredAt == nil && c.State != callapi.StateUp {
			why := outcome(c)
			if c.Hangup != nil && c.Hangup.DialStatus != "" {
				why += " (" + c.Hangup.DialStatus + ")"
			}
			return &notMetError{msg: fmt.Sprintf("call %s was not answered: %s", c.ID, why)}
		}
		return nil
	}
}

func cmdList(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var f client.ListCallsFilter
	fs.StringVar((*string)(&f.Node), "node", "", "only this node")
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
			a.callTable(l.Calls, f.State == "ended")
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

// callTable prints calls as a table: live or ended ones, with -o wide
// more columns (channel, bridge, creation and answer times; dial status).
func (a *app) callTable(calls []*callapi.Call, ended bool) {
	wide := a.output == "wide"
	var rows [][]string
	for _, c := range calls {
		var r []string
		if ended {
			r = []string{string(c.ID), string(c.Node), orDash(c.From), orDash(c.To), endedAt(c), outcome(c), ms(c.DurationMS), ms(c.TalkMS), orDash(strings.Join(c.Tags, ","))}
		} else {
			r = []string{string(c.ID), string(c.Node), string(c.State), string(c.Direction), orDash(c.From), orDash(c.To), age(c.CreatedAt), orDash(strings.Join(c.Tags, ","))}
		}
		if wide {
			dial := "-"
			if c.Hangup != nil {
				dial = orDash(c.Hangup.DialStatus)
			}
			r = append(r, orDash(c.Channel), orDash(string(c.BridgeID)), timeOf(&c.CreatedAt), timeOf(c.AnsweredAt), dial)
		}
		rows = append(rows, r)
	}
	header := "ID\tNODE\tSTATE\tDIR\tFROM\tTO\tAGE\tTAGS"
	if ended {
		header = "ID\tNODE\tFROM\tTO\tENDED\tOUTCOME\tDURATION\tTALK\tTAGS"
	}
	if wide {
		header += "\tCHANNEL\tBRIDGE\tCREATED\tANSWERED\tDIAL"
	}
	a.table(header, rows)
}

func cmdGet(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		c, err := a.client.GetCall(ctx, callapi.CallID(pos[0]), a.callOpts()...)
		if err != nil {
			return err
		}
		return a.showCall(c)
	}
}

func cmdHangup(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	reason := fs.String("reason", "", "hangup reason: normal, busy, congestion, no_answer, rejected, …")
	return func(ctx context.Context, pos []string) error {
		if err := a.client.Hangup(ctx, callapi.CallID(pos[0]), *reason, a.callOpts()...); err != nil {
			return err
		}
		return a.done("hung up %s", pos[0])
	}
}

// callAction is a command that runs one argument-less call operation.
func callAction(action string) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
		return func(ctx context.Context, pos []string) error {
			fn := map[string]func(context.Context, callapi.CallID, ...client.CallOption) error{
				"answer": a.client.Answer, "hold": a.client.Hold, "unhold": a.client.Unhold,
			}[action]
			if err := fn(ctx, callapi.CallID(pos[0]), a.callOpts()...); err != nil {
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
		if err := fn(ctx, callapi.CallID(pos[0]), a.callOpts()...); err != nil {
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
			if err := fn(ctx, callapi.CallID(pos[0]), *dir, a.callOpts()...); err != nil {
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
		if err := a.client.SendDTMF(ctx, callapi.CallID(pos[0]), client.DTMFRequest{Digits: pos[1], BetweenMS: *between, DurationMS: *duration}, a.callOpts()...); err != nil {
			return err
		}
		return a.done("sent %s to %s", pos[1], pos[0])
	}
}

func cmdPlay(bridge bool) func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
		lang := fs.String("lang", "", "sound language, e.g. en")
		return func(ctx context.Context, pos []string) error {
			play := client.PlayRequest{Media: pos[1:], Lang: *lang}
			var p *callapi.Playback
			var err error
			if bridge {
				p, err = a.client.PlayOnBridge(ctx, callapi.BridgeID(pos[0]), play, a.callOpts()...)
			} else {
				p, err = a.client.Play(ctx, callapi.CallID(pos[0]), play, a.callOpts()...)
			}
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
			var r *callapi.Recording
			var err error
			if bridge {
				r, err = a.client.RecordBridge(ctx, callapi.BridgeID(pos[0]), req, a.callOpts()...)
			} else {
				r, err = a.client.Record(ctx, callapi.CallID(pos[0]), req, a.callOpts()...)
			}
			if err != nil {
				return err
			}
			return a.show(r, func() { fmt.Fprintf(a.out, "recording %s (%s) of %s: %s\n", r.Name, r.Format, pos[0], r.State) })
		}
	}
}

func cmdRedirect(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		if err := a.client.Redirect(ctx, callapi.CallID(pos[0]), pos[1], a.callOpts()...); err != nil {
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
		if err := a.client.Continue(ctx, callapi.CallID(pos[0]), req, a.callOpts()...); err != nil {
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
			if err := a.client.StopMOH(ctx, callapi.CallID(pos[0]), a.callOpts()...); err != nil {
				return err
			}
			return a.done("music on hold stopped on %s", pos[0])
		}
		if err := a.client.StartMOH(ctx, callapi.CallID(pos[0]), *class, a.callOpts()...); err != nil {
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
		c, err := a.client.Snoop(ctx, callapi.CallID(pos[0]), req, a.callOpts()...)
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
			v, err := a.client.GetVariable(ctx, callapi.CallID(pos[0]), pos[1], a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(v, func() { fmt.Fprintf(a.out, "%s=%s\n", v.Name, v.Value) })
		case 3:
			if err := a.client.SetVariable(ctx, callapi.CallID(pos[0]), pos[1], pos[2], a.callOpts()...); err != nil {
				return err
			}
			return a.done("%s: %s=%s", pos[0], pos[1], pos[2])
		}
		return fmt.Errorf("var takes <call-id> <name> [value]")
	}
}

func cmdTransfer(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		b, err := a.client.Transfer(ctx, client.TransferRequest{Transferee: callapi.CallID(pos[0]), Target: callapi.CallID(pos[1]), Transferer: callapi.CallID(pos[2])}, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(b, func() { fmt.Fprintf(a.out, "transferred: %s and %s in bridge %s\n", pos[0], pos[1], b.ID) })
	}
}
