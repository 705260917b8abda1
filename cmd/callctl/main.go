// Command callctl is the command-line client of the callgw CallAPI: every
// operation of the API, tables for people and -o json|id for scripts
// (with exit statuses a script can tell apart: script.go), and a live,
// readable event tail.
//
//	callctl originate Local/answer@callgw-test --wait answered
//	callctl list
//	callctl events --type call. --call <id>
//	callctl timeline <call-id>
//	callctl hangup <call-id>
//
// `callctl help` lists every command; `callctl <command> --help` its flags.
// The gateway is --url or CALLGW_URL (default http://127.0.0.1:8080); the
// token is --token, CALLGW_TOKEN, or the one `callctl login` saved.
//
// Layout: commands.go is the table of commands and the output helpers;
// the commands themselves, one short function per CallAPI operation, are
// in calls.go, bridges.go, recordings.go (and playbacks), nodes.go,
// events.go, login.go and completion.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callgw/callgw/callapi/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{out: os.Stdout, errOut: os.Stderr, env: os.Getenv, in: os.Stdin, colour: isTerminal(os.Stdout)}
	os.Exit(a.report(a.run(ctx, os.Args[1:])))
}

// describe is the text of an error for a person: a gateway error with its
// code and request id.
func describe(err error) string {
	var ne *notMetError
	if errors.As(err, &ne) {
		return ne.msg
	}
	var pe *client.Error
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("%d %s", pe.Status, pe.Code)
		if pe.Detail != "" {
			msg += ": " + pe.Detail
		} else if pe.ErrorDescription != "" {
			msg += ": " + pe.ErrorDescription
		}
		if pe.RequestID != "" {
			msg += " (request " + pe.RequestID + ")"
		}
		return msg
	}
	return err.Error()
}

// app is one invocation: global settings and where output goes.
type app struct {
	out, errOut io.Writer
	in          io.Reader
	env         func(string) string
	colour      bool // stdout is a terminal (--color=auto)

	url, token string
	output     string    // -o: table, wide, json, id
	json       bool      // -o json
	ws         bool      // events over the WebSocket stream
	replayFrom time.Time // events: replay the kept events from this time (StreamOptions.Since)
	timeout    time.Duration
	client     *client.Client
	opts       []client.Option // added to the client's (tests: the HTTP client)
	known      []string        // the call ids listed to resolve prefixes (resolveCall)
}

// command is one callctl command.
type command struct {
	name    string
	args    string // positional arguments, for help
	summary string
	// flags declares the command's flags on fs and returns the function
	// that runs it with the positional arguments.
	flags func(a *app, fs *flag.FlagSet) func(ctx context.Context, pos []string) error
	// nargs is the number of positional arguments: exact when >= 0;
	// -1 means at least min.
	nargs, min int
}

// global declares the flags every command takes.
func (a *app) global(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "url", envOr(a.env, "CALLGW_URL", "http://127.0.0.1:8080"), "gateway base URL (CALLGW_URL)")
	fs.StringVar(&a.token, "token", a.env("CALLGW_TOKEN"), "bearer token (CALLGW_TOKEN; default: the one callctl login saved)")
	a.outputFlags(fs)
	fs.DurationVar(&a.timeout, "timeout", 0, "command deadline on the gateway, e.g. 30s (default: the gateway's, 5s)")
	fs.Func("color", "colour `when`: auto (when a terminal), always, never (NO_COLOR also turns it off)", func(s string) error {
		switch s {
		case "auto":
		case "always":
			a.colour = true
		case "never":
			a.colour = false
		default:
			return fmt.Errorf("want auto, always or never")
		}
		return nil
	})
}

func envOr(env func(string) string, k, def string) string {
	if v := env(k); v != "" {
		return v
	}
	return def
}

// callOpts are the per-request options from the global flags.
func (a *app) callOpts() []client.CallOption {
	if a.timeout > 0 {
		return []client.CallOption{client.WithTimeout(a.timeout)}
	}
	return nil
}

