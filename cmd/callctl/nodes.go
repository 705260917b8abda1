package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/callgw/callgw/callapi"
)

func cmdNodes(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, pos []string) error {
		var nodes []callapi.Node
		if len(pos) > 1 {
			return fmt.Errorf("nodes takes at most one node id")
		}
		if len(pos) == 1 {
			n, err := a.client.GetNode(ctx, callapi.NodeID(pos[0]), a.callOpts()...)
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
		if a.output == "id" {
			return a.show(nodes, nil)
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
