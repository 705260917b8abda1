package callapi

import (
	"encoding/json"
	"time"
)

// Action names what a command does: "<resource>.<verb>". It is the tail of
// the command's routing key and the AMQP "type" property.
type Action string

// Actions.
const (
	ActCallOriginate Action = "call.originate"
	ActCallGet       Action = "call.get"
	ActCallList      Action = "call.list"
	ActCallHangup    Action = "call.hangup"
	ActCallLocate    Action = "call.locate"
	ActCallAnswer    Action = "call.answer"
	ActCallRing      Action = "call.ring"
	ActCallHold      Action = "call.hold"
	ActCallUnhold    Action = "call.unhold"
	ActCallMute      Action = "call.mute"
	ActCallUnmute    Action = "call.unmute"
	ActCallDTMF      Action = "call.dtmf"
	ActCallPlay      Action = "call.play"
	ActCallRecord    Action = "call.record"
	ActCallRedirect  Action = "call.redirect"
	ActCallContinue  Action = "call.continue"
	ActCallSnoop     Action = "call.snoop"
	ActCallVarGet    Action = "call.variable.get"
	ActCallVarSet    Action = "call.variable.set"
	ActCallMOHStart  Action = "call.moh.start"
	ActCallMOHStop   Action = "call.moh.stop"
	ActBridgeCreate  Action = "bridge.create"
	ActBridgeGet     Action = "bridge.get"
	ActBridgeList    Action = "bridge.list"
	ActBridgeDestroy Action = "bridge.destroy"
	ActBridgeAdd     Action = "bridge.add"
	ActBridgeRemove  Action = "bridge.remove"
	ActBridgePlay    Action = "bridge.play"
	ActBridgeRecord  Action = "bridge.record"
	ActBridgeLocate  Action = "bridge.locate"
	ActCallTransfer  Action = "call.transfer"
	ActPlaybackGet   Action = "playback.get"
	ActPlaybackStop  Action = "playback.stop"
	ActRecordingGet  Action = "recording.get"
	ActRecordingStop Action = "recording.stop"
	ActStoredList    Action = "recording.stored.list"
	ActStoredGet     Action = "recording.stored.get"
	ActStoredDelete  Action = "recording.stored.delete"

	// Media control (MediaOps, on the MediaControl port).
	ActPlaybackControl  Action = "playback.control"  // PlaybackControlArgs
	ActRecordingControl Action = "recording.control" // RecordingControlArgs

	ActNodePing Action = "node.ping"
	// Node resources (NodeControl).
	ActEndpointList    Action = "endpoint.list"
	ActEndpointGet     Action = "endpoint.get"
	ActDeviceStateList Action = "devicestate.list"
	ActDeviceStateGet  Action = "devicestate.get"
	ActDeviceStateSet  Action = "devicestate.set"
	ActDeviceStateDel  Action = "devicestate.delete"
	ActMailboxList     Action = "mailbox.list"
	ActMailboxGet      Action = "mailbox.get"
	ActMailboxSet      Action = "mailbox.set"
	ActMailboxDelete   Action = "mailbox.delete"
	ActGlobalVarGet    Action = "global.variable.get"
	ActGlobalVarSet    Action = "global.variable.set"
	ActCallCreate      Action = "call.create"  // a call created, not yet dialled (DialControl)
	ActCallDial        Action = "call.dial"    // dial a created call (DialControl)
	ActMessageSend     Action = "message.send" // a text message to an endpoint (MessageControl)
	// ActKeyLookup asks every node's journal about an idempotency key
	// (KeyLookupArgs → KeyLookup) before an originate with that key runs.
	ActKeyLookup Action = "idempotency.lookup"
)

// DefaultConcurrency is how many commands a worker runs at once unless
// configured otherwise (CALLGW_CONCURRENCY): commands of one call always
// run one at a time, in order. One default, used by amqpbus and config.
const DefaultConcurrency = 256

// Creates reports whether the action creates something on the PBX. Such
// commands are acknowledged before they run (at most once); the others are
// acknowledged after (at least once, made safe by the dedup memory).
// It is the Creates of the action's Spec (false for an unknown action).
func (a Action) Creates() bool {
	s, ok := specByAction[a]
	return ok && s.Creates
}

// Resource is the first word of the action: call, bridge, playback, recording, node.
func (a Action) Resource() string {
	for i := 0; i < len(a); i++ {
		if a[i] == '.' {
			return string(a[:i])
		}
	}
	return string(a)
}

// Target is the second word of a command routing key: a node id, TargetAny
// (one worker, whichever takes it) or TargetAll (every worker).
type Target string

// Reserved targets.
const (
	TargetAny Target = "any"
	TargetAll Target = "all"
)

// NodeTarget returns the target that addresses one node.
func NodeTarget(n NodeID) Target { return Target(n) }

// Command is the body of an AMQP command message. Transport metadata
// (deadline, idempotency key) travels in message properties and headers and
// is copied into the struct's non-JSON fields by the bus.
type Command struct {
	ID       string   `json:"id"`
	Action   Action   `json:"action"`
	Tenant   string   `json:"tenant"`
	CallID   CallID   `json:"call_id,omitempty"`
	BridgeID BridgeID `json:"bridge_id,omitempty"`
	// ResourceID names the playback or recording a media command is about.
	ResourceID string          `json:"resource_id,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`

	Deadline       time.Time `json:"-"` // header x-deadline (unix ms)
	IdempotencyKey string    `json:"-"` // header x-idempotency-key
}

// Reply is the body of a command reply.
type Reply struct {
	ID     string          `json:"id"`
	OK     bool            `json:"ok"`
	Node   NodeID          `json:"node,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *ReplyError     `json:"error,omitempty"`
}

// ReplyError is the error half of a Reply.
type ReplyError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Err turns a failed reply back into an *Error (nil when OK).
func (r *Reply) Err() error {
	if r.OK {
		return nil
	}
	if r.Error == nil {
		return Errorf(CodeInternal, "reply %s failed without an error", r.ID)
	}
	return &Error{Code: r.Error.Code, Msg: r.Error.Message, Field: r.Error.Field}
}

// Decode unmarshals the result of a successful reply into v. A
// *json.RawMessage gets the result as it is, without a copy or another
// pass over it (the bus decoded the reply, so it is valid JSON): for a
// caller that only passes it on (gateway.Service.Call).
func (r *Reply) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = r.Result
		return nil
	}
	if len(r.Result) == 0 || v == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return Wrap(CodeInternal, "callapi.Reply.Decode", err, "undecodable reply result")
	}
	return nil
}

// OKReply builds a successful reply carrying result (marshalled to JSON).
func OKReply(id string, node NodeID, result any) *Reply {
	r := &Reply{ID: id, OK: true, Node: node}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return ErrReply(id, node, Wrap(CodeInternal, "callapi.OKReply", err, "unencodable result"))
		}
		r.Result = b
	}
	return r
}

// ErrReply builds a failed reply from err.
func ErrReply(id string, node NodeID, err error) *Reply {
	return &Reply{ID: id, OK: false, Node: node, Error: &ReplyError{
		Code: ErrorCode(err), Message: ErrorMessage(err), Field: ErrorField(err),
	}}
}
