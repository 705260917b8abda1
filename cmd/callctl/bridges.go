package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/callgw/callgw/callapi"
)

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
	var req callapi.BridgeCreateRequest
	fs.StringVar(&req.Type, "type", "", "create: mixing (default), holding, dtmf_events, proxy_media")
	fs.StringVar(&req.Name, "name", "", "create: a name")
	fs.StringVar((*string)(&req.Node), "node", "", "create: the node (default: the calls' node)")
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
			req.Calls = nil
			for _, id := range rest {
				req.Calls = append(req.Calls, callapi.CallID(id))
			}
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
			b, err := a.client.GetBridge(ctx, callapi.BridgeID(rest[0]), a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(b, func() { a.bridgeTable([]*callapi.Bridge{b}, nil) })
		case "destroy":
			if err := need(1); err != nil {
				return err
			}
			if err := a.client.DestroyBridge(ctx, callapi.BridgeID(rest[0]), a.callOpts()...); err != nil {
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
			if err := fn(ctx, callapi.BridgeID(rest[0]), callapi.CallID(rest[1]), a.callOpts()...); err != nil {
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
