package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/callgw/callgw/callapi"
)

// cmdCreate creates a call without dialling it: set it up (var, bridge,
// play to the caller), then dial it.
func cmdCreate(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req callapi.CreateRequest
	var tags, vars multi
	fs.StringVar((*string)(&req.Node), "node", "", "node to create it on (default: any; the originator's with --originator)")
	fs.StringVar((*string)(&req.Originator), "originator", "", "the calling call: codecs and linked id from it")
	fs.StringVar(&req.Formats, "formats", "", "codecs without --originator, e.g. ulaw,alaw")
	fs.Var(&tags, "tag", "tag (repeatable)")
	fs.Var(&vars, "var", "channel variable K=V (repeatable)")
	return func(ctx context.Context, pos []string) error {
		req.To, req.Tags = pos[0], tags
		m, err := keyValues("var", vars)
		if err != nil {
			return err
		}
		req.Variables = m
		c, err := a.client.CreateCall(ctx, req, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.showCall(c)
	}
}

// cmdDial dials a created call.
func cmdDial(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req callapi.DialArgs
	fs.IntVar(&req.Timeout, "ring-timeout", 0, "seconds the callee may ring (0: no limit)")
	fs.StringVar((*string)(&req.Caller), "caller", "", "the call that dials it: it hears the early media")
	return func(ctx context.Context, pos []string) error {
		if err := a.client.DialCall(ctx, callapi.CallID(pos[0]), req, a.callOpts()...); err != nil {
			return err
		}
		return a.done("dialling %s", pos[0])
	}
}

// cmdMessage sends a text message.
func cmdMessage(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req callapi.MessageRequest
	var headers multi
	fs.StringVar(&req.From, "from", "", "sender, e.g. sip:shop@pbx.example.com (required)")
	fs.StringVar((*string)(&req.Node), "node", "", "node to send it from (default: any)")
	fs.Var(&headers, "header", "SIP header K=V to add (repeatable)")
	return func(ctx context.Context, pos []string) error {
		req.To, req.Body = pos[0], pos[1]
		m, err := keyValues("header", headers)
		if err != nil {
			return err
		}
		req.Variables = m
		sent, err := a.client.SendMessage(ctx, req, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(sent, func() { fmt.Fprintf(a.out, "sent to %s from node %s\n", sent.To, sent.Node) })
	}
}

// keyValues parses the K=V values of a repeatable flag (nil when none).
func keyValues(flagName string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--%s %q: want K=V", flagName, kv)
		}
		m[k] = v
	}
	return m, nil
}
