package gateway

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// actionConstants parses command.go for the Action constants.
func actionConstants(t *testing.T) []Action {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "command.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []Action
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || types(vs.Type) != "Action" {
			return true
		}
		for _, v := range vs.Values {
			lit, ok := v.(*ast.BasicLit)
			if !ok {
				t.Fatalf("Action constant %v is not a literal", vs.Names)
			}
			s, _ := strconv.Unquote(lit.Value)
			out = append(out, Action(s))
		}
		return true
	})
	if len(out) < 30 {
		t.Fatalf("found %d Action constants in command.go", len(out))
	}
	return out
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestSpecsComplete walks the registry: every Action constant has exactly
// one Spec, every Spec is reachable from REST or says why it is AMQP-only
// (not both), and each Spec is consistent in itself.
func TestSpecsComplete(t *testing.T) {
	count := map[Action]int{}
	for _, s := range Specs() {
		count[s.Action]++
	}
	for _, a := range actionConstants(t) {
		if count[a] != 1 {
			t.Errorf("action %s has %d Specs, want 1", a, count[a])
		}
		delete(count, a)
	}
	for a := range count {
		t.Errorf("Spec %s is not an Action constant", a)
	}
	for _, s := range Specs() {
		switch {
		case len(s.REST) == 0 && s.AMQPOnly == "":
			t.Errorf("%s: neither a REST route nor a reason to be AMQP-only", s.Action)
		case len(s.REST) > 0 && s.AMQPOnly != "":
			t.Errorf("%s: REST routes and AMQP-only", s.Action)
		}
		if s.Args == nil || s.Args.Kind() != reflect.Struct || s.newArgs == nil || s.run == nil {
			t.Errorf("%s: incomplete Spec %+v", s.Action, s)
		}
		if reflect.TypeOf(s.NewArgs()) != reflect.PointerTo(s.Args) {
			t.Errorf("%s: NewArgs gives %T, want *%s", s.Action, s.NewArgs(), s.Args)
		}
		if s.NewID && (!s.Creates || s.ID == IDNone) {
			t.Errorf("%s: names what it creates but does not create or has no id", s.Action)
		}
		if got := s.Action.Creates(); got != s.Creates {
			t.Errorf("%s.Creates() = %v, Spec says %v", s.Action, got, s.Creates)
		}
		for _, rt := range s.REST {
			if m, p, ok := strings.Cut(rt, " "); !ok || !strings.HasPrefix(p, "/v1/") || strings.ToUpper(m) != m {
				t.Errorf("%s: route %q is not \"METHOD /v1/…\"", s.Action, rt)
			}
		}
	}
	if Action("call.bogus").Creates() {
		t.Error("an unknown action creates")
	}
}

// fullPBX implements every port and records what ran.
type fullPBX struct {
	*fakePBX
	ran []string
}

func (p *fullPBX) note(s string) { p.ran = append(p.ran, s) }

func (p *fullPBX) Originate(ctx context.Context, tenant string, id CallID, a OriginateArgs) (*Call, error) {
	p.note("Originate")
	return &Call{ID: id}, nil
}
func (p *fullPBX) Hangup(context.Context, string, CallID, string) error { p.note("Hangup"); return nil }
func (p *fullPBX) Calls(context.Context, string) ([]*Call, error)       { p.note("Calls"); return nil, nil }
func (p *fullPBX) Call(_ context.Context, _ string, id CallID) (*Call, error) {
	p.note("Call")
	return &Call{ID: id}, nil
}
func (p *fullPBX) Info(context.Context) (PBXInfo, error) { p.note("Info"); return PBXInfo{}, nil }

