// Package config loads callgw's configuration from command-line flags and
// CALLGW_* environment variables, in that order of precedence, and
// documents every option with its default in `callgw <cmd> --help`.
//
// Each option is declared once (name, environment variable, default, help);
// the flag's default is the environment value when set, so a flag given on
// the command line wins over the environment, which wins over the default.
package config
