package callapi

import (
	"encoding/json"
	"fmt"
)

// DecodeData decodes e.Data into the payload type of e.Type and returns a
// pointer to it (*HangupData for call.hangup, …). An unknown type (from a
// newer gateway) gives json.RawMessage.
func DecodeData(e *Event) (any, error) {
	var v any
	switch e.Type {
	case EvCallCreated:
		v = new(CreatedData)
	case EvCallRinging, EvCallAnswered:
		v = new(StateData)
	case EvCallHangup:
		v = new(HangupData)
	case EvCallDTMF:
		v = new(DTMFData)
	case EvCallHold, EvCallUnhold:
		v = new(HoldData)
	case EvCallPlaybackStarted, EvCallPlaybackFinished:
		v = new(PlaybackData)
	case EvCallRecordingStarted, EvCallRecordingFinished, EvCallRecordingFailed:
		v = new(RecordingData)
	case EvCallBridged, EvCallUnbridged:
		v = new(BridgedData)
	case EvBridgeCreated, EvBridgeDestroyed:
		v = new(BridgeData)
	case EvNodeUp, EvNodeDraining, EvNodeDown:
		v = new(Heartbeat)
	case EvCommandCompleted:
		v = new(CommandCompletedData)
	default:
		return json.RawMessage(e.Data), nil
	}
	if len(e.Data) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return nil, fmt.Errorf("callapi: %s data: %w", e.Type, err)
	}
	return v, nil
}

// Data decodes e.Data into T, the payload type of e.Type as DecodeData
// chooses it, and fails when T is not that type:
//
//	h, err := callapi.Data[callapi.HangupData](e) // e.Type == callapi.EvCallHangup
//	fmt.Println(h.Cause, h.CauseText, h.Reason)
func Data[T any](e *Event) (*T, error) {
	v, err := DecodeData(e)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*T)
	if !ok {
		return nil, fmt.Errorf("callapi: %s carries %T, not %T", e.Type, v, d)
	}
	return d, nil
}
