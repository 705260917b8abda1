package gateway

import (
	"bytes"
	"io"
	"regexp"
	"slices"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

var endpointRe = regexp.MustCompile(`^[A-Za-z0-9_]+/[^\s]{1,200}$`)

// validVarShape reports whether name has the shape of a channel variable
// name: plain, or FUNCTION(args). Which ones may be used is for
// InputRules.CheckVariableName to say.
func validVarShape(name string) bool {
	return plainVarRe.MatchString(name) || funcVarRe.MatchString(name)
}

// MaxRingTimeout is the longest ring timeout an originate may ask for.
const MaxRingTimeout = 600

// Validate checks originate arguments and says which field is wrong.
func (a *OriginateArgs) Validate() error {
	if a.To == "" {
		return Invalid("to", "required (an endpoint such as PJSIP/alice)")
	}
	if !endpointRe.MatchString(a.To) {
		return Invalid("to", "%q is not an endpoint of the form Technology/resource", a.To)
	}
	if len(a.From) > 200 {
		return Invalid("from", "longer than 200 characters")
	}
	if a.Context != "" && a.Extension == "" {
		return Invalid("extension", "required with context")
	}
	if a.Extension != "" && a.Context == "" {
		return Invalid("context", "required with extension")
	}
	if a.Priority < 0 {
		return Invalid("priority", "must be positive")
	}
	if a.Timeout < 0 || a.Timeout > MaxRingTimeout {
		return Invalid("timeout", "must be between 0 and %d seconds", MaxRingTimeout)
	}
	for k := range a.Variables {
		if !validVarShape(k) {
			return Invalid("variables", "%q is not a valid channel variable name", k)
		}
	}
	if len(a.Tags) > 16 {
		return Invalid("tags", "at most 16 tags")
	}
	for _, t := range a.Tags {
		if !ValidTag(t) {
			return Invalid("tags", "%q: a tag is 1-64 of [A-Za-z0-9_-]", t)
		}
	}
	switch a.Wait {
	case "", WaitNone, WaitAnswered:
	default:
		return Invalid("wait", "must be none or answered, not %q", a.Wait)
	}
	return nil
}

// Validate checks hangup arguments.
func (a *HangupArgs) Validate() error {
	if a.Reason != "" && !slices.Contains(HangupReasons, a.Reason) {
		return Invalid("reason", "%q is not one of %v", a.Reason, HangupReasons)
	}
	return nil
}

// Validate checks the filters of a call listing.
func (a *ListArgs) Validate() error {
	switch a.State {
	case "", StateDown, StateDialing, StateRinging, StateUp, StateBusy, StateEnded:
	default:
		return Invalid("state", "%q is not one of down, dialing, ringing, up, busy, ended", a.State)
	}
	if a.Tag != "" && !ValidTag(a.Tag) {
		return Invalid("tag", "%q: a tag is 1-64 of [A-Za-z0-9_-]", a.Tag)
	}
	return nil
}
