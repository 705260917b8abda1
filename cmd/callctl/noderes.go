package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// The node resource commands: endpoints, device states (BLF), mailboxes
// (MWI) and global variables. --node addresses one node; without it a
// listing covers every live node, a read answers from the first node that
// has the name, a change is made on every live node.

// nodeOpts are callOpts with --node.
func (a *app) nodeOpts(node string) []client.CallOption {
	opts := a.callOpts()
	if node != "" {
		opts = append(opts, client.OnNode(node))
	}
	return opts
}

func (a *app) missing(nodes []string) {
	if len(nodes) > 0 {
		fmt.Fprintf(a.out, "nodes that did not answer: %s\n", strings.Join(nodes, ", "))
	}
}

// cmdEndpoints lists the endpoints, or shows one.
func cmdEndpoints(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	node := fs.String("node", "", "only this node")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 1 {
			return fmt.Errorf("endpoints: at most one endpoint (technology/resource)")
		}
		if len(pos) == 1 {
			e, err := a.client.GetEndpoint(ctx, pos[0], a.nodeOpts(*node)...)
			if err != nil {
				return err
			}
			return a.show(e, func() { a.endpointTable([]*callapi.Endpoint{e}) })
		}
		l, err := a.client.ListEndpoints(ctx, a.nodeOpts(*node)...)
		if err != nil {
			return err
		}
		return a.show(l, func() { a.endpointTable(l.Endpoints); a.missing(l.MissingNodes) })
	}
}

func (a *app) endpointTable(l []*callapi.Endpoint) {
	rows := make([][]string, 0, len(l))
	for _, e := range l {
		rows = append(rows, []string{e.Name, string(e.Node), e.State, strconv.Itoa(e.Calls)})
	}
	a.table("ENDPOINT\tNODE\tSTATE\tCALLS", rows)
}

// cmdDeviceState lists, shows, sets or deletes device states.
func cmdDeviceState(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	node := fs.String("node", "", "only this node")
	return func(ctx context.Context, pos []string) error {
		sub, rest := pos[0], pos[1:]
		opts := a.nodeOpts(*node)
		switch {
		case sub == "list" && len(rest) == 0:
			l, err := a.client.ListDeviceStates(ctx, opts...)
			if err != nil {
				return err
			}
			return a.show(l, func() { a.deviceTable(l.DeviceStates); a.missing(l.MissingNodes) })
		case sub == "get" && len(rest) == 1:
			d, err := a.client.GetDeviceState(ctx, rest[0], opts...)
			if err != nil {
				return err
			}
			return a.show(d, func() { a.deviceTable([]*callapi.DeviceState{d}) })
		case sub == "set" && len(rest) == 2:
			if err := a.client.SetDeviceState(ctx, rest[0], rest[1], opts...); err != nil {
				return err
			}
			return a.done("%s is %s", rest[0], rest[1])
		case sub == "delete" && len(rest) == 1:
			if err := a.client.DeleteDeviceState(ctx, rest[0], opts...); err != nil {
				return err
			}
			return a.done("deleted device state %s", rest[0])
		}
		return fmt.Errorf("devstate: list | get <name> | set <name> <state> | delete <name>")
	}
}

func (a *app) deviceTable(l []*callapi.DeviceState) {
	rows := make([][]string, 0, len(l))
	for _, d := range l {
		rows = append(rows, []string{d.Name, orDash(string(d.Node)), d.State})
	}
	a.table("DEVICE\tNODE\tSTATE", rows)
}

// cmdMailbox lists, shows, sets or deletes mailboxes.
func cmdMailbox(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	node := fs.String("node", "", "only this node")
	return func(ctx context.Context, pos []string) error {
		sub, rest := pos[0], pos[1:]
		opts := a.nodeOpts(*node)
		switch {
		case sub == "list" && len(rest) == 0:
			l, err := a.client.ListMailboxes(ctx, opts...)
			if err != nil {
				return err
			}
			return a.show(l, func() { a.mailboxTable(l.Mailboxes); a.missing(l.MissingNodes) })
		case sub == "get" && len(rest) == 1:
			m, err := a.client.GetMailbox(ctx, rest[0], opts...)
			if err != nil {
				return err
			}
			return a.show(m, func() { a.mailboxTable([]*callapi.Mailbox{m}) })
		case sub == "set" && len(rest) == 3:
			oldN, err1 := strconv.Atoi(rest[1])
			newN, err2 := strconv.Atoi(rest[2])
			if err1 != nil || err2 != nil {
				return fmt.Errorf("mailbox set %s: <old> and <new> are message counts", rest[0])
			}
			if err := a.client.SetMailbox(ctx, rest[0], oldN, newN, opts...); err != nil {
				return err
			}
			return a.done("%s: %d old, %d new", rest[0], oldN, newN)
		case sub == "delete" && len(rest) == 1:
			if err := a.client.DeleteMailbox(ctx, rest[0], opts...); err != nil {
				return err
			}
			return a.done("deleted mailbox %s", rest[0])
		}
		return fmt.Errorf("mailbox: list | get <name> | set <name> <old> <new> | delete <name>")
	}
}

func (a *app) mailboxTable(l []*callapi.Mailbox) {
	rows := make([][]string, 0, len(l))
	for _, m := range l {
		rows = append(rows, []string{m.Name, orDash(string(m.Node)), strconv.Itoa(m.OldMessages), strconv.Itoa(m.NewMessages)})
	}
	a.table("MAILBOX\tNODE\tOLD\tNEW", rows)
}

// cmdGlobal reads, or with a value sets, a global variable.
func cmdGlobal(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	node := fs.String("node", "", "only this node")
	return func(ctx context.Context, pos []string) error {
		opts := a.nodeOpts(*node)
		if len(pos) > 2 {
			return fmt.Errorf("global: <name> [value]")
		}
		if len(pos) == 2 {
			if err := a.client.SetGlobalVariable(ctx, pos[0], pos[1], opts...); err != nil {
				return err
			}
			return a.done("%s=%s", pos[0], pos[1])
		}
		v, err := a.client.GetGlobalVariable(ctx, pos[0], opts...)
		if err != nil {
			return err
		}
		return a.show(callapi.Variable{Name: pos[0], Value: v}, func() { fmt.Fprintln(a.out, v) })
	}
}
