package callapi

import (
	"context"
	"path"
	"regexp"
	"strings"
)

// Node resources are what an Asterisk holds beside calls: endpoints, device
// states, mailboxes (message-waiting counts) and global variables. They
// belong to no call, so their tenancy is by name: a NameScope says which
// names a tenant sees and changes (patterns configured per client by the
// operator); an admin's scope holds everything. The worker applies the
// scope a command carries (the gateway sets it from the caller's token; a
// command without one sees nothing): a name outside it is not_found, and a
// listing leaves it out.

// NodeControl reads and changes the node resources of one Asterisk. It is
// an optional port (PortNode): an adapter without it answers
// not_implemented. Its methods know nothing of tenants; the actions filter
// by NameScope.
type NodeControl interface {
	Endpoints(ctx context.Context) ([]*Endpoint, error)
	Endpoint(ctx context.Context, name string) (*Endpoint, error)
	DeviceStates(ctx context.Context) ([]*DeviceState, error)
	DeviceState(ctx context.Context, name string) (*DeviceState, error)
	SetDeviceState(ctx context.Context, name, state string) error
	DeleteDeviceState(ctx context.Context, name string) error
	Mailboxes(ctx context.Context) ([]*Mailbox, error)
	Mailbox(ctx context.Context, name string) (*Mailbox, error)
	SetMailbox(ctx context.Context, m Mailbox) error
	DeleteMailbox(ctx context.Context, name string) error
	GlobalVariable(ctx context.Context, name string) (string, error)
	SetGlobalVariable(ctx context.Context, name, value string) error
}

// Endpoint is an endpoint (a configured peer: PJSIP/alice) as the CallAPI
// shows it.
type Endpoint struct {
	Name       string `json:"name"` // technology/resource
	Node       NodeID `json:"node,omitempty"`
	Technology string `json:"technology"`
	Resource   string `json:"resource"`
	State      string `json:"state"` // unknown, offline, online
	Calls      int    `json:"calls"` // channels on it now, every tenant's
	// CallIDs are the calls on it that are the caller's (the other
	// channels may be other tenants' calls: only their number is shown).
	CallIDs []CallID `json:"call_ids,omitempty"`
	// ChannelIDs are the ids of the channels on it, as the adapter read
	// them; never shown (CallIDs is what the caller may see).
	ChannelIDs []string `json:"-"`
}

// DeviceState is the state of a device (BLF): Asterisk's names, such as
// NOT_INUSE, INUSE, BUSY, RINGING, UNAVAILABLE.
type DeviceState struct {
	Name  string `json:"name"`
	Node  NodeID `json:"node,omitempty"`
	State string `json:"state"`
}

// Mailbox is the message-waiting state of a mailbox (MWI).
type Mailbox struct {
	Name        string `json:"name"`
	Node        NodeID `json:"node,omitempty"`
	OldMessages int    `json:"old_messages"`
	NewMessages int    `json:"new_messages"`
}

// Kinds of node resources, as a NameScope names them.
const (
	KindEndpoint    = "endpoints"
	KindDeviceState = "device_states"
	KindMailbox     = "mailboxes"
	KindVariable    = "variables"
)

// NameScope is the node resources one caller may see and change: for each
// kind, glob patterns (path.Match: * and ?, [..]) over the resource's name;
// All: every name (an admin).
type NameScope struct {
	All          bool     `json:"all,omitempty"`
	Endpoints    []string `json:"endpoints,omitempty"`
	DeviceStates []string `json:"device_states,omitempty"`
	Mailboxes    []string `json:"mailboxes,omitempty"`
	Variables    []string `json:"variables,omitempty"`
}

// MaxScopePatterns bounds the patterns of one kind.
const MaxScopePatterns = 64

func (s *NameScope) patterns(kind string) []string {
	switch kind {
	case KindEndpoint:
		return s.Endpoints
	case KindDeviceState:
		return s.DeviceStates
	case KindMailbox:
		return s.Mailboxes
	case KindVariable:
		return s.Variables
	}
	return nil
}

// Allows reports whether name of kind is in the scope (a nil scope allows
// nothing).
func (s *NameScope) Allows(kind, name string) bool {
	if s == nil {
		return false
	}
	if s.All {
		return true
	}
	for _, p := range s.patterns(kind) {
		if ok, err := path.Match(p, name); ok && err == nil {
			return true
		}
	}
	return false
}

// Validate checks the patterns: at most MaxScopePatterns per kind, each a
// valid pattern of 1-128 printable characters.
func (s *NameScope) Validate() error {
	if s == nil {
		return nil
	}
	for _, k := range []string{KindEndpoint, KindDeviceState, KindMailbox, KindVariable} {
		ps := s.patterns(k)
		if len(ps) > MaxScopePatterns {
			return Invalid("scope."+k, "at most %d patterns", MaxScopePatterns)
		}
		for _, p := range ps {
			if _, err := path.Match(p, ""); err != nil || p == "" || len(p) > 128 || checkHeaderValue("p", p) != nil {
				return Invalid("scope."+k, "%q is not a valid name pattern", p)
			}
		}
	}
	return nil
}

