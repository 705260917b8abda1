package callapi

import (
	"context"
	"slices"
)

// specs is the action table (see actions.go). A REST route is written as
// restapi registers it; TestSpecsWalk (restapi) holds the router and
// openapi.json to it.
var specs = append([]*Spec{
	// Calls: lifecycle (the mandatory PBX port).
	def(Spec{Action: ActCallOriginate, ID: IDCall, NewID: true, Creates: true, REST: []string{"POST /v1/calls"}},
		func(ctx context.Context, p Ports, cmd *Command, a *OriginateArgs) (*Call, error) {
			return p.PBX.Originate(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallList, REST: []string{"GET /v1/calls"}},
		func(ctx context.Context, p Ports, cmd *Command, a *ListArgs) (CallList, error) {
			calls, err := p.PBX.Calls(ctx, cmd.Tenant)
			if err != nil {
				return CallList{}, err
			}
			out := CallList{Calls: make([]*Call, 0, len(calls))}
			for _, c := range calls {
				if a.Matches(c) {
					out.Calls = append(out.Calls, c)
				}
			}
			return out, nil
		}),
	def(Spec{Action: ActCallGet, ID: IDCall, REST: []string{"GET /v1/calls/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (*Call, error) {
			return p.PBX.Call(ctx, cmd.Tenant, cmd.CallID)
		}),
	def(Spec{Action: ActCallHangup, ID: IDCall, REST: []string{"DELETE /v1/calls/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, a *HangupArgs) (none, error) {
			return none{}, p.PBX.Hangup(ctx, cmd.Tenant, cmd.CallID, a.Reason)
		}),
	def(Spec{Action: ActCallLocate, ID: IDCall, AMQPOnly: "broadcast by the gateway to find the node of a call it has not seen"},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (LocateResult, error) {
			if _, err := p.PBX.Call(ctx, cmd.Tenant, cmd.CallID); err != nil {
				return LocateResult{}, err
			}
			return LocateResult{Node: p.Node}, nil
		}),
	def(Spec{Action: ActKeyLookup, Port: PortJournal, AMQPOnly: "broadcast by the gateway before a keyed originate (protocol.md §11); the worker's journal answers it"},
		func(ctx context.Context, p Ports, cmd *Command, a *KeyLookupArgs) (KeyLookup, error) {
			return p.Journal.Lookup(ctx, cmd.Tenant, a.CommandID)
		}),
	def(Spec{Action: ActNodePing, AMQPOnly: "a probe of one worker (node info); the REST API shows nodes from their heartbeats"},
		func(ctx context.Context, p Ports, _ *Command, _ *NoArgs) (PBXInfo, error) {
			return p.PBX.Info(ctx)
		}),

	// Calls: control (CallControl).
	def(Spec{Action: ActCallAnswer, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/answer"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Calls.Answer(ctx, cmd.Tenant, cmd.CallID)
		}),
	def(Spec{Action: ActCallRing, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/ring", "POST /v1/calls/{id}/ring/stop"}},
		func(ctx context.Context, p Ports, cmd *Command, a *RingArgs) (none, error) {
			return none{}, p.Calls.Ring(ctx, cmd.Tenant, cmd.CallID, a.On == nil || *a.On)
		}),
	def(Spec{Action: ActCallHold, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/hold"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Calls.Hold(ctx, cmd.Tenant, cmd.CallID, true)
		}),
	def(Spec{Action: ActCallUnhold, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/unhold"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Calls.Hold(ctx, cmd.Tenant, cmd.CallID, false)
		}),
	def(Spec{Action: ActCallMute, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/mute"}},
		func(ctx context.Context, p Ports, cmd *Command, a *MuteArgs) (none, error) {
			return none{}, p.Calls.Mute(ctx, cmd.Tenant, cmd.CallID, a.direction(), true)
		}),
	def(Spec{Action: ActCallUnmute, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/unmute"}},
		func(ctx context.Context, p Ports, cmd *Command, a *MuteArgs) (none, error) {
			return none{}, p.Calls.Mute(ctx, cmd.Tenant, cmd.CallID, a.direction(), false)
		}),
	def(Spec{Action: ActCallDTMF, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/dtmf"}},
		func(ctx context.Context, p Ports, cmd *Command, a *DTMFArgs) (none, error) {
			return none{}, p.Calls.SendDTMF(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallPlay, ID: IDCall, Creates: true, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/play"}},
		func(ctx context.Context, p Ports, cmd *Command, a *PlayArgs) (*Playback, error) {
			return p.Calls.Play(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallRecord, ID: IDCall, Creates: true, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/record"}},
		func(ctx context.Context, p Ports, cmd *Command, a *RecordArgs) (*Recording, error) {
			return p.Calls.Record(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallRedirect, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/redirect"}},
		func(ctx context.Context, p Ports, cmd *Command, a *RedirectArgs) (none, error) {
			return none{}, p.Calls.Redirect(ctx, cmd.Tenant, cmd.CallID, a.Endpoint)
		}),
	def(Spec{Action: ActCallContinue, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/continue"}},
		func(ctx context.Context, p Ports, cmd *Command, a *ContinueArgs) (none, error) {
			return none{}, p.Calls.Continue(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallSnoop, ID: IDCall, Creates: true, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/snoop"}},
		func(ctx context.Context, p Ports, cmd *Command, a *SnoopArgs) (*Call, error) {
			return p.Calls.Snoop(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallVarGet, ID: IDCall, Port: PortCalls, REST: []string{"GET /v1/calls/{id}/variables/{name}"}},
		func(ctx context.Context, p Ports, cmd *Command, a *VariableArgs) (Variable, error) {
			v, err := p.Calls.Variable(ctx, cmd.Tenant, cmd.CallID, a.Name)
			return Variable{Name: a.Name, Value: v}, err
		}),
	def(Spec{Action: ActCallVarSet, ID: IDCall, Port: PortCalls, REST: []string{"PUT /v1/calls/{id}/variables/{name}"}},
		func(ctx context.Context, p Ports, cmd *Command, a *VariableArgs) (none, error) {
			return none{}, p.Calls.SetVariable(ctx, cmd.Tenant, cmd.CallID, a.Name, a.Value)
		}),
	def(Spec{Action: ActCallMOHStart, ID: IDCall, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/moh"}},
		func(ctx context.Context, p Ports, cmd *Command, a *MOHArgs) (none, error) {
			return none{}, p.Calls.MOH(ctx, cmd.Tenant, cmd.CallID, true, a.Class)
		}),
	def(Spec{Action: ActCallMOHStop, ID: IDCall, Port: PortCalls, REST: []string{"DELETE /v1/calls/{id}/moh"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Calls.MOH(ctx, cmd.Tenant, cmd.CallID, false, "")
		}),

	// Bridges (BridgeControl).
	def(Spec{Action: ActBridgeCreate, ID: IDBridge, NewID: true, Creates: true, Port: PortBridges, REST: []string{"POST /v1/bridges"}},
		func(ctx context.Context, p Ports, cmd *Command, a *BridgeCreateArgs) (*Bridge, error) {
			return p.Bridges.CreateBridge(ctx, cmd.Tenant, cmd.BridgeID, *a)
		}),
	def(Spec{Action: ActBridgeList, Port: PortBridges, REST: []string{"GET /v1/bridges"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (BridgeList, error) {
			l, err := p.Bridges.Bridges(ctx, cmd.Tenant)
			if l == nil {
				l = []*Bridge{}
			}
			return BridgeList{Bridges: l}, err
		}),
	def(Spec{Action: ActBridgeGet, ID: IDBridge, Port: PortBridges, REST: []string{"GET /v1/bridges/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (*Bridge, error) {
			return p.Bridges.Bridge(ctx, cmd.Tenant, cmd.BridgeID)
		}),
	def(Spec{Action: ActBridgeLocate, ID: IDBridge, Port: PortBridges, AMQPOnly: "broadcast by the gateway to find the node of a bridge it has not seen"},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (LocateResult, error) {
			b, err := p.Bridges.Bridge(ctx, cmd.Tenant, cmd.BridgeID)
			if err != nil {
				return LocateResult{}, err
			}
			return LocateResult{Node: b.Node}, nil
		}),
	def(Spec{Action: ActBridgeDestroy, ID: IDBridge, Port: PortBridges, REST: []string{"DELETE /v1/bridges/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Bridges.DestroyBridge(ctx, cmd.Tenant, cmd.BridgeID)
		}),
	def(Spec{Action: ActBridgeAdd, ID: IDBridge, Port: PortBridges, REST: []string{"POST /v1/bridges/{id}/calls"}},
		func(ctx context.Context, p Ports, cmd *Command, a *BridgeCallArgs) (none, error) {
			return none{}, p.Bridges.AddToBridge(ctx, cmd.Tenant, cmd.BridgeID, a.CallID)
		}),
	def(Spec{Action: ActBridgeRemove, ID: IDBridge, Port: PortBridges, REST: []string{"DELETE /v1/bridges/{id}/calls/{call_id}"}},
		func(ctx context.Context, p Ports, cmd *Command, a *BridgeCallArgs) (none, error) {
			return none{}, p.Bridges.RemoveFromBridge(ctx, cmd.Tenant, cmd.BridgeID, a.CallID)
		}),
	def(Spec{Action: ActBridgePlay, ID: IDBridge, Creates: true, Port: PortBridges, REST: []string{"POST /v1/bridges/{id}/play"}},
		func(ctx context.Context, p Ports, cmd *Command, a *PlayArgs) (*Playback, error) {
			return p.Bridges.PlayOnBridge(ctx, cmd.Tenant, cmd.BridgeID, *a)
		}),
	def(Spec{Action: ActBridgeRecord, ID: IDBridge, Creates: true, Port: PortBridges, REST: []string{"POST /v1/bridges/{id}/record"}},
		func(ctx context.Context, p Ports, cmd *Command, a *RecordArgs) (*Recording, error) {
			return p.Bridges.RecordBridge(ctx, cmd.Tenant, cmd.BridgeID, *a)
		}),
	def(Spec{Action: ActCallTransfer, Creates: true, Port: PortBridges, REST: []string{"POST /v1/transfers"}},
		func(ctx context.Context, p Ports, cmd *Command, a *TransferArgs) (*Bridge, error) {
			return p.Bridges.Transfer(ctx, cmd.Tenant, *a)
		}),

	// Playbacks and recordings (MediaControl).
	def(Spec{Action: ActPlaybackGet, ID: IDResource, Port: PortMedia, REST: []string{"GET /v1/playbacks/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (*Playback, error) {
			return p.Media.Playback(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	def(Spec{Action: ActPlaybackStop, ID: IDResource, Port: PortMedia, REST: []string{"DELETE /v1/playbacks/{id}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Media.StopPlayback(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	def(Spec{Action: ActRecordingGet, ID: IDResource, Port: PortMedia, REST: []string{"GET /v1/recordings/live/{name}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (*Recording, error) {
			return p.Media.LiveRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	def(Spec{Action: ActRecordingStop, ID: IDResource, Port: PortMedia, REST: []string{"POST /v1/recordings/live/{name}/stop"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Media.StopRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	def(Spec{Action: ActStoredList, Port: PortMedia, REST: []string{"GET /v1/recordings/stored"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (RecordingList, error) {
			l, err := p.Media.StoredRecordings(ctx, cmd.Tenant)
			if l == nil {
				l = []*Recording{}
			}
			return RecordingList{Recordings: l}, err
		}),
	def(Spec{Action: ActStoredGet, ID: IDResource, Port: PortMedia, REST: []string{"GET /v1/recordings/stored/{name}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (*Recording, error) {
			return p.Media.StoredRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	def(Spec{Action: ActStoredDelete, ID: IDResource, Port: PortMedia, REST: []string{"DELETE /v1/recordings/stored/{name}"}},
		func(ctx context.Context, p Ports, cmd *Command, _ *NoArgs) (none, error) {
			return none{}, p.Media.DeleteStoredRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),

	// A call created before it is dialled (DialControl).
	def(Spec{Action: ActCallCreate, ID: IDCall, NewID: true, Creates: true, Port: PortDial, REST: []string{"POST /v1/calls/create"}},
		func(ctx context.Context, p Ports, cmd *Command, a *CreateArgs) (*Call, error) {
			return p.Dial.Create(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallDial, ID: IDCall, Port: PortDial, REST: []string{"POST /v1/calls/{id}/dial"}},
		func(ctx context.Context, p Ports, cmd *Command, a *DialArgs) (none, error) {
			return none{}, p.Dial.Dial(ctx, cmd.Tenant, cmd.CallID, *a)
		}),

	// Text messages (MessageControl).
	def(Spec{Action: ActMessageSend, Creates: true, Port: PortMessages, REST: []string{"POST /v1/messages"}},
		func(ctx context.Context, p Ports, cmd *Command, a *MessageArgs) (MessageSent, error) {
			if err := p.Msgs.SendMessage(ctx, cmd.Tenant, *a); err != nil {
				return MessageSent{}, err
			}
			return MessageSent{Node: p.Node, To: a.To}, nil
		}),
}, slices.Concat(nodeSpecs, mediaCtlSpecs)...)
