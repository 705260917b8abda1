// Package hangupcause is Asterisk 22's table of hang-up causes, shared by the
// ARI adapter (package asterisk) and the ARI simulator (asterisk/arisim) so
// that both name a cause the way Asterisk does.
//
// Text is ast_cause2str (main/channel.c, the causes[] table; numbers from
// include/asterisk/causes.h), and OfReason is convert_reason_to_hangup_code
// (res/ari/resource_channels.c), both as of Asterisk 22.10.1. The package
// imports only the standard library: arisim must not depend on the gateway.
package hangupcause

import "slices"

// text is ast_cause2str's table. Cause 0 (AST_CAUSE_NOTDEFINED) is not in it:
// Asterisk names it, like every unlisted cause, "Unknown".
var text = map[int]string{
	1:   "Unallocated (unassigned) number",
	2:   "No route to specified transmit network",
	3:   "No route to destination",
	5:   "Misdialed trunk prefix",
	6:   "Channel unacceptable",
	7:   "Call awarded and being delivered in an established channel",
	8:   "Pre-empted",
	14:  "Number ported elsewhere",
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
	102: "Recover on timer expiry", // sic: Asterisk's text, not Q.850's "Recovery on timer expiry"
	103: "Mandatory IE length error",
	111: "Protocol error, unspecified",
	127: "Interworking, unspecified",
}

// Text returns Asterisk's text for a hang-up cause (the cause_txt of
// ChannelDestroyed), "Unknown" for a cause Asterisk does not name.
func Text(cause int) string {
	if t, ok := text[cause]; ok {
		return t
	}
	return "Unknown"
}

// reasons maps the reason of DELETE /channels/{id} to the cause Asterisk sets.
var reasons = map[string]int{
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

// OfReason returns the cause Asterisk sets for the reason of DELETE
// /channels/{id}; ok is false for a reason Asterisk refuses (400 "Invalid
// reason for hangup reason provided").
func OfReason(reason string) (cause int, ok bool) {
	cause, ok = reasons[reason]
	return cause, ok
}

// Reasons returns the reasons OfReason knows, sorted.
func Reasons() []string {
	out := make([]string, 0, len(reasons))
	for r := range reasons {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