func (p *fullPBX) Answer(context.Context, string, CallID) error     { p.note("Answer"); return nil }
func (p *fullPBX) Ring(context.Context, string, CallID, bool) error { p.note("Ring"); return nil }
func (p *fullPBX) Hold(context.Context, string, CallID, bool) error { p.note("Hold"); return nil }
func (p *fullPBX) Mute(context.Context, string, CallID, string, bool) error {
	p.note("Mute")
	return nil
}
func (p *fullPBX) SendDTMF(context.Context, string, CallID, DTMFArgs) error {
	p.note("SendDTMF")
	return nil
}
func (p *fullPBX) Play(context.Context, string, CallID, PlayArgs) (*Playback, error) {
	p.note("Play")
	return &Playback{}, nil
}
func (p *fullPBX) Record(context.Context, string, CallID, RecordArgs) (*Recording, error) {
	p.note("Record")
	return &Recording{}, nil
}
func (p *fullPBX) Redirect(context.Context, string, CallID, string) error {
	p.note("Redirect")
	return nil
}
func (p *fullPBX) Continue(context.Context, string, CallID, ContinueArgs) error {
	p.note("Continue")
	return nil
}
func (p *fullPBX) Snoop(context.Context, string, CallID, SnoopArgs) (*Call, error) {
	p.note("Snoop")
	return &Call{}, nil
}
func (p *fullPBX) Variable(context.Context, string, CallID, string) (string, error) {
	p.note("Variable")
	return "", nil
}
func (p *fullPBX) SetVariable(context.Context, string, CallID, string, string) error {
	p.note("SetVariable")
	return nil
}
func (p *fullPBX) MOH(context.Context, string, CallID, bool, string) error { p.note("MOH"); return nil }
func (p *fullPBX) CreateBridge(context.Context, string, BridgeID, BridgeCreateArgs) (*Bridge, error) {
	p.note("CreateBridge")
	return &Bridge{}, nil
}
func (p *fullPBX) Bridge(context.Context, string, BridgeID) (*Bridge, error) {
	p.note("Bridge")
	return &Bridge{}, nil
}
func (p *fullPBX) Bridges(context.Context, string) ([]*Bridge, error) {
	p.note("Bridges")
	return nil, nil
}
func (p *fullPBX) DestroyBridge(context.Context, string, BridgeID) error {
	p.note("DestroyBridge")
	return nil
}
func (p *fullPBX) AddToBridge(context.Context, string, BridgeID, CallID) error {
	p.note("AddToBridge")
	return nil
}
func (p *fullPBX) RemoveFromBridge(context.Context, string, BridgeID, CallID) error {
	p.note("RemoveFromBridge")
	return nil
}
func (p *fullPBX) PlayOnBridge(context.Context, string, BridgeID, PlayArgs) (*Playback, error) {
	p.note("PlayOnBridge")
	return &Playback{}, nil
}
func (p *fullPBX) RecordBridge(context.Context, string, BridgeID, RecordArgs) (*Recording, error) {
	p.note("RecordBridge")
	return &Recording{}, nil
}
func (p *fullPBX) Transfer(context.Context, string, TransferArgs) (*Bridge, error) {
	p.note("Transfer")
	return &Bridge{}, nil
}
func (p *fullPBX) Playback(context.Context, string, string) (*Playback, error) {
	p.note("Playback")
	return &Playback{}, nil
}
func (p *fullPBX) StopPlayback(context.Context, string, string) error {
	p.note("StopPlayback")
	return nil
}
func (p *fullPBX) LiveRecording(context.Context, string, string) (*Recording, error) {
	p.note("LiveRecording")
	return &Recording{}, nil
}
func (p *fullPBX) StopRecording(context.Context, string, string) error {
	p.note("StopRecording")
	return nil
}
func (p *fullPBX) StoredRecordings(context.Context, string) ([]*Recording, error) {
	p.note("StoredRecordings")
	return nil, nil
}
func (p *fullPBX) StoredRecording(context.Context, string, string) (*Recording, error) {
	p.note("StoredRecording")
	return &Recording{}, nil
}
func (p *fullPBX) DeleteStoredRecording(context.Context, string, string) error {
	p.note("DeleteStoredRecording")
	return nil
}

var (
	_ CallControl   = (*fullPBX)(nil)
	_ BridgeControl = (*fullPBX)(nil)
	_ MediaControl  = (*fullPBX)(nil)
)

