package main

import (
	"context"
	"strings"

	"github.com/callgw/callgw/callapi/client"
)

// callArgs is how many leading positional arguments of cmd are call ids:
// the commands whose arguments start with <call-id>, timeline and
// transfer.
func callArgs(cmd command) int {
	switch {
	case cmd.name == "transfer":
		return 3
	case strings.HasPrefix(cmd.args, "<call-id>"):
		return 1
	}
	return 0
}

// resolveArgs replaces the call ids among pos by the full ids they are a
// unique prefix of.
func (a *app) resolveArgs(ctx context.Context, cmd command, pos []string) error {
	n := min(callArgs(cmd), len(pos))
	for i := range n {
		id, err := a.resolveCall(ctx, pos[i])
		if err != nil {
			return err
		}
		pos[i] = id
	}
	return nil
}

// resolveCall returns the call id that arg is, or the one call id (live
// or ended) that starts with arg, as docker resolves container ids: the
// 8 characters events and timeline print are enough. A full UUID, an id
// no call has, and every id when the calls cannot be listed are passed on
// as they are (the operation then says what is wrong); a prefix of several
// calls is a usage error that names them.
func (a *app) resolveCall(ctx context.Context, arg string) (string, error) {
	if arg == "" || isUUID(arg) {
		return arg, nil
	}
	if a.known == nil {
		ids, err := a.callIDs(ctx, true)
		if err != nil {
			return arg, nil
		}
		a.known = ids
	}
	ids := a.known
	var match []string
	for _, id := range ids {
		if id == arg {
			return arg, nil
		}
		if strings.HasPrefix(id, arg) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return arg, nil
	case 1:
		return match[0], nil
	}
	shown := match
	if len(shown) > 5 {
		shown = append(shown[:5:5], "…")
	}
	return "", usagef("call id prefix %q is ambiguous: it starts %d calls (%s); give more of the id", arg, len(match), strings.Join(shown, ", "))
}

// callIDs lists the ids of the live calls and, with ended, of the ended
// calls the gateway keeps records of; each once.
func (a *app) callIDs(ctx context.Context, ended bool) ([]string, error) {
	filters := []client.ListCallsFilter{{}}
	if ended {
		filters = append(filters, client.ListCallsFilter{State: "ended"})
	}
	seen := map[string]bool{}
	var ids []string
	for _, f := range filters {
		l, err := a.client.ListCalls(ctx, f, a.callOpts()...)
		if err != nil {
			return nil, err
		}
		for _, c := range l.Calls {
			if id := string(c.ID); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// isUUID reports whether s has a UUID's shape (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
