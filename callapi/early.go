package callapi

import (
	"context"
	"regexp"
)

// DialControl creates a call without dialling it, then dials it: what is
// set up in between (variables, a bridge, media on the caller) happens
// before the far end rings, and the caller hears the far end's early media
// once dialled (ARI's POST /channels/create, then POST /channels/{id}/dial).
// asterisk.PBX implements it; a PBX without it answers not_implemented.
type DialControl interface {
	// Create creates call id of tenant in the app, not dialled (state down).
	Create(ctx context.Context, tenant string, id CallID, a CreateArgs) (*Call, error)
	// Dial dials a created call of tenant.
	Dial(ctx context.Context, tenant string, id CallID, a DialArgs) error
}

// MessageControl sends text messages (SIP MESSAGE) to endpoints.
// asterisk.PBX implements it. Messages received are the event
// message.received.
type MessageControl interface {
	// SendMessage sends a to its endpoint, which must be one of tenant's:
	// another tenant's endpoint is CodeNotFound.
	SendMessage(ctx context.Context, tenant string, a MessageArgs) error
}

// CreateArgs are the arguments of ActCallCreate.
type CreateArgs struct {
	To         string            `json:"to"`                   // endpoint, e.g. PJSIP/alice
	Originator CallID            `json:"originator,omitempty"` // the calling call, for codecs and linked id
	Formats    string            `json:"formats,omitempty"`    // codecs without originator, e.g. ulaw,alaw
	Variables  map[string]string `json:"variables,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
}

var formatsRe = regexp.MustCompile(`^[a-z0-9_]{1,16}(,[a-z0-9_]{1,16}){0,15}$`)

// Validate checks the endpoint, variables and tags as an originate's, and
// the originator and formats.
func (a *CreateArgs) Validate() error {
	o := OriginateArgs{To: a.To, Variables: a.Variables, Tags: a.Tags}
	if err := o.Validate(); err != nil {
		return err
	}
	if a.Originator != "" {
		if err := CheckID("originator", "call id", string(a.Originator)); err != nil {
			return err
		}
	}
	if a.Formats != "" && !formatsRe.MatchString(a.Formats) {
		return Invalid("formats", "%q is not a list of codec names such as ulaw,alaw", a.Formats)
	}
	return nil
}

// checkRules checks the names of the channel variables, as an originate's.
func (a *CreateArgs) checkRules(r *InputRules, act Action) error {
	o := OriginateArgs{Variables: a.Variables}
	return o.checkRules(r, act)
}

// CreateRequest is a call creation as the API receives it: the body of
// POST /v1/calls/create, the creation's arguments and the node to create
// the call on (empty: any).
type CreateRequest struct {
	Node NodeID `json:"node,omitempty"`
	CreateArgs
}

// Validate checks the node, when one is named, and the arguments.
func (req *CreateRequest) Validate(r *InputRules) error {
	if req.Node != "" {
		if err := CheckNodeID("node", req.Node); err != nil {
			return err
		}
	}
	return ValidateArgs(ActCallCreate, r, &req.CreateArgs)
}

// DialArgs are the arguments of ActCallDial.
type DialArgs struct {
	Timeout int    `json:"timeout,omitempty"` // ring timeout, seconds (0: none)
	Caller  CallID `json:"caller,omitempty"`  // the call that dials it, for early media and linked id
}

// Validate checks dial arguments.
func (a *DialArgs) Validate() error {
	if a.Timeout < 0 || a.Timeout > MaxRingTimeout {
		return Invalid("timeout", "must be between 0 and %d seconds", MaxRingTimeout)
	}
	if a.Caller != "" {
		return CheckID("caller", "call id", string(a.Caller))
	}
	return nil
}

// Limits of a text message.
const (
	MaxMessageBody = 4096
	MaxMessageVars = 32
)

// MessageArgs are the arguments of ActMessageSend.
type MessageArgs struct {
	To        string            `json:"to"`   // endpoint, e.g. PJSIP/alice
	From      string            `json:"from"` // sender, e.g. sip:shop@pbx.example.com
	Body      string            `json:"body,omitempty"`
	Variables map[string]string `json:"variables,omitempty"` // SIP headers to add (PJSIP)
}

// headerNameRe is a SIP header name (a token).
var headerNameRe = regexp.MustCompile(`^[A-Za-z0-9!%*_+~.-]{1,64}$`)

// bodyCtlRe matches a control character other than tab, CR and LF.
var bodyCtlRe = regexp.MustCompile(`[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]`)

// Validate checks a text message.
func (a *MessageArgs) Validate() error {
	if a.To == "" {
		return Invalid("to", "required (an endpoint such as PJSIP/alice)")
	}
	if !endpointRe.MatchString(a.To) {
		return Invalid("to", "%q is not an endpoint of the form Technology/resource", a.To)
	}
	if a.From == "" {
		return Invalid("from", "required (the sender, such as sip:shop@pbx.example.com)")
	}
	if len(a.From) > MaxFromLen {
		return Invalid("from", "longer than %d characters", MaxFromLen)
	}
	if err := checkHeaderValue("from", a.From); err != nil {
		return err
	}
	if len(a.Body) > MaxMessageBody {
		return Invalid("body", "longer than %d bytes", MaxMessageBody)
	}
	if bodyCtlRe.MatchString(a.Body) {
		return Invalid("body", "may not contain control characters other than tab, CR and LF")
	}
	if len(a.Variables) > MaxMessageVars {
		return Invalid("variables", "at most %d", MaxMessageVars)
	}
	for k, v := range a.Variables {
		if !headerNameRe.MatchString(k) {
			return Invalid("variables", "%q is not a header name", k)
		}
		if hasControl(v) || len(v) > MaxVariableValueLen {
			return Invalid("variables", "%q: the value may not contain control characters or exceed %d bytes", k, MaxVariableValueLen)
		}
	}
	return nil
}

// MessageRequest is a text message as the API receives it: the body of
// POST /v1/messages, the message and the node to send it from (empty: any).
type MessageRequest struct {
	Node NodeID `json:"node,omitempty"`
	MessageArgs
}

// Validate checks the node, when one is named, and the message.
func (req *MessageRequest) Validate(r *InputRules) error {
	if req.Node != "" {
		if err := CheckNodeID("node", req.Node); err != nil {
			return err
		}
	}
	return ValidateArgs(ActMessageSend, r, &req.MessageArgs)
}

// MessageSent is the result of ActMessageSend: Asterisk took the message
// (delivery is the endpoint's: SIP MESSAGE has no delivery report here).
type MessageSent struct {
	Node NodeID `json:"node"`
	To   string `json:"to"`
}

// MessageData is the data of message.received.
type MessageData struct {
	Endpoint  string            `json:"endpoint,omitempty"` // Technology/resource it came from, when Asterisk knows it
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}
