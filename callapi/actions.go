package callapi

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
)

// The action registry: for every Action exactly one Spec, in one table
// (specs, below). Everything that differs from one action to another is
// said there once: the argument type and its validation, the id a command
// must carry, whether it creates something (acknowledged before it runs),
// which PBX port runs it, what it returns, and the REST routes that reach
// it. The worker's Executor runs commands through it (the trust boundary:
// any AMQP client can publish a command), the Service validates through it
// before publishing, and restapi builds its routes from it. Adding an
// action is one entry here plus its PBX method.

// IDKind says which id of a Command an action needs.
type IDKind uint8

// The ids a command may carry.
const (
	IDNone     IDKind = iota // the node itself: listings, ping, transfer (ids in args)
	IDCall                   // Command.CallID
	IDBridge                 // Command.BridgeID
	IDResource               // Command.ResourceID: a playback id or recording name
)

// Port names the PBX interface an action runs against. Only PortPBX is
// mandatory; a PBX without an optional port answers its actions with
// CodeNotImplemented.
type Port uint8

// The PBX ports.
const (
	PortPBX     Port = iota // PBX: calls' lifecycle and the node's info
	PortCalls               // CallControl (optional)
	PortBridges             // BridgeControl (optional)
	PortMedia               // MediaControl (optional)
	// PortJournal is the worker's idempotency journal (Journal,
	// optional: an executor without one answers not_implemented).
	PortJournal
	// PortNodeRes is NodeControl: endpoints, device states, mailboxes and
	// global variables (optional).
	PortNodeRes
	PortDial     // DialControl (optional): create, then dial
	PortMessages // MessageControl (optional): text messages
)

func (p Port) String() string {
	switch p {
	case PortCalls:
		return "call control"
	case PortBridges:
		return "bridges"
	case PortMedia:
		return "playback and recording control"
	case PortJournal:
		return "an idempotency journal"
	case PortNodeRes:
		return "node resources (endpoints, device states, mailboxes, global variables)"
	case PortDial:
		return "create-then-dial"
	case PortMessages:
		return "text messages"
	}
	return "calls"
}

// Validator is an argument type: Validate checks everything about it that
// needs no configuration (required fields, ranges, enums, characters); the
// types whose content an operator's InputRules restrict check that too,
// and Spec.Validate runs both.
type Validator interface {
	Validate() error
}

// NoArgs is the argument type of actions that take none: an absent body,
// null or {}.
type NoArgs struct{}

// Validate accepts every NoArgs.
func (*NoArgs) Validate() error { return nil }

// RingArgs are the arguments of ActCallRing: on is true when absent.
type RingArgs struct {
	On *bool `json:"on,omitempty"`
}

// Validate accepts every RingArgs.
func (*RingArgs) Validate() error { return nil }

// Ports are the interfaces an executor runs actions against; an optional
// port is nil when the PBX does not implement it (Journal: when the
// worker keeps no journal).
type Ports struct {
	Node    NodeID
	PBX     PBX
	Calls   CallControl
	Bridges BridgeControl
	Media   MediaControl
	Journal Journal
	// Resources is the node's NodeControl.
	Resources NodeControl
	Dial      DialControl
	Msgs      MessageControl
}

// PortsOf finds the optional ports a PBX implements.
func PortsOf(node NodeID, p PBX) Ports {
	ps := Ports{Node: node, PBX: p}
	ps.Calls, _ = p.(CallControl)
	ps.Bridges, _ = p.(BridgeControl)
	ps.Media, _ = p.(MediaControl)
	ps.Resources, _ = p.(NodeControl)
	ps.Dial, _ = p.(DialControl)
	ps.Msgs, _ = p.(MessageControl)
	return ps
}

// Has reports whether port p is there.
func (ps *Ports) Has(p Port) bool {
	switch p {
	case PortCalls:
		return ps.Calls != nil
	case PortBridges:
		return ps.Bridges != nil
	case PortMedia:
		return ps.Media != nil
	case PortJournal:
		return ps.Journal != nil
	case PortNodeRes:
		return ps.Resources != nil
	case PortDial:
		return ps.Dial != nil
	case PortMessages:
		return ps.Msgs != nil
	}
	return ps.PBX != nil
}

// Spec is everything callgw knows about one action.
type Spec struct {
	Action Action
	// ID is the id a command of this action must carry (a valid id,
	// ValidID); NewID says it names what the command creates rather
	// than an existing resource.
	ID    IDKind
	NewID bool
	// Creates: the command creates something on the PBX, so it is
	// acknowledged before it runs (at most once); the others after (at
	// least once, made safe by the workers' dedup memory). When the
	// argument type names what is created (playback_id, snoop_id, a
	// transfer's bridge_id), the Service names it (named).
	Creates bool
	// Port is the PBX interface that runs it.
	Port Port
	// Args is the argument type (a struct; NoArgs for none), Result the
	// type of the reply's result (nil: none).
	Args   reflect.Type
	Result reflect.Type
	// REST lists the routes that reach the action ("METHOD /path" as
	// restapi registers them); AMQPOnly says why an action has none.
	REST     []string
	AMQPOnly string

	newArgs func() Validator
	run     func(ctx context.Context, p Ports, cmd *Command, args Validator) (any, error)
}

// NewArgs returns a new zero value of the action's argument type.
func (s *Spec) NewArgs() Validator { return s.newArgs() }

// Validate is the one check of an action's arguments that every layer
// trusts: the argument type's Validate, then, for the types whose content
// an operator restricts, the InputRules r (nil: the strict defaults). args is a pointer to or a value of the
// action's argument type, or nil for its zero value.
func (s *Spec) Validate(r *InputRules, args any) error {
	v, err := s.Validator(args)
	if err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	if c, ok := v.(ruled); ok {
		return c.checkRules(r, s.Action)
	}
	return nil
}