// nodeNameRe is the shape of a node resource's name: an endpoint
// (PJSIP/alice), a device (Stasis:queue-1, PJSIP/alice) or a mailbox
// (1000@default).
var nodeNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@:/+=#-]{0,127}$`)

func checkNodeName(kind, name string) error {
	if !nodeNameRe.MatchString(name) || strings.Contains(name, "..") {
		return Invalid("name", "%q is not a valid name: 1-128 of A-Z a-z 0-9 _ . @ : / + = # -, starting with a letter or digit", name)
	}
	if kind == KindEndpoint && strings.Count(name, "/") != 1 {
		return Invalid("name", "%q is not an endpoint name: technology/resource (PJSIP/alice)", name)
	}
	return nil
}

// NodeListArgs are the arguments of the node resource listings.
type NodeListArgs struct {
	Scope *NameScope `json:"scope,omitempty"`
}

// Validate checks the scope.
func (a *NodeListArgs) Validate() error { return a.Scope.Validate() }

// NodeNameArgs are the arguments of the actions on one endpoint, device
// state or mailbox by name.
type NodeNameArgs struct {
	Name  string     `json:"name"`
	Scope *NameScope `json:"scope,omitempty"`
}

// Validate checks the name's shape and the scope.
func (a *NodeNameArgs) Validate() error {
	if err := checkNodeName("", a.Name); err != nil {
		return err
	}
	return a.Scope.Validate()
}

// DeviceStateArgs are the arguments of ActDeviceStateSet.
type DeviceStateArgs struct {
	Name  string     `json:"name"`
	State string     `json:"state"`
	Scope *NameScope `json:"scope,omitempty"`
}

// DeviceStates a custom device state may be set to.
var DeviceStates = []string{"NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"}

// Validate checks a device state change: Asterisk lets applications set
// only their own devices, named Stasis:<name>.
func (a *DeviceStateArgs) Validate() error {
	if err := checkNodeName(KindDeviceState, a.Name); err != nil {
		return err
	}
	if !strings.HasPrefix(a.Name, "Stasis:") || len(a.Name) == len("Stasis:") {
		return Invalid("name", "%q: only custom devices, named Stasis:<name>, can be set", a.Name)
	}
	if !containsString(DeviceStates, a.State) {
		return Invalid("state", "%q is not one of %s", a.State, strings.Join(DeviceStates, ", "))
	}
	return a.Scope.Validate()
}

// MailboxArgs are the arguments of ActMailboxSet.
type MailboxArgs struct {
	Name        string     `json:"name"`
	OldMessages int        `json:"old_messages"`
	NewMessages int        `json:"new_messages"`
	Scope       *NameScope `json:"scope,omitempty"`
}

// MaxMailboxMessages bounds a mailbox's counts.
const MaxMailboxMessages = 1_000_000

// Validate checks a mailbox change.
func (a *MailboxArgs) Validate() error {
	if err := checkNodeName(KindMailbox, a.Name); err != nil {
		return err
	}
	if a.OldMessages < 0 || a.OldMessages > MaxMailboxMessages {
		return Invalid("old_messages", "must be between 0 and %d", MaxMailboxMessages)
	}
	if a.NewMessages < 0 || a.NewMessages > MaxMailboxMessages {
		return Invalid("new_messages", "must be between 0 and %d", MaxMailboxMessages)
	}
	return a.Scope.Validate()
}

// GlobalVarArgs are the arguments of ActGlobalVarGet / ActGlobalVarSet: the
// name rules and function allow-list of channel variables (VariableArgs,
// InputRules) apply.
type GlobalVarArgs struct {
	VariableArgs
	Scope *NameScope `json:"scope,omitempty"`
}

// Validate checks the variable and the scope.
func (a *GlobalVarArgs) Validate() error {
	if err := a.VariableArgs.Validate(); err != nil {
		return err
	}
	return a.Scope.Validate()
}

func (a *GlobalVarArgs) checkRules(r *InputRules, act Action) error {
	return r.CheckVariableName("name", a.Name, act != ActGlobalVarGet)
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// EndpointList, DeviceStateList and MailboxList are the results of the
// node resource listings.
type EndpointList struct {
	Endpoints []*Endpoint `json:"endpoints"`
}

type DeviceStateList struct {
	DeviceStates []*DeviceState `json:"device_states"`
}

type MailboxList struct {
	Mailboxes []*Mailbox `json:"mailboxes"`
}

// notInScope is the error of a name outside the caller's scope: the same
// not_found as a name that does not exist.
func notInScope(kind, name string) error {
	return Errorf(CodeNotFound, "%s %s not found", strings.TrimSuffix(strings.ReplaceAll(kind, "_", " "), "s"), name)
}

// inScope checks name against scope for kind.
func inScope(scope *NameScope, kind, name string) error {
	if !scope.Allows(kind, name) {
		return notInScope(kind, name)
	}
	return nil
}

// filterScope keeps the items of l whose name scope allows.
func filterScope[T any](l []T, scope *NameScope, kind string, name func(T) string) []T {
	out := make([]T, 0, len(l))
	for _, x := range l {
		if scope.Allows(kind, name(x)) {
			out = append(out, x)
		}
	}
	return out
}
