package gateway

import "context"

// The executors of CallControl, BridgeControl and MediaControl. A PBX that
// does not implement one of them answers its actions with EInvalid.

func init() {
	for a, f := range map[Action]execFunc{
		ActCallAnswer: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			return nil, c.Answer(ctx, cmd.Tenant, cmd.CallID)
		}),
		ActCallRing: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a struct {
				On *bool `json:"on,omitempty"`
			}
			if err := decodeArgs(cmd, &a); err != nil {
				return nil, err
			}
			return nil, c.Ring(ctx, cmd.Tenant, cmd.CallID, a.On == nil || *a.On)
		}),
		ActCallHold: onOff(func(ctx context.Context, c CallControl, cmd *Command) error {
			return c.Hold(ctx, cmd.Tenant, cmd.CallID, true)
		}),
		ActCallUnhold: onOff(func(ctx context.Context, c CallControl, cmd *Command) error {
			return c.Hold(ctx, cmd.Tenant, cmd.CallID, false)
		}),
		ActCallMute:   mute(true),
		ActCallUnmute: mute(false),
		ActCallDTMF: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a DTMFArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return nil, c.SendDTMF(ctx, cmd.Tenant, cmd.CallID, a)
		}),
		ActCallPlay: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a PlayArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return c.Play(ctx, cmd.Tenant, cmd.CallID, a)
		}),
		ActCallRecord: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a RecordArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return c.Record(ctx, cmd.Tenant, cmd.CallID, a)
		}),
		ActCallRedirect: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a RedirectArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return nil, c.Redirect(ctx, cmd.Tenant, cmd.CallID, a.Endpoint)
		}),
		ActCallContinue: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a ContinueArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return nil, c.Continue(ctx, cmd.Tenant, cmd.CallID, a)
		}),
		ActCallSnoop: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a SnoopArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return c.Snoop(ctx, cmd.Tenant, cmd.CallID, a)
		}),
		ActCallVarGet: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a VariableArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			v, err := c.Variable(ctx, cmd.Tenant, cmd.CallID, a.Name)
			if err != nil {
				return nil, err
			}
			return Variable{Name: a.Name, Value: v}, nil
		}),
		ActCallVarSet: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a VariableArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return nil, c.SetVariable(ctx, cmd.Tenant, cmd.CallID, a.Name, a.Value)
		}),
		ActCallMOHStart: callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
			var a MOHArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return nil, c.MOH(ctx, cmd.Tenant, cmd.CallID, true, a.Class)
		}),
		ActCallMOHStop: onOff(func(ctx context.Context, c CallControl, cmd *Command) error {
			return c.MOH(ctx, cmd.Tenant, cmd.CallID, false, "")
		}),

		ActBridgeCreate: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a BridgeCreateArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return b.CreateBridge(ctx, cmd.Tenant, cmd.BridgeID, a)
		}),
		ActBridgeGet: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			return b.Bridge(ctx, cmd.Tenant, cmd.BridgeID)
		}),
		ActBridgeLocate: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			br, err := b.Bridge(ctx, cmd.Tenant, cmd.BridgeID)
			if err != nil {
				return nil, err
			}
			return LocateResult{Node: br.Node}, nil
		}),
		ActBridgeList: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			l, err := b.Bridges(ctx, cmd.Tenant)
			if err != nil {
				return nil, err
			}
			if l == nil {
				l = []*Bridge{}
			}
			return BridgeList{Bridges: l}, nil
		}),
		ActBridgeDestroy: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			return nil, b.DestroyBridge(ctx, cmd.Tenant, cmd.BridgeID)
		}),
		ActBridgeAdd: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a BridgeCallArgs
			if err := decodeArgs(cmd, &a); err != nil {
				return nil, err
			}
			return nil, b.AddToBridge(ctx, cmd.Tenant, cmd.BridgeID, a.CallID)
		}),
		ActBridgeRemove: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a BridgeCallArgs
			if err := decodeArgs(cmd, &a); err != nil {
				return nil, err
			}
			return nil, b.RemoveFromBridge(ctx, cmd.Tenant, cmd.BridgeID, a.CallID)
		}),
		ActBridgePlay: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a PlayArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return b.PlayOnBridge(ctx, cmd.Tenant, cmd.BridgeID, a)
		}),
		ActBridgeRecord: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a RecordArgs
			if err := decodeValid(cmd, &a, a.Validate); err != nil {
				return nil, err
			}
			return b.RecordBridge(ctx, cmd.Tenant, cmd.BridgeID, a)
		}),
		ActCallTransfer: bridgeCtl(func(ctx context.Context, b BridgeControl, cmd *Command) (any, error) {
			var a TransferArgs
			if err := decodeArgs(cmd, &a); err != nil {
				return nil, err
			}
			return b.Transfer(ctx, cmd.Tenant, a)
		}),

		ActPlaybackGet: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return m.Playback(ctx, cmd.Tenant, cmd.ResourceID)
		}),
		ActPlaybackStop: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return nil, m.StopPlayback(ctx, cmd.Tenant, cmd.ResourceID)
		}),
		ActRecordingGet: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return m.LiveRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
		ActRecordingStop: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return nil, m.StopRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
		ActStoredList: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			l, err := m.StoredRecordings(ctx, cmd.Tenant)
			if err != nil {
				return nil, err
			}
			if l == nil {
				l = []*Recording{}
			}
			return RecordingList{Recordings: l}, nil
		}),
		ActStoredGet: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return m.StoredRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
		ActStoredDelete: mediaCtl(func(ctx context.Context, m MediaControl, cmd *Command) (any, error) {
			return nil, m.DeleteStoredRecording(ctx, cmd.Tenant, cmd.ResourceID)
		}),
	} {
		executors[a] = f
	}
}