// validArgs are arguments each action accepts.
var validArgs = map[Action]string{
	ActCallOriginate: `{"to":"PJSIP/a","variables":{"FOO":"1"}}`,
	ActCallList:      `{"state":"up","tag":"t1"}`,
	ActCallHangup:    `{"reason":"busy"}`,
	ActCallRing:      `{"on":false}`,
	ActCallMute:      `{"direction":"in"}`,
	ActCallUnmute:    `{}`,
	ActCallDTMF:      `{"digits":"12#"}`,
	ActCallPlay:      `{"media":["sound:hello"],"playback_id":"pb1","lang":"en"}`,
	ActCallRecord:    `{"name":"r1","format":"wav"}`,
	ActCallRedirect:  `{"endpoint":"PJSIP/sip:b@pbx.example.com"}`,
	ActCallContinue:  `{"context":"default","extension":"s","priority":1}`,
	ActCallSnoop:     `{"spy":"in","snoop_id":"s1"}`,
	ActCallVarGet:    `{"name":"FOO"}`,
	ActCallVarSet:    `{"name":"FOO","value":"x"}`,
	ActCallMOHStart:  `{"class":"default"}`,
	ActBridgeCreate:  `{"type":"holding"}`,
	ActBridgeAdd:     `{"call_id":"c2"}`,
	ActBridgeRemove:  `{"call_id":"c2"}`,
	ActBridgePlay:    `{"media":["tone:ring"],"playback_id":"pb2"}`,
	ActBridgeRecord:  `{"name":"conf"}`,
	ActCallTransfer:  `{"transferee":"a","target":"b","transferer":"c","bridge_id":"b1"}`,
	ActKeyLookup:     `{"command_id":"c1"}`,
}

// invalidArgs are arguments each action must refuse at the boundary
// (actions without arguments refuse any member).
var invalidArgs = map[Action][]string{
	ActCallOriginate: {`{}`, `{"to":"nope"}`, `{"to":"PJSIP/a","timeout":601}`, `{"to":"PJSIP/a","wait":"forever"}`,
		`{"to":"PJSIP/a","context":"c"}`, `{"to":"PJSIP/a","tags":["a b"]}`, `{"to":"PJSIP/a","variables":{"CALLGW_TAGS":"x"}}`,
		`{"to":"PJSIP/a","variables":{"_CALLGW_TENANT":"x"}}`, `{"to":"PJSIP/a","variables":{"__callgw_direction":"x"}}`},
	ActCallList:     {`{"state":"happy"}`, `{"tag":"a.b"}`},
	ActCallHangup:   {`{"reason":"bored"}`},
	ActCallRing:     {`{"on":"yes"}`},
	ActCallMute:     {`{"direction":"sideways"}`},
	ActCallUnmute:   {`{"direction":"up"}`},
	ActCallDTMF:     {`{}`, `{"digits":"x"}`, `{"digits":"1","between_ms":-1}`, `{"digits":"1","duration_ms":5001}`},
	ActCallPlay:     {`{"playback_id":"pb1"}`, `{"media":["sound:/etc/passwd"],"playback_id":"pb1"}`, `{"media":["http://169.254.169.254/"],"playback_id":"pb1"}`, `{"media":["sound:a"],"lang":"english!","playback_id":"pb1"}`, `{"media":["sound:a"],"playback_id":"a b"}`, `{"media":["sound:a"]}`},
	ActCallRecord:   {`{}`, `{"name":"a/b"}`, `{"name":".x"}`, `{"name":"r","format":"mp3"}`, `{"name":"r","if_exists":"maybe"}`, `{"name":"r","max_duration_seconds":-1}`},
	ActCallRedirect: {`{}`, `{"endpoint":"nope"}`, `{"endpoint":"PJSIP/b\u0000"}`, `{"endpoint":"PJSIP/bob"}`},
	ActCallContinue: {`{"context":"a,b"}`, `{"priority":-1}`, `{"label":"l","priority":2}`},
	ActCallSnoop:    {`{"spy":"none","snoop_id":"s1"}`, `{"spy":"sideways","snoop_id":"s1"}`, `{"spy":"in"}`},
	ActCallVarGet:   {`{}`, `{"name":"SHELL(id)"}`},
	ActCallVarSet:   {`{"name":"CALLGW_TENANT","value":"x"}`, `{"name":"_CALLGW_TAGS","value":"x"}`, `{"name":"__CALLGW_DIRECTION","value":"x"}`, `{"name":"FOO","value":"a\nb"}`},
	ActCallMOHStart: {`{"class":"a b"}`},
	ActBridgeCreate: {`{"type":"party"}`},
	ActBridgeAdd:    {`{}`, `{"call_id":"a b"}`},
	ActBridgeRemove: {`{}`},
	ActBridgePlay:   {`{"playback_id":"pb2"}`, `{"media":["sound:../x"],"playback_id":"pb2"}`, `{"media":["tone:ring"]}`},
	ActBridgeRecord: {`{"name":""}`},
	ActCallTransfer: {`{}`, `{"transferee":"a","target":"a","transferer":"c"}`, `{"transferee":"a","target":"b","transferer":"b"}`, `{"transferee":"a","target":"b","transferer":"c","bridge_id":"x y"}`, `{"transferee":"a","target":"b","transferer":"c"}`},
}

