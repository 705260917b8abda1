package asterisk

import (
	"strings"

	"github.com/callgw/callgw/asterisk/hangupcause"
	"github.com/callgw/callgw/callapi"
)

// CauseText returns Asterisk's text for a hangup cause (hangupcause.Text).
func CauseText(cause int) string { return hangupcause.Text(cause) }

// dialStatusCause maps a Dial event's dialstatus to the cause callgw reports
// when the channel itself was destroyed with cause 0, as Asterisk does for
// the originated half of a busy or congested Local call (shared/ari-recordings/busy.txt).
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

// reasonCause is the cause Asterisk sets for the reason of DELETE
// /channels/{id} (hangupcause.OfReason), 0 for a reason it refuses. The
// reasons the executor lets through (callapi.HangupReasons) all have one
// (TestHangupReasonsHaveCauses).
func reasonCause(reason string) int {
	cause, _ := hangupcause.OfReason(reason)
	return cause
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
