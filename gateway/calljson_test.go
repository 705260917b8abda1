package gateway

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestCallJSONPassThrough: Service.Call passes the node's call.get result
// on as it came. The gateway used to decode it into a callapi.Call and
// encode it again; for a node of the same version that wrote the same
// bytes, which this checks for a call with every field set, so the pass
// through changes nothing on GET /v1/calls/{id}.
func TestCallJSONPassThrough(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 50, 1, 123456000, time.FixedZone("x", 5400))
	end := at.Add(90 * time.Second).UTC()
	d, talk := int64(90000), int64(80500)
	c := &callapi.Call{
		ID: "c1", Node: "pbx1", Tenant: "acme", State: callapi.StateEnded, Direction: "outbound",
		From: "\"Sales\" <100>", To: "PJSIP/a&b", Channel: "PJSIP/a-0000001é", CreatedAt: at, AnsweredAt: &at,
		Tags: []string{"t1", "<t2>"}, Variables: map[string]string{"z": "1", "a": "\u2028", "m": ""}, BridgeID: "b1",
		Hangup:  &callapi.Hangup{Cause: 16, CauseText: "Normal Clearing", DialStatus: "ANSWER"},
		EndedAt: &end, EndReason: "api", DurationMS: &d, TalkMS: &talk,
	}
	rep := callapi.OKReply("cmd1", "pbx1", c) // what the worker sends
	var raw json.RawMessage
	if err := rep.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	var decoded callapi.Call // the former path: decode, then encode again
	if err := rep.Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&decoded)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(again) {
		t.Fatalf("passed through\n%s\ndecoded and encoded again\n%s", raw, again)
	}
}
