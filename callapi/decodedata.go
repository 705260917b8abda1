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
