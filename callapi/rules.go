package callapi

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// InputRules are the content rules of command arguments that an operator
// configures: which hosts http(s) media may come from and which dialplan
// functions may be used as channel variable names. They are part of
// Spec.Validate (through the argument types that have such content: play
// media, originate variables, variable names), which the worker's Executor
// runs on every command (the trust boundary: every AMQP client reaches
// it) and the gateway's Service before publishing. The rules that need no
// configuration (dialplan words, control characters) are in the argument
// types' own Validate methods; callgw's reserved variables are refused by
// CheckVariableName, which every variable name passes.
//
// The zero value (or a nil *InputRules) is the strict default: no http(s)
// media, plain variable names only.
type InputRules struct {
	// MediaHosts lists the hosts that http: and https: media may be
	// fetched from: a host name or address ("media.example.com"), or
	// host:port to allow one port only. Matching ignores case. Empty: no
	// http(s) media at all (the PBX would fetch any URL it is given, an
	// open request forgery from inside the operator's network).
	MediaHosts []string
	// VariableFunctions lists the dialplan functions that may be used as a
	// channel variable name, e.g. "CALLERID" allows "CALLERID(name)".
	// Matching ignores case. Empty: plain names only. Functions such as
	// SHELL, SYSTEM, ENV, FILE, GLOBAL, DB or ODBC reach outside the call:
	// list them only if every token holder may use them.
	VariableFunctions []string
}

// ReservedVariablePrefix starts the channel variables callgw sets itself
// (CALLGW_TENANT, CALLGW_TAGS, CALLGW_DIRECTION); the worker trusts them
// when it re-adopts a call, so no client may set them.
const ReservedVariablePrefix = "CALLGW_"

var (
	plainVarRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,79}$`)
	funcVarRe   = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]{0,39})\(([A-Za-z0-9_,.:=+/-]{0,120})\)$`)
	soundNameRe = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,255}$`)
	numberRe    = regexp.MustCompile(`^-?[0-9]{1,18}$`)
	digitsRe    = regexp.MustCompile(`^[0-9A-Da-d*#]{1,64}$`)
	charsRe     = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	toneRe      = regexp.MustCompile(`^[A-Za-z0-9_;=/,.*#!+-]{1,256}$`)
	mediaHostRe = regexp.MustCompile(`^[a-z0-9.-]{1,253}$`)
)

// mediaSchemes are the schemes of a media URI, each with the check of
// what follows its colon: the one list behind PlayArgs.Validate (through
// MediaPattern) and CheckMediaURI.
var mediaSchemes = []struct {
	name  string
	check func(r *InputRules, uri, rest string) error
}{
	{"sound", checkSoundName},
	{"recording", checkSoundName},
	{"number", matchRest(numberRe, "number: takes an integer")},
	{"digits", matchRest(digitsRe, "digits: takes 1-64 of 0-9, A-D, * and #")},
	{"characters", matchRest(charsRe, "characters: takes 1-64 of [A-Za-z0-9]")},
	{"tone", matchRest(toneRe, "tone: takes a tone name or frequencies of [A-Za-z0-9_;=/,.*#!+-]")},
	{"http", func(r *InputRules, uri, _ string) error { return r.checkMediaURL(uri) }},
	{"https", func(r *InputRules, uri, _ string) error { return r.checkMediaURL(uri) }},
}

func checkSoundName(_ *InputRules, uri, rest string) error {
	if !soundNameRe.MatchString(rest) || strings.Contains(rest, "..") {
		scheme, _, _ := strings.Cut(uri, ":")
		return Invalid("media", "%q: a %s name is a relative path of [A-Za-z0-9_./-], not starting with / or . and without ..", uri, scheme)
	}
	return nil
}

func matchRest(re *regexp.Regexp, says string) func(*InputRules, string, string) error {
	return func(_ *InputRules, uri, rest string) error {
		if !re.MatchString(rest) {
			return Invalid("media", "%q: %s", uri, says)
		}
		return nil
	}
}

// notMediaURI is the error of a media URI of no known scheme.
func notMediaURI(uri string) error {
	names := make([]string, len(mediaSchemes))
	for i, m := range mediaSchemes {
		names[i] = m.name + ":"
	}
	return Invalid("media", "%q is not a media URI (%s)", uri, strings.Join(names, ", "))
}

