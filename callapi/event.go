package callapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// EventType names a normalized CallAPI event: "<resource>.<event>", where
// the event part may itself contain a dot (call.playback.started).
type EventType string

// Event types.
const (
	EvCallCreated           EventType = "call.created"
	EvCallRinging           EventType = "call.ringing"
	EvCallAnswered          EventType = "call.answered"
	EvCallHangup            EventType = "call.hangup"
	EvCallDTMF              EventType = "call.dtmf"
	EvCallHold              EventType = "call.hold"
	EvCallUnhold            EventType = "call.unhold"
	EvCallPlaybackStarted   EventType = "call.playback.started"
	EvCallPlaybackFinished  EventType = "call.playback.finished"
	EvCallRecordingStarted  EventType = "call.recording.started"
	EvCallRecordingFinished EventType = "call.recording.finished"
	EvCallRecordingFailed   EventType = "call.recording.failed"
	EvCallBridged           EventType = "call.bridged"
	EvCallUnbridged         EventType = "call.unbridged"
	EvBridgeCreated         EventType = "bridge.created"
	EvBridgeDestroyed       EventType = "bridge.destroyed"
	EvNodeUp                EventType = "node.up"
	EvNodeDraining          EventType = "node.draining"
	EvNodeDown              EventType = "node.down"
	EvCommandCompleted      EventType = "command.completed"
	EvMessageReceived       EventType = "message.received"
)

// Resource is the first word of the type: call, bridge, node, command.
func (t EventType) Resource() string {
	s := string(t)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i]
	}
	return s
}

// Name is the rest of the type after the resource: "hangup", "playback.started".
func (t EventType) Name() string {
	s := string(t)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// Event is a normalized CallAPI event as published on callapi.events.
type Event struct {
	ID       string          `json:"id"` // event UUID
	Type     EventType       `json:"type"`
	Time     time.Time       `json:"time"`
	Node     NodeID          `json:"node"`
	Tenant   string          `json:"tenant"`
	CallID   CallID          `json:"call_id,omitempty"`
	BridgeID BridgeID        `json:"bridge_id,omitempty"`
	Seq      uint64          `json:"seq,omitempty"` // per call, strictly increasing
	Tags     []string        `json:"tags,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	ARI      json.RawMessage `json:"ari,omitempty"` // the raw ARI event(s) it came from
	// Cursor is the event's position in its tenant's history, set by the
	// gateway on the event streams only (never on the bus): the value to
	// resume after this event with (Last-Event-ID, last_event_id) on any
	// gateway.
	Cursor string `json:"cursor,omitempty"`
}

// SubjectID is the id that ends the event's routing key: the call, bridge,
// node or command the event is about.
func (e *Event) SubjectID() string {
	switch e.Type.Resource() {
	case "call":
		return string(e.CallID)
	case "bridge":
		return string(e.BridgeID)
	case "node":
		return string(e.Node)
	case "command":
		var d struct {
			CommandID string `json:"command_id"`
		}
		_ = json.Unmarshal(e.Data, &d)
		return d.CommandID
	case "message":
		var d MessageData
		_ = json.Unmarshal(e.Data, &d)
		return d.Endpoint
	case "endpoint", "device_state", "mailbox":
		return nodeResourceName(e)
	}
	return ""
}

// HangupData is the data of call.hangup.
type HangupData struct {
	Hangup
	Reason string `json:"reason,omitempty"` // who or what ended it, when known
}

// DTMFData is the data of call.dtmf.
type DTMFData struct {
	Digit      string `json:"digit"`
	DurationMS int    `json:"duration_ms"`
}

// CommandCompletedData is the data of command.completed (async commands).
type CommandCompletedData struct {
	CommandID string `json:"command_id"`
	Action    Action `json:"action"`
	Reply     *Reply `json:"reply"`
}

// NodeEvent builds the node.up, node.draining or node.down event of a
// heartbeat; its data is the heartbeat. Node events belong to no tenant:
// their routing key starts with "_" (e.g. _.pbx1.node.down.pbx1).
//
// A worker announces its own changes (id empty: a new UUID). A node that
// stops beating is declared down by every gateway that notices: they all
// derive the same event id from dedupKey, so subscribers drop the copies
// by id.
func NodeEvent(hb *Heartbeat, dedupKey string) *Event {
	typ := EvNodeUp
	switch hb.State {
	case NodeDraining:
		typ = EvNodeDraining
	case NodeDown:
		typ = EvNodeDown
	}
	data, _ := json.Marshal(hb)
	id := uuid.NewString()
	if dedupKey != "" {
		id = uuid.NewSHA1(idemNamespace, []byte("node\x00"+string(hb.Node)+"\x00"+dedupKey)).String()
	}
	return &Event{ID: id, Type: typ, Time: time.Now().UTC(), Node: hb.Node, Data: data}
}
