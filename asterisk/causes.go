package asterisk

import (
	"strings"

	"github.com/callgw/callgw/callapi"
)

// causeText is Asterisk's ast_cause2str (main/causes.c) for Q.850 causes.
var causeText = map[int]string{
	0:   "Unknown",
	1:   "Unallocated (unassigned) number",
	2:   "No route to specified transmit network",
	3:   "No route to destination",
	6:   "Channel unacceptable",
	7:   "Call awarded and being delivered in an established channel",
	16:  "Normal Clearing",
	17:  "User busy",
	18:  "No user responding",
	19:  "User alerting, no answer",
	20:  "Subscriber absent",
	21:  "Call Rejected",
	22:  "Number changed",
	23:  "Redirected to new destination",
	26:  "Answered elsewhere",
	27:  "Destination out of order",
	28:  "Invalid number format",
	29:  "Facility rejected",
	30:  "Response to STATus ENQuiry",
	31:  "Normal, unspecified",
	34:  "Circuit/channel congestion",
	38:  "Network out of order",
	41:  "Temporary failure",
	42:  "Switching equipment congestion",
	43:  "Access information discarded",
	44:  "Requested channel not available",
	50:  "Facility not subscribed",
	52:  "Outgoing call barred",
	54:  "Incoming call barred",
	57:  "Bearer capability not authorized",
	58:  "Bearer capability not available",
	65:  "Bearer capability not implemented",
	66:  "Channel not implemented",
	69:  "Facility not implemented",
	81:  "Invalid call reference value",
	88:  "Incompatible destination",
	95:  "Invalid message unspecified",
	96:  "Mandatory information element is missing",
	97:  "Message type nonexist.",
	98:  "Wrong message",
	99:  "Info. element nonexist or not implemented",
	100: "Invalid information element contents",
	101: "Message not compatible with call state",
	102: "Recover on timer expiry",
	111: "Protocol error, unspecified",
	127: "Interworking, unspecified",
}

// CauseText returns Asterisk's text for a hangup cause.
func CauseText(cause int) string {
	if t, ok := causeText[cause]; ok {
		return t
	}
	return "Unknown"
}

// dialStatusCause maps a Dial event's dialstatus to the cause callgw reports
// when the channel itself was destroyed with cause 0, as Asterisk does for
// the originated half of a busy or congested Local call (recordings busy.txt).
var dialStatusCause = map[string]int{
	"BUSY":        17,
	"CONGESTION":  34,
	"NOANSWER":    19,
	"CHANUNAVAIL": 20,
	"CANCEL":      16,
	"ANSWER":      16,
}

// finalDialStatus reports whether a dialstatus is an outcome (not RINGING or
// PROGRESS, which Dial reports on the way).
func finalDialStatus(s string) bool {
	_, ok := dialStatusCause[s]
	return ok
}

// causeDialStatus infers a dial status from the cause of a call that was
// never answered, when no Dial event said it (ring timeout: cause 19).
func causeDialStatus(cause int) string {
	switch cause {
	case 17:
		return "BUSY"
	case 18, 19:
		return "NOANSWER"
	case 34, 42:
		return "CONGESTION"
	case 20:
		return "CHANUNAVAIL"
	}
	return ""
}

// reasonCause maps the reason of DELETE /channels/{id} to the cause Asterisk
// sets (convert_reason_to_hangup_code in res/ari/resource_channels.c). Its
// keys are gateway.HangupReasons, the reasons the executor lets through
// (TestHangupReasonsHaveCauses).
var reasonCause = map[string]int{
	"normal":             16,
	"busy":               17,
	"congestion":         34,
	"no_answer":          19,
	"timeout":            18,
	"rejected":           21,
	"unallocated":        1,
	"normal_unspecified": 31,
	"number_incomplete":  28,
	"codec_mismatch":     58,
	"interworking":       127,
	"failure":            38,
	"answered_elsewhere": 26,
}

// stateOf maps an ARI channel state to a call state.
func stateOf(ariState string) callapi.CallState {
	switch strings.ToLower(ariState) {
	case "up":
		return callapi.StateUp
	case "ring", "ringing":
		return callapi.StateRinging
	case "busy":
		return callapi.StateBusy
	case "dialing", "pre-ring", "dialing offhook", "offhook":
		return callapi.StateDialing
	}
	return callapi.StateDown
}
