package fakepbx

import (
	"encoding/json"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// ValidArgs are arguments each action accepts.
var ValidArgs = map[callapi.Action]string{
	callapi.ActCallOriginate: `{"to":"PJSIP/a","variables":{"FOO":"1"}}`,
	callapi.ActCallList:      `{"state":"up","tag":"t1"}`,
	callapi.ActCallHangup:    `{"reason":"busy"}`,
	callapi.ActCallRing:      `{"on":false}`,
	callapi.ActCallMute:      `{"direction":"in"}`,
	callapi.ActCallUnmute:    `{}`,
	callapi.ActCallDTMF:      `{"digits":"12#"}`,
	callapi.ActCallPlay:      `{"media":["sound:hello"],"playback_id":"pb1","lang":"en"}`,
	callapi.ActCallRecord:    `{"name":"r1","format":"wav"}`,
	callapi.ActCallRedirect:  `{"endpoint":"PJSIP/sip:b@pbx.example.com"}`,
	callapi.ActCallContinue:  `{"context":"default","extension":"s","priority":1}`,
	callapi.ActCallSnoop:     `{"spy":"in","snoop_id":"s1"}`,
	callapi.ActCallVarGet:    `{"name":"FOO"}`,
	callapi.ActCallVarSet:    `{"name":"FOO","value":"x"}`,
	callapi.ActCallMOHStart:  `{"class":"default"}`,
	callapi.ActBridgeCreate:  `{"type":"holding"}`,
	callapi.ActBridgeAdd:     `{"call_id":"c2"}`,
	callapi.ActBridgeRemove:  `{"call_id":"c2"}`,
	callapi.ActBridgePlay:    `{"media":["tone:ring"],"playback_id":"pb2"}`,
	callapi.ActBridgeRecord:  `{"name":"conf"}`,
	callapi.ActCallTransfer:  `{"transferee":"a","target":"b","transferer":"c","bridge_id":"b1"}`,
	callapi.ActKeyLookup:     `{"command_id":"c1"}`,
	// Node resources: a scope that allows the name (all: an admin's).
	callapi.ActEndpointList:    `{"scope":{"endpoints":["PJSIP/acme-*"]}}`,
	callapi.ActEndpointGet:     `{"name":"PJSIP/acme-a","scope":{"endpoints":["PJSIP/acme-*"]}}`,
	callapi.ActDeviceStateList: `{"scope":{"all":true}}`,
	callapi.ActDeviceStateGet:  `{"name":"PJSIP/acme-a","scope":{"all":true}}`,
	callapi.ActDeviceStateSet:  `{"name":"Stasis:acme-q","state":"BUSY","scope":{"device_states":["Stasis:acme-*"]}}`,
	callapi.ActDeviceStateDel:  `{"name":"Stasis:acme-q","scope":{"device_states":["Stasis:acme-*"]}}`,
	callapi.ActMailboxList:     `{"scope":{"mailboxes":["*@acme"]}}`,
	callapi.ActMailboxGet:      `{"name":"100@acme","scope":{"mailboxes":["*@acme"]}}`,
	callapi.ActMailboxSet:      `{"name":"100@acme","old_messages":1,"new_messages":2,"scope":{"mailboxes":["*@acme"]}}`,
	callapi.ActMailboxDelete:   `{"name":"100@acme","scope":{"mailboxes":["*@acme"]}}`,
	callapi.ActGlobalVarGet:    `{"name":"ACME_X","scope":{"variables":["ACME_*"]}}`,
	callapi.ActGlobalVarSet:    `{"name":"ACME_X","value":"1","scope":{"variables":["ACME_*"]}}`,
	callapi.ActCallCreate:      `{"to":"PJSIP/a","formats":"ulaw","variables":{"FOO":"1"},"tags":["t1"]}`,
	callapi.ActCallDial:        `{"timeout":30,"caller":"c2"}`,
	callapi.ActMessageSend:     `{"to":"PJSIP/a","from":"sip:shop@pbx","body":"hi","variables":{"X-A":"1"}}`,

	callapi.ActPlaybackControl:  `{"operation":"pause"}`,
	callapi.ActRecordingControl: `{"operation":"mute"}`,
}

// InvalidArgs are arguments each action must refuse at the boundary
// (actions without arguments refuse any member).
var InvalidArgs = map[callapi.Action][]string{
	callapi.ActCallOriginate: {`{}`, `{"to":"nope"}`, `{"to":"PJSIP/a","timeout":601}`, `{"to":"PJSIP/a","wait":"forever"}`,
		`{"to":"PJSIP/a","context":"c"}`, `{"to":"PJSIP/a","tags":["a b"]}`, `{"to":"PJSIP/a","variables":{"CALLGW_TAGS":"x"}}`,
		`{"to":"PJSIP/a","variables":{"_CALLGW_TENANT":"x"}}`, `{"to":"PJSIP/a","variables":{"__callgw_direction":"x"}}`},
	callapi.ActCallList:       {`{"state":"happy"}`, `{"tag":"a.b"}`},
	callapi.ActCallHangup:     {`{"reason":"bored"}`},
	callapi.ActCallRing:       {`{"on":"yes"}`},
	callapi.ActCallMute:       {`{"direction":"sideways"}`},
	callapi.ActCallUnmute:     {`{"direction":"up"}`},
	callapi.ActCallDTMF:       {`{}`, `{"digits":"x"}`, `{"digits":"1","between_ms":-1}`, `{"digits":"1","duration_ms":5001}`},
	callapi.ActCallPlay:       {`{"playback_id":"pb1"}`, `{"media":["sound:/etc/passwd"],"playback_id":"pb1"}`, `{"media":["http://169.254.169.254/"],"playback_id":"pb1"}`, `{"media":["sound:a"],"lang":"english!","playback_id":"pb1"}`, `{"media":["sound:a"],"playback_id":"a b"}`, `{"media":["sound:a"]}`},
	callapi.ActCallRecord:     {`{}`, `{"name":"a/b"}`, `{"name":".x"}`, `{"name":"r","format":"mp3"}`, `{"name":"r","if_exists":"maybe"}`, `{"name":"r","max_duration_seconds":-1}`},
	callapi.ActCallRedirect:   {`{}`, `{"endpoint":"nope"}`, `{"endpoint":"PJSIP/b\u0000"}`, `{"endpoint":"PJSIP/bob"}`},
	callapi.ActCallContinue:   {`{"context":"a,b"}`, `{"priority":-1}`, `{"label":"l","priority":2}`},
	callapi.ActCallSnoop:      {`{"spy":"none","snoop_id":"s1"}`, `{"spy":"sideways","snoop_id":"s1"}`, `{"spy":"in"}`},
	callapi.ActCallVarGet:     {`{}`, `{"name":"SHELL(id)"}`},
	callapi.ActCallVarSet:     {`{"name":"CALLGW_TENANT","value":"x"}`, `{"name":"_CALLGW_TAGS","value":"x"}`, `{"name":"__CALLGW_DIRECTION","value":"x"}`, `{"name":"FOO","value":"a\nb"}`},
	callapi.ActCallMOHStart:   {`{"class":"a b"}`},
	callapi.ActBridgeCreate:   {`{"type":"party"}`},
	callapi.ActBridgeAdd:      {`{}`, `{"call_id":"a b"}`},
	callapi.ActBridgeRemove:   {`{}`},
	callapi.ActBridgePlay:     {`{"playback_id":"pb2"}`, `{"media":["sound:../x"],"playback_id":"pb2"}`, `{"media":["tone:ring"]}`},
	callapi.ActBridgeRecord:   {`{"name":""}`},
	callapi.ActEndpointList:   {`{"scope":{"endpoints":["["]}}`, `{"scope":{"all":"yes"}}`},
	callapi.ActEndpointGet:    {`{}`, `{"name":"../x"}`, `{"name":"a b"}`},
	callapi.ActDeviceStateGet: {`{}`, `{"name":"x\u0000"}`},
	callapi.ActDeviceStateSet: {`{"name":"PJSIP/a","state":"BUSY"}`, `{"name":"Stasis:q","state":"SLEEPY"}`, `{"name":"Stasis:","state":"BUSY"}`},
	callapi.ActDeviceStateDel: {`{}`},
	callapi.ActMailboxGet:     {`{}`},
	callapi.ActMailboxSet:     {`{"name":"1@a","old_messages":-1}`, `{"name":"1@a","new_messages":1000001}`, `{"name":""}`},
	callapi.ActMailboxDelete:  {`{"name":"/x"}`},
	callapi.ActGlobalVarGet:   {`{}`, `{"name":"SHELL(id)"}`},
	callapi.ActGlobalVarSet:   {`{"name":"CALLGW_TENANT","value":"x"}`, `{"name":"FOO","value":"a\nb"}`},
	callapi.ActCallTransfer:   {`{}`, `{"transferee":"a","target":"a","transferer":"c"}`, `{"transferee":"a","target":"b","transferer":"b"}`, `{"transferee":"a","target":"b","transferer":"c","bridge_id":"x y"}`, `{"transferee":"a","target":"b","transferer":"c"}`},
	callapi.ActCallCreate:     {`{}`, `{"to":"nope"}`, `{"to":"PJSIP/a","formats":"u law"}`, `{"to":"PJSIP/a","variables":{"CALLGW_TENANT":"other"}}`, `{"to":"PJSIP/a","originator":"a b"}`},
	callapi.ActCallDial:       {`{"timeout":-1}`, `{"timeout":601}`, `{"caller":"a b"}`},
	callapi.ActMessageSend:    {`{}`, `{"to":"PJSIP/a"}`, `{"to":"a","from":"sip:x@y"}`, `{"to":"PJSIP/a","from":"sip:x@y\r\nX: 1"}`, `{"to":"PJSIP/a","from":"sip:x@y","variables":{"X Y":"1"}}`},
}

// CommandFor builds a command of action a carrying the ids its Spec needs.
func CommandFor(s *callapi.Spec, args string) *callapi.Command {
	cmd := &callapi.Command{ID: "c", Action: s.Action, Tenant: "acme", Args: json.RawMessage(args)}
	switch s.ID {
	case callapi.IDCall:
		cmd.CallID = "call1"
	case callapi.IDBridge:
		cmd.BridgeID = "br1"
	case callapi.IDResource:
		cmd.ResourceID = "res1"
	}
	return cmd
}

func OrEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

func MustSpec(t *testing.T, a callapi.Action) *callapi.Spec {
	t.Helper()
	s, ok := callapi.SpecOf(a)
	if !ok {
		t.Fatalf("no Spec for %s", a)
	}
	return s
}
