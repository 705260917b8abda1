package amqpbus

import (
	"testing"

	"github.com/callgw/callgw/gateway"
)

// A failure that may be transient is not remembered under the command id
// (the Idempotency-Key's): the retry runs. Definitive answers are.
func TestMemoForgetsTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		rep      *gateway.Reply
		remember bool
	}{
		{&gateway.Reply{OK: true}, true},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.ENotFound, "x")), true},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.EConflict, "x")), true},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.EInvalid, "x")), true},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.ETimeout, "x")), true},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.EPBX, "asterisk unreachable")), false},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.ENodeUnavailable, "ARI away")), false},
		{gateway.ErrReply("c", "n", gateway.Errorf(gateway.EInternal, "x")), false},
	} {
		m := newMemo(10)
		cmd := &gateway.Command{ID: "c", Tenant: "t", Action: gateway.ActCallOriginate}
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