// decode decodes the arguments of cmd strictly into a new value of the
// action's argument type and validates them (Validate).
func (s *Spec) decode(r *InputRules, cmd *Command) (Validator, error) {
	args := s.newArgs()
	if err := DecodeArgs(cmd, args); err != nil {
		return nil, err
	}
	if err := s.Validate(r, args); err != nil {
		return nil, err
	}
	return args, nil
}

// Validator returns args as a pointer to the action's argument type.
func (s *Spec) Validator(args any) (Validator, error) {
	if args == nil {
		return s.newArgs(), nil
	}
	if v, ok := args.(Validator); ok && reflect.TypeOf(args) == reflect.PointerTo(s.Args) {
		return v, nil
	}
	if rv := reflect.ValueOf(args); rv.Type() == s.Args {
		p := reflect.New(s.Args)
		p.Elem().Set(rv)
		return p.Interface().(Validator), nil
	}
	return nil, Errorf(CodeInternal, "%s takes %s, not %T", s.Action, s.Args, args)
}

// NeedsExisting reports whether the action is about an existing resource
// of kind k.
func (s *Spec) NeedsExisting(k IDKind) bool { return s.ID == k && !s.NewID }

// commandID returns the id of cmd the action needs, and its field name.
func (s *Spec) commandID(cmd *Command) (field, id string) {
	switch s.ID {
	case IDCall:
		return "call_id", string(cmd.CallID)
	case IDBridge:
		return "bridge_id", string(cmd.BridgeID)
	case IDResource:
		return "resource_id", cmd.ResourceID
	}
	return "", ""
}

// checkID checks the id cmd must carry.
func (s *Spec) checkID(cmd *Command) error {
	field, id := s.commandID(cmd)
	switch {
	case field == "":
		return nil
	case id == "":
		return Invalid(field, "required for %s", s.Action)
	}
	return CheckID(field, "valid id", id)
}

// SpecOf returns the Spec of action a.
func SpecOf(a Action) (*Spec, bool) {
	s, ok := specByAction[a]
	return s, ok
}

// Specs returns every Spec, in the order of the table.
func Specs() []*Spec { return slices.Clone(specs) }

// ValidateArgs runs SpecOf(a).Validate: the check the Service runs before
// publishing and the Executor before running.
func ValidateArgs(a Action, r *InputRules, args any) error {
	s, ok := SpecOf(a)
	if !ok {
		return Invalid("action", "unknown action %q", a)
	}
	return s.Validate(r, args)
}

// argPtr is the pointer type of an argument type A.
type argPtr[A any] interface {
	*A
	Validator
}

// none is the result type of actions that reply without a result.
type none struct{}

// def completes s with the argument and result types of run and run itself.
func def[A any, P argPtr[A], R any](s Spec, run func(ctx context.Context, p Ports, cmd *Command, a P) (R, error)) *Spec {
	s.Args = reflect.TypeFor[A]()
	if t := reflect.TypeFor[R](); t != reflect.TypeFor[none]() {
		s.Result = t
	}
	s.newArgs = func() Validator { return P(new(A)) }
	hasResult := s.Result != nil
	s.run = func(ctx context.Context, p Ports, cmd *Command, a Validator) (any, error) {
		r, err := run(ctx, p, cmd, a.(P))
		if err != nil || !hasResult {
			return nil, err
		}
		return r, nil
	}
	return &s
}

// specByAction indexes specs.
var specByAction = func() map[Action]*Spec {
	m := make(map[Action]*Spec, len(specs))
	for _, s := range specs {
		m[s.Action] = s
	}
	return m
}()

// BridgeList is the result of ActBridgeList.
type BridgeList struct {
	Bridges []*Bridge `json:"bridges"`
}

// RecordingList is the result of ActStoredList.
type RecordingList struct {
	Recordings []*Recording `json:"recordings"`
}

// DecodeArgs decodes cmd.Args strictly into v.
func DecodeArgs(cmd *Command, v any) error {
	if len(cmd.Args) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(cmd.Args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Wrap(CodeInvalidArgument, "callapi.DecodeArgs", err, "args: "+err.Error())
	}
	return nil
}

// CheckReceived is the worker's check of a command, whoever published it:
// a known action, the id its Spec needs, the arguments strictly decoded,
// then Spec.Validate with the rules r (nil: the strict defaults). It
// returns the action's Spec and the decoded arguments. The tenant is the
// command's as decoded off the bus, which gives one that names none the
// default tenant. The Executor runs it once on every command (a keyed
// originate, which the worker's journal keeps only once it passed, through
// Executor.Check). Whether the PBX has the port is the
// Executor's to say: a request the node cannot serve is still checked
// first, as the Service checks it before publishing.
func CheckReceived(r *InputRules, cmd *Command) (*Spec, Validator, error) {
	spec, ok := SpecOf(cmd.Action)
	if !ok {
		return nil, nil, Invalid("action", "unknown action %q", cmd.Action)
	}
	if err := spec.checkID(cmd); err != nil {
		return nil, nil, err
	}
	args, err := spec.decode(r, cmd)
	if err != nil {
		return nil, nil, err
	}
	return spec, args, nil
}

// Run runs the action's PBX method with args, checked by CheckReceived, on
// the ports of one node (the Executor's part, once the port is known there).
func (s *Spec) Run(ctx context.Context, p Ports, cmd *Command, args Validator) (any, error) {
	return s.run(ctx, p, cmd, args)
}
