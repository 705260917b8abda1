// Package fakepbx holds the fake PBXs that the tests of several packages
// (callapi, worker, gateway) drive the executor with. Tests only: nothing in
// the product imports it.
//
//   - Basic implements only the PBX port, over a map of calls: originate
//     stores a call, get and hang-up find it per tenant or answer not_found.
//   - Full implements every port (CallControl, BridgeControl,
//     MediaControl) and records, in Ran, the name of each method that ran;
//     its Call finds any id, so that every call action reaches the PBX.
package fakepbx

import (
	"context"
	"sync"

	"github.com/callgw/callgw/callapi"
)

// Basic implements callapi.PBX over a map of calls.
type Basic struct {
	Node  callapi.NodeID // the node its calls are on ("" = pbx1)
	mu    sync.Mutex
	calls map[callapi.CallID]*callapi.Call
}

// NewBasic returns a Basic holding the given calls.
func NewBasic(calls ...*callapi.Call) *Basic {
	b := &Basic{calls: map[callapi.CallID]*callapi.Call{}}
	for _, c := range calls {
		b.calls[c.ID] = c
	}
	return b
}

// Originate stores a new call in state down.
func (f *Basic) Originate(_ context.Context, tenant string, id callapi.CallID, a callapi.OriginateArgs) (*callapi.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	node := f.Node
	if node == "" {
		node = "pbx1"
	}
	c := &callapi.Call{ID: id, Node: node, Tenant: tenant, State: callapi.StateDown, To: a.To, Tags: a.Tags}
	f.calls[id] = c
	return c, nil
}

// Call returns the tenant's call id, or not_found.
func (f *Basic) Call(_ context.Context, tenant string, id callapi.CallID) (*callapi.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[id]
	if !ok || c.Tenant != tenant {
		return nil, callapi.Errorf(callapi.CodeNotFound, "call %s not found", id)
	}
	return c, nil
}

// Calls lists the tenant's calls (every tenant's for callapi.AllTenants).
func (f *Basic) Calls(_ context.Context, tenant string) ([]*callapi.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*callapi.Call
	for _, c := range f.calls {
		if c.Tenant == tenant || tenant == callapi.AllTenants {
			out = append(out, c)
		}
	}
	return out, nil
}

// Hangup removes the tenant's call id, or answers not_found.
func (f *Basic) Hangup(ctx context.Context, tenant string, id callapi.CallID, _ string) error {
	if _, err := f.Call(ctx, tenant, id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.calls, id)
	return nil
}

// Info says the PBX is healthy.
func (f *Basic) Info(context.Context) (callapi.PBXInfo, error) {
	return callapi.PBXInfo{Healthy: true}, nil
}

// Full implements every port of callapi and records what ran.
type Full struct {
	*Basic
	mu  sync.Mutex
	Ran []string
}

// NewFull returns a Full holding the given calls.
func NewFull(calls ...*callapi.Call) *Full { return &Full{Basic: NewBasic(calls...)} }

var (
	_ callapi.CallControl   = (*Full)(nil)
	_ callapi.BridgeControl = (*Full)(nil)
	_ callapi.MediaControl  = (*Full)(nil)
)

func (p *Full) note(s string) {
	p.mu.Lock()
	p.Ran = append(p.Ran, s)
	p.mu.Unlock()
}

// Originate stores the call, as Basic does.
func (p *Full) Originate(ctx context.Context, tenant string, id callapi.CallID, a callapi.OriginateArgs) (*callapi.Call, error) {
	p.note("Originate")
	return p.Basic.Originate(ctx, tenant, id, a)
}

// Call returns the stored call, or a new one with that id.
func (p *Full) Call(ctx context.Context, tenant string, id callapi.CallID) (*callapi.Call, error) {
	p.note("Call")
	if c, err := p.Basic.Call(ctx, tenant, id); err == nil {
		return c, nil
	}
	return &callapi.Call{ID: id}, nil
}

