package amqpbus

import (
	"testing"

	"github.com/callgw/callgw/callapi"
)

// A failure that may be transient is not remembered under the command id
// (the Idempotency-Key's): the retry runs. Definitive answers are.
func TestMemoForgetsTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		rep      *callapi.Reply
		remember bool
	}{
		{&callapi.Reply{OK: true}, true},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeNotFound, "x")), true},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeConflict, "x")), true},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeInvalidArgument, "x")), true},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeTimeout, "x")), true},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodePBXError, "asterisk unreachable")), false},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeNodeUnavailable, "ARI away")), false},
		{callapi.ErrReply("c", "n", callapi.Errorf(callapi.CodeInternal, "x")), false},
	} {
		m := newMemo(10)
		cmd := &callapi.Command{ID: "c", Tenant: "t", Action: callapi.ActCallOriginate}
		e, dup := m.begin(cmd)
		if dup {
			t.Fatal("new entry reported as duplicate")
		}
		waiter, dup := m.begin(cmd) // a duplicate waiting for the original
		if !dup || waiter != e {
			t.Fatal("duplicate not given the entry in progress")
		}
		m.finish(e, tc.rep)
		<-waiter.done
		if waiter.reply != tc.rep {
			t.Errorf("%+v: waiting duplicate did not get the reply", tc.rep.Error)
		}
		_, dup = m.begin(cmd)
		if dup != tc.remember {
			t.Errorf("%+v: remembered %v, want %v", tc.rep.Error, dup, tc.remember)
		}
	}
}
