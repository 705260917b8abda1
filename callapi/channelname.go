package callapi

import "regexp"

// channelCounterRe is the suffix Asterisk gives a channel name: "-" and
// eight hex digits of a counter that every channel of the PBX advances
// (PJSIP/alice-0000002a, Local/answer@ctx-0000002b;1).
var channelCounterRe = regexp.MustCompile(`-[0-9a-f]{8}((?:;[12])?)$`)

// HideChannelCounter is an Asterisk channel name without its counter
// (PJSIP/alice-0000002a → PJSIP/alice, Local/answer@ctx-0000002b;1 →
// Local/answer@ctx;1). The counter is global to the PBX: two calls of one
// tenant seven apart tell it that seven channels of others were created
// in between. Tenants see channel names this way; only admin call reads
// carry the full name.
func HideChannelCounter(name string) string {
	return channelCounterRe.ReplaceAllString(name, "$1")
}