// BridgeList is the result of ActBridgeList.
type BridgeList struct {
	Bridges []*Bridge `json:"bridges"`
}

// RecordingList is the result of ActStoredList.
type RecordingList struct {
	Recordings []*Recording `json:"recordings"`
}

func unsupported(what string) error {
	return Errorf(EInvalid, "this node does not support %s", what)
}

func decodeValid(cmd *Command, v any, validate func() error) error {
	if err := decodeArgs(cmd, v); err != nil {
		return err
	}
	return validate()
}

func callCtl(f func(context.Context, CallControl, *Command) (any, error)) execFunc {
	return func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		c, ok := x.PBX.(CallControl)
		if !ok {
			return nil, unsupported(string(cmd.Action))
		}
		return f(ctx, c, cmd)
	}
}

func onOff(f func(context.Context, CallControl, *Command) error) execFunc {
	return callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
		return nil, f(ctx, c, cmd)
	})
}

func mute(on bool) execFunc {
	return callCtl(func(ctx context.Context, c CallControl, cmd *Command) (any, error) {
		var a MuteArgs
		if err := decodeValid(cmd, &a, a.Validate); err != nil {
			return nil, err
		}
		dir := a.Direction
		if dir == "" {
			dir = "both"
		}
		return nil, c.Mute(ctx, cmd.Tenant, cmd.CallID, dir, on)
	})
}

func bridgeCtl(f func(context.Context, BridgeControl, *Command) (any, error)) execFunc {
	return func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		b, ok := x.PBX.(BridgeControl)
		if !ok {
			return nil, unsupported(string(cmd.Action))
		}
		if cmd.Action != ActBridgeList && cmd.Action != ActCallTransfer && cmd.BridgeID == "" {
			return nil, Invalid("bridge_id", "required for %s", cmd.Action)
		}
		return f(ctx, b, cmd)
	}
}

func mediaCtl(f func(context.Context, MediaControl, *Command) (any, error)) execFunc {
	return func(x *Executor, ctx context.Context, cmd *Command) (any, error) {
		m, ok := x.PBX.(MediaControl)
		if !ok {
			return nil, unsupported(string(cmd.Action))
		}
		if cmd.Action != ActStoredList && cmd.ResourceID == "" {
			return nil, Invalid("resource_id", "required for %s", cmd.Action)
		}
		return f(ctx, m, cmd)
	}
}
