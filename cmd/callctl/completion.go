package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// completion scripts: commands from the command table, flags from each
// command's flag set (callctl __flags <command> prints them), and the live
// calls' ids where a command takes one (callctl __calls prints them).
func cmdCompletion(a *app, _ *flag.FlagSet) func(context.Context, []string) error {
	return func(_ context.Context, pos []string) error {
		names := strings.Join(commandNames(), " ")
		var idCmds []string
		for _, c := range commands() {
			if callArgs(c) > 0 {
				idCmds = append(idCmds, c.name)
			}
		}
		ids := strings.Join(idCmds, " ")
		switch pos[0] {
		case "bash":
			fmt.Fprintf(a.out, `# callctl bash completion: source <(callctl completion bash)
_callctl() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s help" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(callctl __flags "${COMP_WORDS[1]}" 2>/dev/null)" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [[ " %s " == *" ${COMP_WORDS[1]} "* ]]; then
    COMPREPLY=($(compgen -W "$(callctl __calls 2>/dev/null)" -- "$cur"))
  fi
}
complete -o default -F _callctl callctl
`, names, ids)
		case "zsh":
			fmt.Fprintf(a.out, `#compdef callctl
# callctl zsh completion: callctl completion zsh > "${fpath[1]}/_callctl"
_callctl() {
  if (( CURRENT == 2 )); then
    compadd %s help
  elif [[ $PREFIX == -* ]]; then
    compadd -- $(callctl __flags $words[2] 2>/dev/null)
  elif (( CURRENT == 3 )) && [[ " %s " == *" $words[2] "* ]]; then
    compadd -- $(callctl __calls 2>/dev/null)
  else
    _files
  fi
}
compdef _callctl callctl
`, names, ids)
		case "fish":
			fmt.Fprintf(a.out, "# callctl fish completion: callctl completion fish > ~/.config/fish/completions/callctl.fish\n")
			fmt.Fprintf(a.out, "complete -c callctl -n '__fish_use_subcommand' -f -a '%s help'\n", names)
			fmt.Fprintf(a.out, "complete -c callctl -n '__fish_seen_subcommand_from %s' -f -a '(callctl __calls 2>/dev/null)'\n", ids)
			for _, c := range commands() {
				for _, f := range flagNames(a, c) {
					fmt.Fprintf(a.out, "complete -c callctl -n '__fish_seen_subcommand_from %s' -l %s\n", c.name, strings.TrimPrefix(f, "--"))
				}
			}
		default:
			return fmt.Errorf("completion takes bash, zsh or fish")
		}
		return nil
	}
}

// flagNames lists a command's flags as --name.
func flagNames(a *app, c command) []string {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	b := *a
	b.global(fs)
	c.flags(&b, fs)
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	return out
}

// printCallIDs prints the live calls' ids, one a line, for the completion
// scripts (args: global flags, e.g. --url).
func (a *app) printCallIDs(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("callctl __calls", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.global(fs)
	if err := fs.Parse(args); err != nil {
		return usagef("%s", flagError(err))
	}
	if err := a.connect(); err != nil {
		return err
	}
	ids, err := a.callIDs(ctx, false)
	if err != nil {
		return err
	}
	for _, id := range ids {
		fmt.Fprintln(a.out, id)
	}
	return nil
}
