package gateway

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// InputRules are the content rules of the command arguments that reach a
// PBX: media URIs, channel variable names and values, dialplan places and
// caller ids. They are enforced at the trust boundary, the worker's
// Executor (CheckCommand), which every AMQP client reaches, not only the
// gateway; the gateway's Service runs the same checks (CheckArgs) to
// answer 400 before publishing. The Validate methods of the argument types
// check shape (required fields, ranges, enums); these rules check what the
// PBX would do with the content.
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

// CheckMediaURI checks one media URI of a play request:
//   - sound:NAME and recording:NAME: a relative name of [A-Za-z0-9_./-],
//     not starting with "/" or ".", without ".." (no absolute paths, no
//     climbing out of the sounds or the tenant's recordings directory);
//   - http(s)://HOST/…: only to a host in MediaHosts, no user info;
//   - number:, digits:, characters:, tone:: their own characters only.
func (r *InputRules) CheckMediaURI(uri string) error {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || rest == "" {
		return Invalid("media", "%q is not a media URI (sound:, recording:, number:, digits:, characters:, tone:, http(s):)", uri)
	}
	switch scheme {
	case "sound", "recording":
		if !soundNameRe.MatchString(rest) || strings.Contains(rest, "..") {
			return Invalid("media", "%q: a %s name is a relative path of [A-Za-z0-9_./-], not starting with / or . and without ..", uri, scheme)
		}
	case "number":
		if !numberRe.MatchString(rest) {
			return Invalid("media", "%q: number: takes an integer", uri)
		}
	case "digits":
		if !digitsRe.MatchString(rest) {
			return Invalid("media", "%q: digits: takes 1-64 of 0-9, A-D, * and #", uri)
		}
	case "characters":
		if !charsRe.MatchString(rest) {
			return Invalid("media", "%q: characters: takes 1-64 of [A-Za-z0-9]", uri)
		}
	case "tone":
		if !toneRe.MatchString(rest) {
			return Invalid("media", "%q: tone: takes a tone name or frequencies of [A-Za-z0-9_;=/,.*#!+-]", uri)
		}
	case "http", "https":
		return r.checkMediaURL(uri)
	default:
		return Invalid("media", "%q is not a media URI (sound:, recording:, number:, digits:, characters:, tone:, http(s):)", uri)
	}
	return nil
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

// IsReservedVariable reports whether name is one of callgw's own channel
// variables, with or without Asterisk's inheritance prefixes "_" and "__",
// or mentions one (as a function argument).
func IsReservedVariable(name string) bool {
	return strings.Contains(strings.ToUpper(name), ReservedVariablePrefix)
}

// CheckVariableName checks a channel variable name: a plain name of
// [A-Za-z0-9_] (leading "_" or "__" asks Asterisk to inherit it), or
// FUNCTION(args) when FUNCTION is in VariableFunctions; callgw's own
// CALLGW_* variables are refused when set (forWrite), in any form.
func (r *InputRules) CheckVariableName(field, name string, forWrite bool) error {
	if forWrite && IsReservedVariable(name) {
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

// CheckHeaderValue refuses control characters (CR, LF, NUL, …) in a value
// that ends up in a SIP header, a channel variable or a log line.
func CheckHeaderValue(field, v string) error {
	if hasControl(v) {
		return Invalid(field, "may not contain control characters (CR, LF, NUL, …)")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// CheckDialplanWord checks a dialplan context, extension, label or class
// name: 1-80 of [A-Za-z0-9_+*#.-] (no comma, no "|", no spaces or
// control characters, which would reach a different place in the dialplan).
func CheckDialplanWord(field, v string) error {
	if !dialplanWordRe.MatchString(v) {
		return Invalid(field, "%q: 1-80 of [A-Za-z0-9_+*#.-]", v)
	}
	return nil
}

// CheckOriginate applies the rules to originate arguments.
func (r *InputRules) CheckOriginate(a *OriginateArgs) error {
	if err := CheckHeaderValue("to", a.To); err != nil {
		return err
	}
	if err := CheckHeaderValue("from", a.From); err != nil {
		return err
	}
	if a.Context != "" {
		if err := CheckDialplanWord("context", a.Context); err != nil {
			return err
		}
	}
	if a.Extension != "" {
		if err := CheckDialplanWord("extension", a.Extension); err != nil {
			return err
		}
	}
	for k, v := range a.Variables {
		if err := r.CheckVariableName("variables", k, true); err != nil {
			return err
		}
		if err := CheckHeaderValue("variables", v); err != nil {
			return Invalid("variables", "%q: the value may not contain control characters (CR, LF, NUL, …)", k)
		}
	}
	return nil
}

// CheckPlay applies the rules to play arguments.
func (r *InputRules) CheckPlay(a *PlayArgs) error {
	for _, m := range a.Media {
		if err := r.CheckMediaURI(m); err != nil {
			return err
		}
	}
	return nil
}

// CheckVariable applies the rules to a variable read (forWrite false) or
// write.
func (r *InputRules) CheckVariable(a *VariableArgs, forWrite bool) error {
	if err := r.CheckVariableName("name", a.Name, forWrite); err != nil {
		return err
	}
	return CheckHeaderValue("value", a.Value)
}

// CheckArgs applies the rules to the arguments of action a (a pointer or
// value of its argument type; other types pass: their Validate method is
// all they need).
func (r *InputRules) CheckArgs(a Action, args any) error {
	switch v := args.(type) {
	case *OriginateArgs:
		return r.CheckOriginate(v)
	case OriginateArgs:
		return r.CheckOriginate(&v)
	case *PlayArgs:
		return r.CheckPlay(v)
	case PlayArgs:
		return r.CheckPlay(&v)
	case *VariableArgs:
		return r.CheckVariable(v, a != ActCallVarGet)
	case VariableArgs:
		return r.CheckVariable(&v, a != ActCallVarGet)
	case *RedirectArgs:
		return CheckHeaderValue("endpoint", v.Endpoint)
	case RedirectArgs:
		return CheckHeaderValue("endpoint", v.Endpoint)
	}
	return nil
}

// CheckCommand applies the rules to a command as a worker receives it,
// decoding the arguments into the action's argument type with the
// executor's own strict decoder. The Executor runs Spec.Validate, which
// includes these rules; this is the rules alone, for tests and tools.
func (r *InputRules) CheckCommand(cmd *Command) error {
	s, ok := SpecOf(cmd.Action)
	if !ok || len(cmd.Args) == 0 {
		return nil
	}
	v := s.newArgs()
	if err := decodeArgs(cmd, v); err != nil {
		return err
	}
	return r.CheckArgs(cmd.Action, v)
}