// connect makes the API client from the global flags and the saved login.
func (a *app) connect() error {
	tok := a.token
	if tok == "" {
		if s, err := loadLogin(a.env); err == nil && s.URL == strings.TrimRight(a.url, "/") && time.Now().Before(s.Expires) {
			tok = s.Token
		}
	}
	opts := append([]client.Option{client.WithUserAgent("callctl")}, a.opts...)
	if tok != "" {
		opts = append(opts, client.WithToken(tok))
	}
	c, err := client.New(a.url, opts...)
	if err != nil {
		return err
	}
	a.client = c
	return nil
}

func (a *app) run(ctx context.Context, args []string) error {
	if a.env("NO_COLOR") != "" || a.env("TERM") == "dumb" {
		a.colour = false
	}
	a.output = "table"
	a.prescanJSON(args)
	args = hoistCommand(args)
	if len(args) == 0 {
		a.usage(a.errOut)
		return usagef("no command given (callctl help)")
	}
	name := args[0]
	switch name {
	case "__flags": // for the completion scripts
		if len(args) == 2 {
			if c, ok := commandByName(args[1]); ok {
				fmt.Fprintln(a.out, strings.Join(flagNames(a, c), " "))
			}
		}
		return nil
	case "__calls": // for the completion scripts
		return a.printCallIDs(ctx, args[1:])
	case "help", "-h", "--help":
		if len(args) > 1 {
			return a.run(ctx, []string{args[1], "--help"})
		}
		a.usage(a.out)
		return nil
	}
	cmd, ok := commandByName(name)
	if !ok {
		return usagef("unknown command %q (callctl help lists them)", name)
	}
	fs := flag.NewFlagSet("callctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help printed below
	a.global(fs)
	runFn := cmd.flags(a, fs)
	pos, err := parse(fs, args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(a.out, "Usage: callctl %s %s\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.summary)
		printFlags(a.out, fs)
		return err
	case err != nil:
		return usagef("%s (callctl %s --help lists its flags)", flagError(err), cmd.name)
	case cmd.nargs >= 0 && len(pos) != cmd.nargs:
		return usagef("%s takes %s (callctl %s --help)", cmd.name, plural(cmd.nargs, cmd.args), cmd.name)
	case cmd.nargs < 0 && len(pos) < cmd.min:
		return usagef("%s takes %s (callctl %s --help)", cmd.name, cmd.args, cmd.name)
	}
	a.json = a.output == "json"
	if err := a.connect(); err != nil {
		return err
	}
	if err := a.resolveArgs(ctx, cmd, pos); err != nil {
		return err
	}
	return runFn(ctx, pos)
}

// hoistCommand moves the command name to the front when global flags
// come first: callctl --url U list → callctl list --url U.
func hoistCommand(args []string) []string {
	valued := map[string]bool{"url": true, "token": true, "timeout": true, "color": true, "o": true, "output": true}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			out := append([]string{arg}, args[:i]...)
			return append(out, args[i+1:]...)
		}
		if name := strings.TrimLeft(arg, "-"); !strings.Contains(name, "=") && valued[name] {
			i++
		}
	}
	return args
}

func plural(n int, args string) string {
	if n == 0 {
		return "no arguments"
	}
	return args
}

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

func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, "callctl — command-line client of the callgw CallAPI\n\nUsage: callctl <command> [arguments] [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --url (CALLGW_URL), --token (CALLGW_TOKEN), -o table|wide|json|id (--json, -q),
--timeout and --color. callctl <command> --help shows a command's arguments and flags.
Call ids may be cut to a unique prefix (the 8 characters events print).
Exit status: 0 done, 1 the gateway refused or failed, 2 a usage error, 3 a --wait not met.
`)
}

var commandIndex = sync.OnceValue(func() map[string]command {
	m := map[string]command{}
	for _, c := range commands() {
		m[c.name] = c
	}
	return m
})

func commandByName(name string) (command, bool) {
	c, ok := commandIndex()[name]
	return c, ok
}

// commandNames is the sorted list of command names (completion).
func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	sort.Strings(out)
	return out
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }
