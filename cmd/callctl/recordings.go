package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/callgw/callgw/callapi"
)

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
		if slices.Contains(callapi.PlaybackOperations, pos[0]) {
			p, err := a.client.ControlPlayback(ctx, pos[1], pos[0], a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(p, func() { fmt.Fprintf(a.out, "playback %s: %s on %s (%s)\n", p.ID, p.Media, p.TargetID, p.State) })
		}
		return fmt.Errorf("playback takes get, stop, %s, not %q", strings.Join(callapi.PlaybackOperations, ", "), pos[0])
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
		case callapi.RecordingPause, callapi.RecordingUnpause, callapi.RecordingMute, callapi.RecordingUnmute:
			r, err = a.client.ControlRecording(ctx, rest[0], sub, a.callOpts()...)
		default:
			return fmt.Errorf("unknown recording subcommand %q: list, get, delete, live, stop, pause, unpause, mute, unmute", sub)
		}
		if err != nil {
			return err
		}
		return a.show(r, func() { a.recordingTable([]*callapi.Recording{r}) })
	}
}
