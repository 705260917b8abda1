package hangupcause

import (
	"slices"
	"testing"
)

// TestText: every row of ast_cause2str's table in Asterisk 22.10.1
// (main/channel.c causes[]), copied here independently of the package's
// table, and causes Asterisk does not name.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		cause int
		want  string
	}{
		{1, "Unallocated (unassigned) number"},
		{2, "No route to specified transmit network"},
		{3, "No route to destination"},
		{5, "Misdialed trunk prefix"},
		{6, "Channel unacceptable"},
		{7, "Call awarded and being delivered in an established channel"},
		{8, "Pre-empted"},
		{14, "Number ported elsewhere"},
		{16, "Normal Clearing"},
		{17, "User busy"},
		{18, "No user responding"},
		{19, "User alerting, no answer"},
		{20, "Subscriber absent"},
		{21, "Call Rejected"},
		{22, "Number changed"},
		{23, "Redirected to new destination"},
		{26, "Answered elsewhere"},
		{27, "Destination out of order"},
		{28, "Invalid number format"},
		{29, "Facility rejected"},
		{30, "Response to STATus ENQuiry"},
		{31, "Normal, unspecified"},
		{34, "Circuit/channel congestion"},
		{38, "Network out of order"},
		{41, "Temporary failure"},
		{42, "Switching equipment congestion"},
		{43, "Access information discarded"},
		{44, "Requested channel not available"},
		{50, "Facility not subscribed"},
		{52, "Outgoing call barred"},
		{54, "Incoming call barred"},
		{57, "Bearer capability not authorized"},
		{58, "Bearer capability not available"},
		{65, "Bearer capability not implemented"},
		{66, "Channel not implemented"},
		{69, "Facility not implemented"},
		{81, "Invalid call reference value"},
		{88, "Incompatible destination"},
		{95, "Invalid message unspecified"},
		{96, "Mandatory information element is missing"},
		{97, "Message type nonexist."},
		{98, "Wrong message"},
		{99, "Info. element nonexist or not implemented"},
		{100, "Invalid information element contents"},
		{101, "Message not compatible with call state"},
		{102, "Recover on timer expiry"},
		{103, "Mandatory IE length error"},
		{111, "Protocol error, unspecified"},
		{127, "Interworking, unspecified"},
		// Not in the table: ast_cause2str falls back to "Unknown".
		{0, "Unknown"}, // AST_CAUSE_NOTDEFINED; ChannelDestroyed in shared/ari-recordings/busy.txt
		{4, "Unknown"},
		{32, "Unknown"}, // AST_SOFTHANGUP_EXPLICIT, seen as a ChannelHangupRequest cause
		{128, "Unknown"},
		{-1, "Unknown"},
	} {
		if got := Text(tc.cause); got != tc.want {
			t.Errorf("Text(%d) = %q, want %q", tc.cause, got, tc.want)
		}
	}
}

// TestOfReason: convert_reason_to_hangup_code in Asterisk 22.10.1
// (res/ari/resource_channels.c), row by row, and reasons it refuses.
func TestOfReason(t *testing.T) {
	known := []struct {
		reason string
		cause  int
	}{
		{"normal", 16},             // AST_CAUSE_NORMAL
		{"busy", 17},               // AST_CAUSE_BUSY
		{"congestion", 34},         // AST_CAUSE_CONGESTION
		{"no_answer", 19},          // AST_CAUSE_NOANSWER
		{"timeout", 18},            // AST_CAUSE_NO_USER_RESPONSE
		{"rejected", 21},           // AST_CAUSE_CALL_REJECTED
		{"unallocated", 1},         // AST_CAUSE_UNALLOCATED
		{"normal_unspecified", 31}, // AST_CAUSE_NORMAL_UNSPECIFIED
		{"number_incomplete", 28},  // AST_CAUSE_INVALID_NUMBER_FORMAT
		{"codec_mismatch", 58},     // AST_CAUSE_BEARERCAPABILITY_NOTAVAIL
		{"interworking", 127},      // AST_CAUSE_INTERWORKING
		{"failure", 38},            // AST_CAUSE_FAILURE
		{"answered_elsewhere", 26}, // AST_CAUSE_ANSWERED_ELSEWHERE
	}
	var names []string
	for _, tc := range known {
		names = append(names, tc.reason)
		if got, ok := OfReason(tc.reason); !ok || got != tc.cause {
			t.Errorf("OfReason(%q) = %d, %v; want %d, true", tc.reason, got, ok, tc.cause)
		}
	}
	for _, r := range []string{"", "Normal", "NORMAL", "hangup", "normal ", "16"} {
		if got, ok := OfReason(r); ok {
			t.Errorf("OfReason(%q) = %d, true; Asterisk refuses it", r, got)
		}
	}
	slices.Sort(names)
	if got := Reasons(); !slices.Equal(got, names) {
		t.Errorf("Reasons() = %v, want %v", got, names)
	}
}
