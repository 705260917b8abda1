package asterisk

import (
	"regexp"

	"github.com/callgw/callgw/callapi"
)

// ariNameCounterRe finds the counter of a channel name in raw ARI JSON:
// a "name" member holding <tech>/<resource>-<8 hex digits>[;1|;2].
var ariNameCounterRe = regexp.MustCompile(`("name":"[A-Za-z0-9_]+/[^"\\]*)-[0-9a-f]{8}((?:;[12])?")`)

// publicARI is raw ARI JSON as events carry it: channel names without
// Asterisk's global channel counter (callapi.HideChannelCounter). Events
// reach tenants over every path (their own AMQP queues, which the gateway
// never sees, and HTTP streams), so the worker hides it for everyone.
func publicARI(raw []byte) []byte {
	if len(raw) == 0 || !ariNameCounterRe.Match(raw) {
		return raw
	}
	return ariNameCounterRe.ReplaceAll(raw, []byte("$1$2"))
}

// publicCall is c as results and events show it to tenants: its channel
// name without the counter. Call reads (GET /v1/calls) keep the full name
// for the gateway, which shows it to admin tokens only.
func publicCall(c *callapi.Call) *callapi.Call {
	if c != nil {
		c.Channel = callapi.HideChannelCounter(c.Channel)
	}
	return c
}
