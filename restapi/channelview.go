package restapi

import (
	"encoding/json"
	"regexp"

	"github.com/callgw/callgw/callapi"
)

// Asterisk numbers every channel it creates with one PBX-wide counter,
// the suffix of channel names (PJSIP/alice-0000002a): two calls of one
// tenant seven apart tell it that seven channels of others were made in
// between. Only admin tokens see channel names with their counter; every
// other token sees them as callapi.HideChannelCounter leaves them. The
// worker hides it in events and command results itself (asterisk), which
// also reach tenants over their own AMQP queues; what it keeps for call
// reads, these functions hide from non-admin tokens.

// channelCounterAnyRe finds channel names with their counter anywhere in
// a text (a variable's value may hold several: BRIDGEPEER).
var channelCounterAnyRe = regexp.MustCompile(`([A-Za-z0-9_]+/[^\s,"]*?)-[0-9a-f]{8}((?:;[12])?)(?:$|[\s,"])`)

// callView is c as p may see it.
func callView(c *callapi.Call, p Principal) *callapi.Call {
	if c == nil || p.Has(ScopeAdmin) || c.Channel == "" {
		return c
	}
	cp := *c
	cp.Channel = callapi.HideChannelCounter(c.Channel)
	return &cp
}

// callsView is callView of each call.
func callsView(cs []*callapi.Call, p Principal) []*callapi.Call {
	if p.Has(ScopeAdmin) {
		return cs
	}
	out := make([]*callapi.Call, len(cs))
	for i, c := range cs {
		out[i] = callView(c, p)
	}
	return out
}

// callJSONView is a call's JSON (as the node sent it) as p may see it;
// nil when it is not a JSON object and must not be passed on.
func callJSONView(raw json.RawMessage, p Principal) json.RawMessage {
	if p.Has(ScopeAdmin) {
		return raw
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	var name string
	if json.Unmarshal(m["channel"], &name) != nil || name == "" {
		return raw
	}
	m["channel"], _ = json.Marshal(callapi.HideChannelCounter(name))
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// variableView hides channel counters in a variable's value (CHANNEL,
// BRIDGEPEER, DIALEDPEERNAME, CHANNEL(name), …) from non-admin tokens.
func variableView(value string, p Principal) string {
	if p.Has(ScopeAdmin) {
		return value
	}
	for {
		loc := channelCounterAnyRe.FindStringSubmatchIndex(value)
		if loc == nil {
			return value
		}
		// Keep the name and the ;1/;2 half, drop "-" and the counter.
		value = value[:loc[3]] + value[loc[4]:loc[5]] + value[loc[5]:]
	}
}

// channelCounterJSONRe finds a JSON string that is a channel name with
// its counter.
var channelCounterJSONRe = regexp.MustCompile(`("[A-Za-z0-9_]+/[^"\\]*)-[0-9a-f]{8}((?:;[12])?")`)

// eventChannelView is e as a stream shows it to p: without channel
// counters in its data or raw ARI. Workers publish events without them
// already; this holds for events of a worker that does not (an older
// version during an upgrade).
func eventChannelView(e *callapi.Event, p Principal) *callapi.Event {
	if p.Has(ScopeAdmin) || (!channelCounterJSONRe.Match(e.Data) && !channelCounterJSONRe.Match(e.ARI)) {
		return e
	}
	cp := *e
	cp.Data = channelCounterJSONRe.ReplaceAll(e.Data, []byte("$1$2"))
	if len(e.ARI) > 0 {
		cp.ARI = channelCounterJSONRe.ReplaceAll(e.ARI, []byte("$1$2"))
	}
	return &cp
}
