package callapi

import (
	"time"
)

// CallState is a call's normalized state.
type CallState string

// Call states. ARI's channel states map onto these (asterisk.stateOf).
const (
	StateDown    CallState = "down"    // created, not yet dialing
	StateDialing CallState = "dialing" // dialing out, no ringing yet
	StateRinging CallState = "ringing"
	StateUp      CallState = "up" // answered
	StateBusy    CallState = "busy"
	StateEnded   CallState = "ended" // hung up; only seen in outcomes and events
)

// Direction of a call relative to the PBX.
type Direction string

// Directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// Call is a call as the CallAPI shows it.
type Call struct {
	ID         CallID            `json:"id"`
	Node       NodeID            `json:"node"`
	Tenant     string            `json:"tenant"`
	State      CallState         `json:"state"`
	Direction  Direction         `json:"direction"`
	From       string            `json:"from,omitempty"`
	To         string            `json:"to,omitempty"`
	Channel    string            `json:"channel,omitempty"` // Asterisk channel name
	CreatedAt  time.Time         `json:"created_at"`
	AnsweredAt *time.Time        `json:"answered_at,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	Variables  map[string]string `json:"variables,omitempty"`
	BridgeID   BridgeID          `json:"bridge_id,omitempty"`
	Hangup     *Hangup           `json:"hangup,omitempty"` // set once the call ended
	// The outcome of an ended call, kept by the gateway's call records
	// (Records): when it ended, who or what ended it (the reason of
	// call.hangup: api, remote, timeout, left_stasis, lost), how long it
	// lasted from creation and from the answer.
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	EndReason  string     `json:"end_reason,omitempty"`
	DurationMS *int64     `json:"duration_ms,omitempty"`
	TalkMS     *int64     `json:"talk_ms,omitempty"`
}

// Hangup says how a call ended.
type Hangup struct {
	Cause     int    `json:"cause"`
	CauseText string `json:"cause_text"`
	// DialStatus is Asterisk's dial status (BUSY, NOANSWER, CONGESTION,
	// CHANUNAVAIL, ANSWER, CANCEL) where it is known.
	DialStatus string `json:"dial_status,omitempty"`
}

// Wait says how long an originate holds its answer.
type Wait string

// Wait modes.
const (
	WaitNone     Wait = "none"     // answer once the PBX accepted the call
	WaitAnswered Wait = "answered" // answer on answer, busy, no answer or deadline
)

// OriginateArgs are the arguments of ActCallOriginate.
type OriginateArgs struct {
	To        string            `json:"to"`                  // endpoint, e.g. PJSIP/alice or Local/answer@callgw-test
	From      string            `json:"from,omitempty"`      // caller id
	Context   string            `json:"context,omitempty"`   // dialplan target instead of API control
	Extension string            `json:"extension,omitempty"` // with Context
	Priority  int               `json:"priority,omitempty"`  // with Context
	Variables map[string]string `json:"variables,omitempty"` // channel variables
	Timeout   int               `json:"timeout,omitempty"`   // ring timeout, seconds
	Tags      []string          `json:"tags,omitempty"`
	Wait      Wait              `json:"wait,omitempty"`
}

// HangupArgs are the arguments of ActCallHangup.
type HangupArgs struct {
	Reason string `json:"reason,omitempty"` // ARI reason: normal, busy, congestion, no_answer, ...
}

// HangupReasons lists the reasons ARI's DELETE /channels/{id} accepts.
var HangupReasons = []string{"normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated", "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere"}

// ListArgs are the arguments of ActCallList (filters; empty means all).
type ListArgs struct {
	State CallState `json:"state,omitempty"`
	Tag   string    `json:"tag,omitempty"`
}

// Matches reports whether c passes the filters of a.
func (a ListArgs) Matches(c *Call) bool {
	if a.State != "" && c.State != a.State {
		return false
	}
	if a.Tag != "" {
		found := false
		for _, t := range c.Tags {
			if t == a.Tag {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// CallList is the result of ActCallList.
type CallList struct {
	Calls []*Call `json:"calls"`
}

// LocateResult is the result of ActCallLocate / ActBridgeLocate: the node
// that owns the resource answers; the others answer not_found.
type LocateResult struct {
	Node NodeID `json:"node"`
}
