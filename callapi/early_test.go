package callapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestEarlyArgsValidate: every new argument type refuses bad input with
// invalid_argument naming the field, and takes the good.
func TestEarlyArgsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		act   Action
		args  any
		field string // "" = valid
	}{
		{"create ok", ActCallCreate, &CreateArgs{To: "PJSIP/alice", Formats: "ulaw,alaw", Tags: []string{"a"}}, ""},
		{"create no to", ActCallCreate, &CreateArgs{}, "to"},
		{"create bad to", ActCallCreate, &CreateArgs{To: "alice"}, "to"},
		{"create bad originator", ActCallCreate, &CreateArgs{To: "PJSIP/a", Originator: "a/b"}, "originator"},
		{"create bad formats", ActCallCreate, &CreateArgs{To: "PJSIP/a", Formats: "ulaw;alaw"}, "formats"},
		{"create bad variable", ActCallCreate, &CreateArgs{To: "PJSIP/a", Variables: map[string]string{"X": "a\nb"}}, "variables"},
		{"dial ok", ActCallDial, &DialArgs{Timeout: 30}, ""},
		{"dial negative timeout", ActCallDial, &DialArgs{Timeout: -1}, "timeout"},
		{"dial long timeout", ActCallDial, &DialArgs{Timeout: MaxRingTimeout + 1}, "timeout"},
		{"dial bad caller", ActCallDial, &DialArgs{Caller: "x y"}, "caller"},
		{"message ok", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:shop@pbx", Body: "hi\nthere", Variables: map[string]string{"X-Order": "42"}}, ""},
		{"message no to", ActMessageSend, &MessageArgs{From: "sip:a@b"}, "to"},
		{"message bad to", ActMessageSend, &MessageArgs{To: "PJSIP alice", From: "sip:a@b"}, "to"},
		{"message no from", ActMessageSend, &MessageArgs{To: "PJSIP/alice"}, "from"},
		{"message from with CRLF", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:a@b\r\nX: y"}, "from"},
		{"message long body", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:a@b", Body: strings.Repeat("x", MaxMessageBody+1)}, "body"},
		{"message body NUL", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:a@b", Body: "a\x00"}, "body"},
		{"message bad header", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:a@b", Variables: map[string]string{"X Y": "1"}}, "variables"},
		{"message header CRLF", ActMessageSend, &MessageArgs{To: "PJSIP/alice", From: "sip:a@b", Variables: map[string]string{"X": "1\r\nY: 2"}}, "variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateArgs(tc.act, nil, tc.args)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid args refused: %v", err)
				}
				return
			}
			if ErrorCode(err) != CodeInvalidArgument {
				t.Fatalf("got %v, want invalid_argument on %s", err, tc.field)
			}
			if f := ErrorField(err); f != tc.field {
				t.Fatalf("field %q, want %q (%v)", f, tc.field, err)
			}
		})
	}
}

// TestEarlyRequestsNode: the REST bodies check the node they name.
func TestEarlyRequestsNode(t *testing.T) {
	c := CreateRequest{Node: "a.b", CreateArgs: CreateArgs{To: "PJSIP/alice"}}
	if ErrorCode(c.Validate(nil)) != CodeInvalidArgument {
		t.Error("create: a bad node was accepted")
	}
	m := MessageRequest{Node: "all", MessageArgs: MessageArgs{To: "PJSIP/alice", From: "sip:a@b"}}
	if ErrorCode(m.Validate(nil)) != CodeInvalidArgument {
		t.Error("message: node all was accepted")
	}
}

// TestMessageEventKey: a message.received event is routed by its endpoint.
func TestMessageEventKey(t *testing.T) {
	d, _ := json.Marshal(MessageData{Endpoint: "PJSIP/alice.1", From: "sip:a@b", To: "pjsip:alice"})
	e := &Event{Type: EvMessageReceived, Tenant: "acme", Node: "pbx1", Data: d}
	if got, want := EventKey(e), "acme.pbx1.message.received.PJSIP/alice_1"; got != want {
		t.Fatalf("key %q, want %q", got, want)
	}
}
