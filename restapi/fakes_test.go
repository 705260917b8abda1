package restapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// fakeCalls is a Calls whose methods are func fields; an unset field fails
// the test if called. Like *gateway.Service, it names the playbacks, snoop
// calls and transfer bridges it is asked to create (fakePlaybackID,
// fakeSnoopID, fakeBridgeID: restapi
// must name none itself) and first checks the arguments with the action's
// callapi.Spec (strict rules), so invalid arguments never reach a func
// field.
type fakeCalls struct {
	t           testing.TB
	OriginateFn func(ctx context.Context, o gateway.Options, req callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error)
	CallFn      func(ctx context.Context, o gateway.Options, id callapi.CallID) (*callapi.Call, error)
	CallsFn     func(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error)
	HangupFn    func(ctx context.Context, o gateway.Options, id callapi.CallID, reason string) (*callapi.Accepted, error)

	CallActionFn func(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error)
	PlayFn       func(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error)
	RecordFn     func(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error)
	SnoopFn      func(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error)

	// Bridges
	CreateBridgeFn func(ctx context.Context, o gateway.Options, req callapi.BridgeCreateRequest) (*callapi.Bridge, error)
	BridgesFn      func(ctx context.Context, o gateway.Options) ([]*callapi.Bridge, []callapi.NodeID, error)
	BridgeActionFn func(ctx context.Context, o gateway.Options, id callapi.BridgeID, a callapi.Action, args, out any) (*callapi.Accepted, error)
	TransferFn     func(ctx context.Context, o gateway.Options, a callapi.TransferArgs) (*callapi.Bridge, error)

	// Media
	PlaybackActionFn   func(ctx context.Context, o gateway.Options, id string, a callapi.Action, out any) error
	RecordingActionFn  func(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error
	StoredRecordingsFn func(ctx context.Context, o gateway.Options) ([]*callapi.Recording, []callapi.NodeID, error)
	StoredRecordingFn  func(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error
}

var (
	_ Calls   = (*fakeCalls)(nil)
	_ Bridges = (*fakeCalls)(nil)
	_ Media   = (*fakeCalls)(nil)
)

// fakeRules are the input rules the fakes check with: the strict defaults
// plus the CALLERID function.
var fakeRules = &callapi.InputRules{VariableFunctions: []string{"CALLERID"}}

// errUnexpected is what an unset func field answers (after failing the test).
var errUnexpected = callapi.Errorf(callapi.CodeInternal, "unexpected call of the fake")

func (f *fakeCalls) unexpected(name string) error {
	f.t.Helper()
	f.t.Error("unexpected " + name)
	return errUnexpected
}

func (f *fakeCalls) CallAction(ctx context.Context, o gateway.Options, id callapi.CallID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if spec, ok := callapi.SpecOf(a); ok && spec.ID == callapi.IDCall {
		if err := callapi.ValidateArgs(a, fakeRules, args); err != nil {
			return nil, err
		}
	}
	if f.CallActionFn == nil {
		return nil, f.unexpected("CallAction " + string(a))
	}
	return f.CallActionFn(ctx, o, id, a, args, out)
}

// The ids the fake service names what it creates with.
const (
	fakePlaybackID = "pb-named"
	fakeSnoopID    = "snoop-named"
	fakeBridgeID   = "bridge-named"
)

// named checks that restapi left id to the service and returns the
// service's name for it.
func (f *fakeCalls) named(what, id, name string) string {
	if id != "" {
		f.t.Helper()
		f.t.Errorf("restapi named the %s %q: the service names it", what, id)
	}
	return name
}

func (f *fakeCalls) Play(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error) {
	args.PlaybackID = f.named("playback", args.PlaybackID, fakePlaybackID)
	if err := callapi.ValidateArgs(callapi.ActCallPlay, nil, &args); err != nil {
		return nil, nil, err
	}
	if f.PlayFn == nil {
		return nil, nil, f.unexpected("Play")
	}
	return f.PlayFn(ctx, o, id, args)
}

func (f *fakeCalls) Record(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error) {
	if err := callapi.ValidateArgs(callapi.ActCallRecord, nil, &args); err != nil {
		return nil, nil, err
	}
	if f.RecordFn == nil {
		return nil, nil, f.unexpected("Record")
	}
	return f.RecordFn(ctx, o, id, args)
}

func (f *fakeCalls) Snoop(ctx context.Context, o gateway.Options, id callapi.CallID, args callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error) {
	args.SnoopID = callapi.CallID(f.named("snoop call", string(args.SnoopID), fakeSnoopID))
	if err := callapi.ValidateArgs(callapi.ActCallSnoop, nil, &args); err != nil {
		return nil, nil, err
	}
	if f.SnoopFn == nil {
		return nil, nil, f.unexpected("Snoop")
	}
	return f.SnoopFn(ctx, o, id, args)
}

func (f *fakeCalls) CreateBridge(ctx context.Context, o gateway.Options, req callapi.BridgeCreateRequest) (*callapi.Bridge, error) {
	if err := req.Validate(nil); err != nil {
		return nil, err
	}
	if f.CreateBridgeFn == nil {
		return nil, f.unexpected("CreateBridge")
	}
	return f.CreateBridgeFn(ctx, o, req)
}

func (f *fakeCalls) Bridges(ctx context.Context, o gateway.Options) ([]*callapi.Bridge, []callapi.NodeID, error) {
	if f.BridgesFn == nil {
		return nil, nil, f.unexpected("Bridges")
	}
	return f.BridgesFn(ctx, o)
}

func (f *fakeCalls) BridgeAction(ctx context.Context, o gateway.Options, id callapi.BridgeID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
	if p, ok := args.(*callapi.PlayArgs); ok && a == callapi.ActBridgePlay {
		c := *p
		c.PlaybackID = f.named("playback", p.PlaybackID, fakePlaybackID)
		args = &c
	}
	if err := callapi.ValidateArgs(a, fakeRules, args); err != nil {
		return nil, err
	}
	if f.BridgeActionFn == nil {
		return nil, f.unexpected("BridgeAction " + string(a))
	}
	return f.BridgeActionFn(ctx, o, id, a, args, out)
}

func (f *fakeCalls) Transfer(ctx context.Context, o gateway.Options, a callapi.TransferArgs) (*callapi.Bridge, error) {
	a.BridgeID = callapi.BridgeID(f.named("bridge", string(a.BridgeID), fakeBridgeID))
	if err := callapi.ValidateArgs(callapi.ActCallTransfer, nil, &a); err != nil {
		return nil, err
	}
	if f.TransferFn == nil {
		return nil, f.unexpected("Transfer")
	}
	return f.TransferFn(ctx, o, a)
}

func (f *fakeCalls) PlaybackAction(ctx context.Context, o gateway.Options, id string, a callapi.Action, out any) error {
	if f.PlaybackActionFn == nil {
		return f.unexpected("PlaybackAction " + string(a))
	}
	return f.PlaybackActionFn(ctx, o, id, a, out)
}

func (f *fakeCalls) RecordingAction(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error {
	if f.RecordingActionFn == nil {
		return f.unexpected("RecordingAction " + string(a))
	}
	return f.RecordingActionFn(ctx, o, name, a, out)
}

func (f *fakeCalls) StoredRecordings(ctx context.Context, o gateway.Options) ([]*callapi.Recording, []callapi.NodeID, error) {
	if f.StoredRecordingsFn == nil {
		return nil, nil, f.unexpected("StoredRecordings")
	}
	return f.StoredRecordingsFn(ctx, o)
}

func (f *fakeCalls) StoredRecording(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error {
	if f.StoredRecordingFn == nil {
		return f.unexpected("StoredRecording " + string(a))
	}
	return f.StoredRecordingFn(ctx, o, name, a, out)
}

func (f *fakeCalls) Originate(ctx context.Context, o gateway.Options, req callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
	if err := req.Validate(nil); err != nil {
		return nil, nil, err
	}
	if f.OriginateFn == nil {
		f.t.Error("unexpected Originate")
		return nil, nil, callapi.Errorf(callapi.CodeInternal, "unexpected")
	}
	return f.OriginateFn(ctx, o, req)
}

func (f *fakeCalls) Call(ctx context.Context, o gateway.Options, id callapi.CallID) (json.RawMessage, error) {
	if f.CallFn == nil {
		f.t.Error("unexpected Call")
		return nil, callapi.Errorf(callapi.CodeInternal, "unexpected")
	}
	c, err := f.CallFn(ctx, o, id)
	if err != nil {
		return nil, err
	}
	return json.Marshal(c) // as a node encodes its call.get result
}

func (f *fakeCalls) Calls(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
	if err := callapi.ValidateArgs(callapi.ActCallList, nil, &req.ListArgs); err != nil {
		return nil, nil, err
	}
	if f.CallsFn == nil {
		f.t.Error("unexpected Calls")
		return nil, nil, callapi.Errorf(callapi.CodeInternal, "unexpected")
	}
	return f.CallsFn(ctx, o, req)
}

func (f *fakeCalls) Hangup(ctx context.Context, o gateway.Options, id callapi.CallID, reason string) (*callapi.Accepted, error) {
	if err := callapi.ValidateArgs(callapi.ActCallHangup, nil, &callapi.HangupArgs{Reason: reason}); err != nil {
		return nil, err
	}
	if f.HangupFn == nil {
		f.t.Error("unexpected Hangup")
		return nil, callapi.Errorf(callapi.CodeInternal, "unexpected")
	}
	return f.HangupFn(ctx, o, id, reason)
}

// fakeNodes is a Nodes backed by a slice.
type fakeNodes struct{ nodes []callapi.Node }

func (f *fakeNodes) List(time.Time) []callapi.Node { return f.nodes }

func (f *fakeNodes) Get(id callapi.NodeID, _ time.Time) (callapi.Node, bool) {
	for _, n := range f.nodes {
		if n.Node == id {
			return n, true
		}
	}
	return callapi.Node{}, false
}

// deps are the dependencies of a test server.
type deps struct {
	calls  Calls
	nodes  Nodes
	events Events
	health Health
}

// MustNewServer builds a server for tests with a test logger.
func MustNewServer(t testing.TB, cfg Config, d deps) *Server {
	t.Helper()
	cfg.Log = zaptest.NewLogger(t)
	return NewServer(cfg, d.calls, d.nodes, d.events, d.health)
}

// do serves one request through h and returns the recorded answer.
func do(t testing.TB, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
