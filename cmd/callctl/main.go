// Command callctl is a command-line client of the callgw CallAPI: place,
// list, inspect and hang up calls, list nodes, and tail events.
//
//	callctl originate Local/answer@callgw-test --wait answered
//	callctl list
//	callctl get <call-id>
//	callctl hangup <call-id> [--reason busy]
//	callctl nodes
//	callctl events [--call <id>] [--type call.] [--tag t]
//
// CALLGW_URL (default http://127.0.0.1:8080) names the gateway and
// CALLGW_TOKEN, when set, is sent as a bearer token.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `callctl — command-line client of the callgw CallAPI

Usage:
  callctl originate <endpoint> [--from F] [--node N] [--wait none|answered] [--tag T] [--var K=V] [--timeout 5s]
  callctl list [--node N] [--state S] [--tag T]
  callctl get <call-id>
  callctl hangup <call-id> [--reason R]
  callctl nodes
  callctl events [--call ID] [--type T] [--node N] [--tag T]

Environment: CALLGW_URL (default http://127.0.0.1:8080), CALLGW_TOKEN (bearer token).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &client{base: strings.TrimRight(envOr("CALLGW_URL", "http://127.0.0.1:8080"), "/"), token: os.Getenv("CALLGW_TOKEN"), http: http.DefaultClient, out: os.Stdout}
	if err := c.run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "callctl:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type client struct {
	base  string
	token string
	http  *http.Client
	out   io.Writer
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// parse parses flags that may come after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *client) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "originate":
		from, node, wait, timeout := fs.String("from", "", "caller id"), fs.String("node", "", "node (default: any)"), fs.String("wait", "none", "none or answered"), fs.String("timeout", "", "deadline, e.g. 30s")
		var tags, vars multi
		fs.Var(&tags, "tag", "tag (repeatable)")
		fs.Var(&vars, "var", "channel variable K=V (repeatable)")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("originate takes one endpoint, e.g. PJSIP/alice")
		}
		body := map[string]any{"to": pos[0], "wait": *wait}
		if *from != "" {
			body["from"] = *from
		}
		if *node != "" {
			body["node"] = *node
		}
		if len(tags) > 0 {
			body["tags"] = tags
		}
		if len(vars) > 0 {
			m := map[string]string{}
			for _, kv := range vars {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--var %q: want K=V", kv)
				}
				m[k] = v
			}
			body["variables"] = m
		}
		q := url.Values{}
		if *timeout != "" {
			q.Set("timeout", *timeout)
		}
		return c.do(ctx, "POST", "/v1/calls", q, body)
	case "list":
		node, state, tag := fs.String("node", "", "only this node"), fs.String("state", "", "only this state"), fs.String("tag", "", "only this tag")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"node": *node, "state": *state, "tag": *tag} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.do(ctx, "GET", "/v1/calls", q, nil)
	case "get", "hangup":
		reason := fs.String("reason", "", "hangup reason: normal, busy, congestion, no_answer, …")
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("%s takes one call id", args[0])
		}
		if args[0] == "get" {
			return c.do(ctx, "GET", "/v1/calls/"+url.PathEscape(pos[0]), nil, nil)
		}
		q := url.Values{}
		if *reason != "" {
			q.Set("reason", *reason)
		}
		return c.do(ctx, "DELETE", "/v1/calls/"+url.PathEscape(pos[0]), q, nil)
	case "nodes":
		return c.do(ctx, "GET", "/v1/nodes", nil, nil)
	case "events":
		call, typ, node, tag := fs.String("call", "", "one call"), fs.String("type", "", "event type or prefix (call.)"), fs.String("node", "", "one node"), fs.String("tag", "", "one tag")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"call_id": *call, "type": *typ, "node": *node, "tag": *tag} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.tail(ctx, q)
	case "help", "-h", "--help":
		fmt.Fprint(c.out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (callctl help)", args[0])
}

func (c *client) request(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

// do prints the JSON answer; an error status returns the problem's detail.
func (c *client) do(ctx context.Context, method, path string, q url.Values, body any) error {
	resp, err := c.request(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return fmt.Errorf("%d %s: %s", resp.StatusCode, p.Code, p.Detail)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		_, err = fmt.Fprintln(c.out, resp.Status)
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(b)
	}
	_, err = fmt.Fprintln(c.out, pretty.String())
	return err
}

// tail prints each event of the SSE stream as one JSON line until ctx ends.
func (c *client) tail(ctx context.Context, q url.Values) error {
	resp, err := c.request(ctx, "GET", "/v1/events", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if _, err := fmt.Fprintln(c.out, data); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