// commandFor builds a command of action a carrying the ids its Spec needs.
func commandFor(s *Spec, args string) *Command {
	cmd := &Command{ID: "c", Action: s.Action, Tenant: "acme", Args: json.RawMessage(args)}
	switch s.ID {
	case IDCall:
		cmd.CallID = "call1"
	case IDBridge:
		cmd.BridgeID = "br1"
	case IDResource:
		cmd.ResourceID = "res1"
	}
	return cmd
}

// TestSpecValidation: for every action, at the trust boundary (the
// executor, which any AMQP client reaches), valid arguments run on the PBX
// and each invalid one is refused with invalid_argument before the PBX
// sees anything; so are a missing or malformed id and unknown members.
func TestSpecValidation(t *testing.T) {
	for _, s := range Specs() {
		if s.Port == PortJournal {
			continue // answered in front of the executor (TestExecutorNotImplemented)
		}
		t.Run(string(s.Action), func(t *testing.T) {
			run := func(cmd *Command) (*Reply, []string) {
				pbx := &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}
				x := &Executor{Node: "pbx1", PBX: pbx}
				return x.Handle(context.Background(), cmd), pbx.ran
			}
			ok := validArgs[s.Action]
			if rep, ran := run(commandFor(s, ok)); !rep.OK || len(ran) != 1 {
				t.Fatalf("valid %s: %+v %+v, ran %v", ok, rep, rep.Error, ran)
			}
			bad := append([]string{`{"colour":"red"}`, `[]`}, invalidArgs[s.Action]...)
			for _, args := range bad {
				rep, ran := run(commandFor(s, args))
				if rep.OK || rep.Error.Code != EInvalid || len(ran) != 0 {
					t.Errorf("%s: reply %+v %+v, ran %v; want invalid_argument and nothing run", args, rep, rep.Error, ran)
				}
			}
			if s.ID != IDNone {
				for _, id := range []string{"", "a b", strings.Repeat("x", 129), "../x"} {
					cmd := commandFor(s, ok)
					cmd.CallID, cmd.BridgeID, cmd.ResourceID = CallID(id), BridgeID(id), id
					rep, ran := run(cmd)
					if rep.OK || rep.Error.Code != EInvalid || len(ran) != 0 {
						t.Errorf("id %q: reply %+v %+v, ran %v; want invalid_argument", id, rep, rep.Error, ran)
					}
				}
			}
		})
	}
}

// TestServiceValidatesLikeTheExecutor: the service refuses before
// publishing exactly what the executor refuses (one Validate, the Spec's).
func TestServiceValidatesLikeTheExecutor(t *testing.T) {
	for _, s := range Specs() {
		if s.Port == PortJournal {
			continue
		}
		for _, args := range append([]string{validArgs[s.Action]}, invalidArgs[s.Action]...) {
			pbx := &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}
			rep := (&Executor{Node: "pbx1", PBX: pbx}).Handle(context.Background(), commandFor(s, args))
			v := s.NewArgs()
			if err := json.Unmarshal([]byte(orEmpty(args)), v); err != nil {
				if rep.OK {
					t.Errorf("%s %s: undecodable, yet the executor ran it", s.Action, args)
				}
				continue // a decoding error, not Validate's
			}
			if svc := ValidateArgs(s.Action, nil, v); (svc == nil) != rep.OK {
				t.Errorf("%s %s: service says %v, executor %+v", s.Action, args, svc, rep.Error)
			}
		}
	}
	if err := ValidateArgs(ActCallDTMF, nil, &MuteArgs{}); ErrorCode(err) != EInternal {
		t.Errorf("wrong argument type: %v", err)
	}
	if err := ValidateArgs(ActCallDTMF, nil, DTMFArgs{Digits: "1"}); err != nil {
		t.Errorf("a value of the argument type: %v", err)
	}
	if err := ValidateArgs("call.bogus", nil, nil); ErrorCode(err) != EInvalid {
		t.Errorf("unknown action: %v", err)
	}
}

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// TestExecutorNotImplemented: a PBX without an optional port answers its
// actions with not_implemented, and the core actions still run.
func TestExecutorNotImplemented(t *testing.T) {
	x := &Executor{Node: "pbx1", PBX: &fakePBX{calls: map[CallID]*Call{}}}
	for _, s := range Specs() {
		rep := x.Handle(context.Background(), commandFor(s, validArgs[s.Action]))
		switch {
		case s.Port == PortPBX && !rep.OK && rep.Error.Code == ENotImplemented:
			t.Errorf("%s: core action not implemented", s.Action)
		case s.Port != PortPBX && (rep.OK || rep.Error.Code != ENotImplemented):
			t.Errorf("%s needs %s: reply %+v %+v, want not_implemented", s.Action, s.Port, rep, rep.Error)
		}
	}
	// A command the node could not serve is still checked first, as the
	// Service checks it before publishing: a bad request is a 400 anywhere.
	rep := x.Handle(context.Background(), commandFor(mustSpec(t, ActBridgeAdd), `{"call_id":"a/b"}`))
	if rep.OK || rep.Error.Code != EInvalid {
		t.Errorf("invalid bridge.add on a node without bridges: %+v, want invalid_argument", rep.Error)
	}
}

