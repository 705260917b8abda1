package amqpbus

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/callgw/callgw/callapi"
)

// encodeEvent is json.Marshal(e) without its reflection and, above all,
// without re-validating and re-compacting the raw JSON the event carries
// (Data, and ARI: the whole ARI event, the larger part of the body), which
// was ~10 % of a worker's CPU per published event (docs/performance.md:
// BenchmarkEncodeEvent, ~8× faster with one allocation instead of two).
// The raw fields are spliced as they are: both come from a decoder or an
// encoder that already checked them (asterisk decodes every ARI message
// before keeping it; Data is json.Marshal's output).
//
// callapi.Event's json tags remain the one definition of an event's JSON;
// this is a hand-compiled copy of them, held to them by tests:
// TestEncodeEventFollowsTags and FuzzEncodeEventFollowsTags fill every
// field the tags name (found by reflection, so a field added to Event is
// filled too, and one of an unknown type fails the test) and require the
// same bytes as json.Marshal: names, order, omitempty and escaping. The
// one difference they allow for is in raw fields, which json.Marshal
// re-compacts and in which it escapes <, >, &, U+2028 and U+2029; there
// the result is the same JSON value (TestEncodeEventMatchesMarshal,
// FuzzEncodeEvent). An event whose raw fields are not valid JSON, or whose
// time json.Marshal cannot write, goes through json.Marshal, which
// reports it. A field added to callapi.Event must be added here too.
func encodeEvent(e *callapi.Event) ([]byte, error) {
	if (len(e.Data) > 0 && !rawOK(e.Data)) || (len(e.ARI) > 0 && !rawOK(e.ARI)) ||
		e.Time.Year() < 0 || e.Time.Year() > 9999 {
		return json.Marshal(e)
	}
	b := make([]byte, 0, 320+len(e.Data)+len(e.ARI))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(e.Type))
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","node":`...)
	b = appendJSONString(b, string(e.Node))
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, e.Tenant)
	if e.CallID != "" {
		b = append(b, `,"call_id":`...)
		b = appendJSONString(b, string(e.CallID))
	}
	if e.BridgeID != "" {
		b = append(b, `,"bridge_id":`...)
		b = appendJSONString(b, string(e.BridgeID))
	}
	if e.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
	}
	if len(e.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range e.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
	}
	if len(e.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, e.Data...)
	}
	if len(e.ARI) > 0 {
		b = append(b, `,"ari":`...)
		b = append(b, e.ARI...)
	}
	if e.Cursor != "" { // a gateway's stream field; never set on the bus, written as json.Marshal would
		b = append(b, `,"cursor":`...)
		b = appendJSONString(b, e.Cursor)
	}
	return append(b, '}'), nil
}

// rawOK is a cheap guard for a raw field: it must look like a JSON object
// or array (what callgw puts there). Anything else goes through
// json.Marshal, which validates it.
func rawOK(r json.RawMessage) bool {
	first, last := r[0], r[len(r)-1]
	return (first == '{' && last == '}') || (first == '[' && last == ']')
}

// appendJSONString appends s as a JSON string: plain ASCII as it is, and
// anything that needs escaping through encoding/json (identical output).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
