package callapi

// eventTypes lists every event type, in the order docs/events.md shows them.
var eventTypes = []EventType{
	EvCallCreated, EvCallRinging, EvCallAnswered, EvCallHangup, EvCallDTMF, EvCallHold, EvCallUnhold,
	EvCallPlaybackStarted, EvCallPlaybackFinished, EvCallRecordingStarted, EvCallRecordingFinished, EvCallRecordingFailed,
	EvCallBridged, EvCallUnbridged, EvBridgeCreated, EvBridgeDestroyed,
	EvNodeUp, EvNodeDraining, EvNodeDown, EvCommandCompleted, EvMessageReceived,
	EvEndpointState, EvEndpointContact, EvEndpointPeer, EvDeviceStateChanged, EvMailboxChanged, EvMailboxDeleted,
	EvCallPlaybackPaused, EvCallPlaybackUnpaused, EvCallPlaybackRestarted, EvCallPlaybackForwarded, EvCallPlaybackReversed,
	EvCallRecordingPaused, EvCallRecordingUnpaused, EvCallRecordingMuted, EvCallRecordingUnmuted,
}

// EventTypes returns every event type (a copy), e.g. to check a
// subscriber's type filter.
func EventTypes() []EventType { return append([]EventType(nil), eventTypes...) }

// KnownEventTypePattern reports whether p names an event type ("call.hangup")
// or a prefix of at least one ("call.", "call.*", "call.playback."): a
// filter that can match something.
func KnownEventTypePattern(p string) bool {
	if q, ok := cutStarSuffix(p); ok {
		p = q
	}
	for _, t := range eventTypes {
		s := string(t)
		if s == p || (len(p) > 0 && p[len(p)-1] == '.' && len(s) > len(p) && s[:len(p)] == p) {
			return true
		}
	}
	return false
}

func cutStarSuffix(p string) (string, bool) {
	if len(p) > 0 && p[len(p)-1] == '*' {
		return p[:len(p)-1], true
	}
	return p, false
}
