package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/callgw/callgw/callapi/client"
)

// Exit statuses, for scripts (docs/cli.md).
const (
	exitOK      = 0
	exitError   = 1              // the gateway refused or failed, or could not be reached
	exitUsage   = 2              // the command line is wrong: command, flag, arguments, an ambiguous id prefix
	exitNotMet  = 3              // originate --wait answered: the call was not answered
	codeUsage   = "usage"        // the code of a usage error in --json errors
	codeNotMet  = "wait_not_met" // the code of an unmet wait in --json errors
	codeGeneric = "error"        // any other error that is not the gateway's
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// notMetError is a wait that was not met: the call was not answered.
type notMetError struct {
	msg string
	err error // the gateway's error, when it answered one (timeout)
}

func (e *notMetError) Error() string { return e.msg }
func (e *notMetError) Unwrap() error { return e.err }

// exitCode is the exit status for err.
func exitCode(err error) int {
	var ue *usageError
	var ne *notMetError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ne):
		return exitNotMet
	}
	return exitError
}

// errorBody is an error as --json prints it on stderr: the gateway's
// problem as it came, or the same members for callctl's own errors.
type errorBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// report prints err on stderr (as JSON with -o json) and returns the exit
// status.
func (a *app) report(err error) int {
	code := exitCode(err)
	if code == exitOK {
		return code
	}
	if a.output != "json" {
		fmt.Fprintln(a.errOut, "callctl:", describe(err))
		return code
	}
	var body any = errorBody{Code: codeGeneric, Detail: err.Error()}
	var pe *client.Error
	var ue *usageError
	var ne *notMetError
	switch {
	case errors.As(err, &ne):
		body = errorBody{Code: codeNotMet, Detail: describe(err)}
	case errors.As(err, &pe):
		body = pe
	case errors.As(err, &ue):
		body = errorBody{Code: codeUsage, Detail: ue.msg}
	}
	_ = json.NewEncoder(a.errOut).Encode(body)
	return code
}

// outputs are the values of -o.
var outputs = []string{"table", "wide", "json", "id"}

// setOutput is -o / --output.
func (a *app) setOutput(s string) error {
	for _, o := range outputs {
		if s == o {
			a.output = s
			return nil
		}
	}
	return fmt.Errorf("want %s", strings.Join(outputs, ", "))
}

// outputFlags declares -o, --output, --json and -q (the default, table,
// is set by run, before prescanJSON).
func (a *app) outputFlags(fs *flag.FlagSet) {
	fs.Func("o", "output `format`: table, wide (more columns), json (the API's JSON), id (ids only, one a line)", a.setOutput)
	fs.Func("output", "same as -o `format`", a.setOutput)
	fs.BoolFunc("json", "same as -o json", func(s string) error {
		if s != "false" {
			a.output = "json"
		}
		return nil
	})
	fs.BoolFunc("q", "quiet: ids only, same as -o id", func(s string) error {
		if s != "false" {
			a.output = "id"
		}
		return nil
	})
}

// prescanJSON sets -o json before the command line is parsed, so that an
// error in parsing it is already reported as JSON.
func (a *app) prescanJSON(args []string) {
	for i, arg := range args {
		switch strings.TrimLeft(arg, "-") {
		case "json", "o=json", "output=json":
			a.output = "json"
		case "o", "output":
			if i+1 < len(args) && args[i+1] == "json" {
				a.output = "json"
			}
		}
	}
}

// dashed is a flag's name as the help and errors show it: -o, --output.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var flagInMessage = regexp.MustCompile(`for (flag )?-[A-Za-z][A-Za-z0-9-]*`)

// flagError is the flag package's parse error in callctl's words: --name,
// and "unknown flag" for an undefined one.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + dashed(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return dashed(name) + " needs a value"
	}
	return flagInMessage.ReplaceAllStringFunc(msg, func(m string) string {
		i := strings.LastIndex(m, " -")
		return strings.Replace(m[:i], "for flag", "for", 1) + " " + dashed(m[i+2:])
	})
}

// printFlags lists fs's flags as --name type, with their usage and
// non-empty defaults.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  " + dashed(f.Name)
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "false", "0", "0s":
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
