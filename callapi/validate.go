package callapi

import (
	"bytes"
	"io"
	"regexp"
	"slices"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// endpointRe is Technology/resource: no spaces, no control characters
// (the resource reaches a SIP header).
var endpointRe = regexp.MustCompile(`^[A-Za-z0-9_]+/[^\s\x00-\x1f\x7f]{1,200}$`)

// noControlRe matches a value without control characters (CR, LF, NUL, …):
// one that ends up in a SIP header, a channel variable, an event or a log
// line.
var noControlRe = regexp.MustCompile(`^[^\x00-\x1f\x7f]*$`)

// tagRe is ValidTag as a pattern, for the API description.
var tagRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Limits of the originate arguments.
const (
	MaxFromLen = 200 // caller id
	MaxTags    = 16
)

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
	if len(a.From) > MaxFromLen {
		return Invalid("from", "longer than %d characters", MaxFromLen)
	}
	if err := checkHeaderValue("from", a.From); err != nil {
		return err
	}
	if a.Context != "" && a.Extension == "" {
		return Invalid("extension", "required with context")
	}
	if a.Extension != "" && a.Context == "" {
		return Invalid("context", "required with extension")
	}
	if a.Context != "" {
		if err := checkDialplanWord("context", a.Context); err != nil {
			return err
		}
		if err := checkDialplanWord("extension", a.Extension); err != nil {
			return err
		}
	}
	if a.Priority < 0 {
		return Invalid("priority", "must be positive")
	}
	if a.Timeout < 0 || a.Timeout > MaxRingTimeout {
		return Invalid("timeout", "must be between 0 and %d seconds", MaxRingTimeout)
	}
	for k, v := range a.Variables {
		if !validVarShape(k) {
			return Invalid("variables", "%q is not a valid channel variable name", k)
		}
		if hasControl(v) {
			return Invalid("variables", "%q: the value may not contain control characters (CR, LF, NUL, …)", k)
		}
	}
	if len(a.Tags) > MaxTags {
		return Invalid("tags", "at most %d tags", MaxTags)
	}
	for _, t := range a.Tags {
		if !ValidTag(t) {
			return Invalid("tags", "%q: a tag is 1-64 of [A-Za-z0-9_-]", t)
		}
	}
	if a.Wait != "" && !slices.Contains(waits, a.Wait) {
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
	if a.State != "" && !slices.Contains(callStates, a.State) {
		return Invalid("state", "%q is not one of %v", a.State, callStates)
	}
	if a.Tag != "" && !ValidTag(a.Tag) {
		return Invalid("tag", "%q: a tag is 1-64 of [A-Za-z0-9_-]", a.Tag)
	}
	return nil
}

// waits are the values of OriginateArgs.Wait.
var waits = []Wait{WaitNone, WaitAnswered}

// callStates are the states a call listing filters by.
var callStates = []CallState{StateDown, StateDialing, StateRinging, StateUp, StateBusy, StateEnded}

// OriginateRequest is an originate as the API receives it: the JSON body of
// POST /v1/calls (openapi.json's OriginateRequest), which restapi decodes
// into it and the Go SDK (callapi/client) sends. It is the originate's
// arguments, whose members it flattens into the body, and the node to
// place the call on (empty: any).
//
//	req := callapi.OriginateRequest{Node: "pbx1", OriginateArgs: callapi.OriginateArgs{
//		To: "PJSIP/alice", Wait: callapi.WaitAnswered, Tags: []string{"sales-42"},
//	}}
//	// or, member by member:
//	var req callapi.OriginateRequest
//	req.To, req.Wait = "PJSIP/alice", callapi.WaitAnswered
//
// is the body {"node":"pbx1","to":"PJSIP/alice","tags":["sales-42"],"wait":"answered"}.
type OriginateRequest struct {
	Node NodeID `json:"node,omitempty"`
	OriginateArgs
}

// Validate checks the node, when one is named, and the arguments
// (Spec.Validate of ActCallOriginate).
func (req *OriginateRequest) Validate(r *InputRules) error {
	if req.Node != "" {
		if err := CheckNodeID("node", req.Node); err != nil {
			return err
		}
	}
	return ValidateArgs(ActCallOriginate, r, &req.OriginateArgs)
}

// MaxBridgeCalls is the most calls a bridge creation may add at once.
const MaxBridgeCalls = 32

// BridgeCreateRequest is a bridge creation as the API receives it: the JSON
// body of POST /v1/bridges (openapi.json's BridgeRequest), which restapi
// decodes into it and the Go SDK (callapi/client) sends. It is the
// creation's arguments, whose members it flattens into the body, the node
// to create the bridge on and the calls to add at once.
//
//	req := callapi.BridgeCreateRequest{Calls: []callapi.CallID{a.ID, b.ID}}
//	req.Type = "mixing"
//
// is the body {"calls":["…","…"],"type":"mixing"}.
type BridgeCreateRequest struct {
	Node  NodeID   `json:"node,omitempty"`
	Calls []CallID `json:"calls,omitempty"` // calls to add at once; they decide the node when Node is empty
	BridgeCreateArgs
}

// Validate checks the node, when one is named, the calls to add (at most
// MaxBridgeCalls valid call ids, none twice) and the arguments
// (Spec.Validate of ActBridgeCreate).
func (req *BridgeCreateRequest) Validate(r *InputRules) error {
	if req.Node != "" {
		if err := CheckNodeID("node", req.Node); err != nil {
			return err
		}
	}
	if len(req.Calls) > MaxBridgeCalls {
		return Invalid("calls", "at most %d calls", MaxBridgeCalls)
	}
	for i, c := range req.Calls {
		if err := CheckID("calls", "call id", string(c)); err != nil {
			return err
		}
		if slices.Contains(req.Calls[:i], c) {
			return Invalid("calls", "%q is given twice", c)
		}
	}
	return ValidateArgs(ActBridgeCreate, r, &req.BridgeCreateArgs)
}