// CheckMediaURI checks one media URI of a play request:
//   - sound:NAME and recording:NAME: a relative name of [A-Za-z0-9_./-],
//     not starting with "/" or ".", without ".." (no absolute paths, no
//     climbing out of the sounds or the tenant's recordings directory);
//   - http(s)://HOST/…: only to a host in MediaHosts, no user info;
//   - number:, digits:, characters:, tone:: their own characters only.
func (r *InputRules) CheckMediaURI(uri string) error {
	scheme, rest, ok := strings.Cut(uri, ":")
	if ok && rest != "" {
		for _, m := range mediaSchemes {
			if m.name == scheme {
				return m.check(r, uri, rest)
			}
		}
	}
	return notMediaURI(uri)
}

func (r *InputRules) checkMediaURL(uri string) error {
	if r == nil || len(r.MediaHosts) == 0 {
		return Invalid("media", "%q: http(s) media is not allowed on this deployment (the operator lists the allowed hosts)", uri)
	}
	if hasControl(uri) || strings.ContainsAny(uri, "\\@ ") {
		return Invalid("media", "%q: a media URL may not hold control characters, spaces, \\ or @", uri)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.User != nil {
		return Invalid("media", "%q is not an http(s) URL", uri)
	}
	host := strings.ToLower(u.Hostname())
	if !mediaHostRe.MatchString(host) {
		return Invalid("media", "%q: the host must be a name or IPv4 address", uri)
	}
	hostPort := strings.ToLower(u.Host)
	for _, h := range r.MediaHosts {
		if h = strings.ToLower(h); h == host || h == hostPort {
			return nil
		}
	}
	return Invalid("media", "%q: host %s is not among the allowed media hosts", uri, host)
}

// isReservedVariable reports whether name is one of callgw's own channel
// variables, with or without Asterisk's inheritance prefixes "_" and "__",
// or mentions one (as a function argument).
func isReservedVariable(name string) bool {
	return strings.Contains(strings.ToUpper(name), ReservedVariablePrefix)
}

// CheckVariableName checks a channel variable name: a plain name of
// [A-Za-z0-9_] (leading "_" or "__" asks Asterisk to inherit it), or
// FUNCTION(args) when FUNCTION is in VariableFunctions; callgw's own
// CALLGW_* variables are refused when set (forWrite), in any form.
func (r *InputRules) CheckVariableName(field, name string, forWrite bool) error {
	if forWrite && isReservedVariable(name) {
		return Invalid(field, "%q: variables named %s* are reserved for callgw", name, ReservedVariablePrefix)
	}
	if plainVarRe.MatchString(name) {
		return nil
	}
	m := funcVarRe.FindStringSubmatch(name)
	if m == nil {
		return Invalid(field, "%q is not a channel variable name (1-80 of [A-Za-z0-9_], not starting with a digit)", name)
	}
	if r == nil || !slices.ContainsFunc(r.VariableFunctions, func(f string) bool { return strings.EqualFold(f, m[1]) }) {
		return Invalid(field, "%q: the dialplan function %s is not allowed on this deployment", name, strings.ToUpper(m[1]))
	}
	return nil
}

// checkHeaderValue refuses control characters (CR, LF, NUL, …) in a value
// that ends up in a SIP header, a channel variable or a log line.
func checkHeaderValue(field, v string) error {
	if hasControl(v) {
		return Invalid(field, "may not contain control characters (CR, LF, NUL, …)")
	}
	return nil
}

func hasControl(s string) bool { return !noControlRe.MatchString(s) }

// checkDialplanWord checks a dialplan context, extension, label or class
// name: 1-80 of [A-Za-z0-9_+*#.-] (no comma, no "|", no spaces or
// control characters, which would reach a different place in the dialplan).
func checkDialplanWord(field, v string) error {
	if !dialplanWordRe.MatchString(v) {
		return Invalid(field, "%q: 1-80 of [A-Za-z0-9_+*#.-]", v)
	}
	return nil
}

// ruled is an argument type with content rules an operator configures
// (InputRules); Spec.Validate runs them after the type's Validate.
type ruled interface {
	checkRules(r *InputRules, a Action) error
}

// checkRules checks the names of the channel variables an originate sets.
func (a *OriginateArgs) checkRules(r *InputRules, _ Action) error {
	for k := range a.Variables {
		if err := r.CheckVariableName("variables", k, true); err != nil {
			return err
		}
	}
	return nil
}

// checkRules checks each media URI.
func (a *PlayArgs) checkRules(r *InputRules, _ Action) error {
	for _, m := range a.Media {
		if err := r.CheckMediaURI(m); err != nil {
			return err
		}
	}
	return nil
}

// checkRules checks the variable name, for a write unless a reads it.
func (a *VariableArgs) checkRules(r *InputRules, act Action) error {
	return r.CheckVariableName("name", a.Name, act != ActCallVarGet)
}