func (p *Full) Hangup(context.Context, string, callapi.CallID, string) error {
	p.note("Hangup")
	return nil
}
func (p *Full) Calls(context.Context, string) ([]*callapi.Call, error) {
	p.note("Calls")
	return nil, nil
}
func (p *Full) Info(context.Context) (callapi.PBXInfo, error) {
	p.note("Info")
	return callapi.PBXInfo{}, nil
}
func (p *Full) Answer(context.Context, string, callapi.CallID) error { p.note("Answer"); return nil }
func (p *Full) Ring(context.Context, string, callapi.CallID, bool) error {
	p.note("Ring")
	return nil
}
func (p *Full) Hold(context.Context, string, callapi.CallID, bool) error {
	p.note("Hold")
	return nil
}
func (p *Full) Mute(context.Context, string, callapi.CallID, string, bool) error {
	p.note("Mute")
	return nil
}
func (p *Full) SendDTMF(context.Context, string, callapi.CallID, callapi.DTMFArgs) error {
	p.note("SendDTMF")
	return nil
}
func (p *Full) Play(_ context.Context, _ string, _ callapi.CallID, a callapi.PlayArgs) (*callapi.Playback, error) {
	p.note("Play")
	return &callapi.Playback{ID: a.PlaybackID}, nil
}
func (p *Full) Record(context.Context, string, callapi.CallID, callapi.RecordArgs) (*callapi.Recording, error) {
	p.note("Record")
	return &callapi.Recording{}, nil
}
func (p *Full) Redirect(context.Context, string, callapi.CallID, string) error {
	p.note("Redirect")
	return nil
}
func (p *Full) Continue(context.Context, string, callapi.CallID, callapi.ContinueArgs) error {
	p.note("Continue")
	return nil
}
func (p *Full) Snoop(context.Context, string, callapi.CallID, callapi.SnoopArgs) (*callapi.Call, error) {
	p.note("Snoop")
	return &callapi.Call{}, nil
}
func (p *Full) Variable(context.Context, string, callapi.CallID, string) (string, error) {
	p.note("Variable")
	return "v", nil
}
func (p *Full) SetVariable(context.Context, string, callapi.CallID, string, string) error {
	p.note("SetVariable")
	return nil
}
func (p *Full) MOH(context.Context, string, callapi.CallID, bool, string) error {
	p.note("MOH")
	return nil
}
func (p *Full) CreateBridge(context.Context, string, callapi.BridgeID, callapi.BridgeCreateArgs) (*callapi.Bridge, error) {
	p.note("CreateBridge")
	return &callapi.Bridge{}, nil
}
func (p *Full) Bridge(context.Context, string, callapi.BridgeID) (*callapi.Bridge, error) {
	p.note("Bridge")
	return &callapi.Bridge{}, nil
}
func (p *Full) Bridges(context.Context, string) ([]*callapi.Bridge, error) {
	p.note("Bridges")
	return nil, nil
}
func (p *Full) DestroyBridge(context.Context, string, callapi.BridgeID) error {
	p.note("DestroyBridge")
	return nil
}
func (p *Full) AddToBridge(context.Context, string, callapi.BridgeID, callapi.CallID) error {
	p.note("AddToBridge")
	return nil
}
func (p *Full) RemoveFromBridge(context.Context, string, callapi.BridgeID, callapi.CallID) error {
	p.note("RemoveFromBridge")
	return nil
}
func (p *Full) PlayOnBridge(context.Context, string, callapi.BridgeID, callapi.PlayArgs) (*callapi.Playback, error) {
	p.note("PlayOnBridge")
	return &callapi.Playback{}, nil
}
func (p *Full) RecordBridge(context.Context, string, callapi.BridgeID, callapi.RecordArgs) (*callapi.Recording, error) {
	p.note("RecordBridge")
	return &callapi.Recording{}, nil
}
func (p *Full) Transfer(context.Context, string, callapi.TransferArgs) (*callapi.Bridge, error) {
	p.note("Transfer")
	return &callapi.Bridge{}, nil
}
func (p *Full) Playback(context.Context, string, string) (*callapi.Playback, error) {
	p.note("Playback")
	return &callapi.Playback{}, nil
}
func (p *Full) StopPlayback(context.Context, string, string) error {
	p.note("StopPlayback")
	return nil
}
func (p *Full) LiveRecording(context.Context, string, string) (*callapi.Recording, error) {
	p.note("LiveRecording")
	return &callapi.Recording{}, nil
}
func (p *Full) StopRecording(context.Context, string, string) error {
	p.note("StopRecording")
	return nil
}
func (p *Full) StoredRecordings(context.Context, string) ([]*callapi.Recording, error) {
	p.note("StoredRecordings")
	return nil, nil
}
func (p *Full) StoredRecording(context.Context, string, string) (*callapi.Recording, error) {
	p.note("StoredRecording")
	return &callapi.Recording{}, nil
}
func (p *Full) DeleteStoredRecording(context.Context, string, string) error {
	p.note("DeleteStoredRecording")
	return nil
}