func mustSpec(t *testing.T, a Action) *Spec {
	t.Helper()
	s, ok := SpecOf(a)
	if !ok {
		t.Fatalf("no Spec for %s", a)
	}
	return s
}

// TestProtocolNamesEveryAction: docs/protocol.md lists every action of the
// registry, and says which are AMQP-only.
func TestProtocolNamesEveryAction(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	// between returns the text from the end of from to the start of to.
	between := func(from, to string) string {
		t.Helper()
		_, rest, ok := strings.Cut(doc, from)
		if !ok {
			t.Fatalf("docs/protocol.md lost %q", from)
		}
		part, _, ok := strings.Cut(rest, to)
		if !ok {
			t.Fatalf("docs/protocol.md lost %q after %q", to, from)
		}
		return part
	}
	named := func(text string) map[Action]bool {
		out := map[Action]bool{}
		for _, m := range regexp.MustCompile("`([a-z]+(?:\\.[a-z]+)+)`").FindAllStringSubmatch(text, -1) {
			out[Action(m[1])] = true
		}
		return out
	}
	list := named(between("`<action>` is `<resource>.<verb>`", "Each is one entry"))
	creates := named(between("Commands that create something — ", "are **acked"))
	noREST := named(between("its REST route);", "have no REST route"))
	for _, s := range Specs() {
		if !list[s.Action] {
			t.Errorf("§2's list of actions does not name %s", s.Action)
		}
		if creates[s.Action] != s.Creates {
			t.Errorf("§5 says %s creates: %v; its Spec: %v", s.Action, creates[s.Action], s.Creates)
		}
		if noREST[s.Action] != (len(s.REST) == 0) {
			t.Errorf("§2 says %s has no REST route: %v; its Spec has %d", s.Action, noREST[s.Action], len(s.REST))
		}
	}
	if len(list) != len(Specs()) {
		t.Errorf("§2 names %d actions, the registry has %d", len(list), len(Specs()))
	}
}

// FuzzSpecBoundary: whatever arguments any action gets, the executor
// answers, and the PBX runs only arguments that decode into the action's
// argument type and pass its Spec's Validate.
func FuzzSpecBoundary(f *testing.F) {
	specs := Specs()
	for i, s := range specs {
		f.Add(uint8(i), []byte(validArgs[s.Action]))
		for _, a := range invalidArgs[s.Action] {
			f.Add(uint8(i), []byte(a))
		}
	}
	f.Add(uint8(0), []byte(`null`))
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		s := specs[int(which)%len(specs)]
		pbx := &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}
		rep := (&Executor{Node: "pbx1", PBX: pbx}).Handle(context.Background(), commandFor(s, string(args)))
		if rep == nil || rep.ID != "c" {
			t.Fatalf("reply %+v", rep)
		}
		if len(pbx.ran) == 0 {
			return
		}
		v := s.NewArgs()
		if err := decodeArgs(&Command{Args: args}, v); err != nil {
			t.Fatalf("%s ran with undecodable %q", s.Action, args)
		}
		if err := s.Validate(nil, v); err != nil {
			t.Fatalf("%s ran with %q, which Validate refuses: %v", s.Action, args, err)
		}
	})
}
