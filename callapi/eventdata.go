package callapi

import "time"

// The payloads of the CallAPI events (Event.Data), one type per event, so
// that consumers decode them with the same types the workers encode them
// with. docs/events.md shows one example of each. HangupData and DTMFData
// (event.go) complete the set.

// CreatedData is the data of call.created: the call as created, the Stasis
// arguments of an inbound call, and whether the worker adopted an existing
// channel (after a restart or reconnect) rather than seeing it start.
type CreatedData struct {
	Call
	Args    []string `json:"args,omitempty"`
	Adopted bool     `json:"adopted,omitempty"`
}

// StateData is the data of call.ringing and call.answered.
type StateData struct {
	State      CallState  `json:"state"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Hold sources in HoldData.Source.
const (
	HoldByAPI    = "api"    // a callgw command (POST /v1/calls/{id}/hold|unhold)
	HoldByRemote = "remote" // the party's own hold (ARI ChannelHold / ChannelUnhold)
)

// HoldData is the data of call.hold and call.unhold.
type HoldData struct {
	Source string `json:"source"` // HoldByAPI or HoldByRemote
}

// BridgedData is the data of call.bridged and call.unbridged.
type BridgedData struct {
	BridgeID BridgeID `json:"bridge_id"`
}

// PlaybackData is the data of call.playback.started|finished.
type PlaybackData struct {
	PlaybackID string `json:"playback_id"`
	Media      string `json:"media"`
	State      string `json:"state"`
}

// RecordingData is the data of call.recording.started|finished|failed.
type RecordingData struct {
	Name     string `json:"name"`
	Format   string `json:"format"`
	State    string `json:"state"`
	Duration *int   `json:"duration_s,omitempty"`
	Cause    string `json:"cause,omitempty"`
}

// BridgeData is the data of bridge.created|destroyed.
type BridgeData struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}
