package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// TestServiceValidatesLikeTheExecutor: the service refuses before
// publishing exactly what the executor refuses (one Validate, the Spec's).
func TestServiceValidatesLikeTheExecutor(t *testing.T) {
	for _, s := range callapi.Specs() {
		if s.Port == callapi.PortJournal {
			continue
		}
		for _, args := range append([]string{fakepbx.ValidArgs[s.Action]}, fakepbx.InvalidArgs[s.Action]...) {
			pbx := fakepbx.NewFull()
			rep := (&worker.Executor{Node: "pbx1", PBX: pbx}).Handle(context.Background(), fakepbx.CommandFor(s, args))
			v := s.NewArgs()
			if err := json.Unmarshal([]byte(fakepbx.OrEmpty(args)), v); err != nil {
				if rep.OK {
					t.Errorf("%s %s: undecodable, yet the executor ran it", s.Action, args)
				}
				continue // a decoding error, not Validate's
			}
			if svc := callapi.ValidateArgs(s.Action, nil, v); (svc == nil) != rep.OK {
				t.Errorf("%s %s: service says %v, executor %+v", s.Action, args, svc, rep.Error)
			}
		}
	}
	if err := callapi.ValidateArgs(callapi.ActCallDTMF, nil, &callapi.MuteArgs{}); callapi.ErrorCode(err) != callapi.CodeInternal {
		t.Errorf("wrong argument type: %v", err)
	}
	if err := callapi.ValidateArgs(callapi.ActCallDTMF, nil, callapi.DTMFArgs{Digits: "1"}); err != nil {
		t.Errorf("a value of the argument type: %v", err)
	}
	if err := callapi.ValidateArgs("call.bogus", nil, nil); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("unknown action: %v", err)
	}
}

// TestCreateBridgeRequestRules: the calls of a bridge creation (at most
// MaxBridgeCalls valid ids, none twice) and its node are checked by the
// Service, so a caller of the Service (not only restapi) is refused before
// anything is published.
func TestCreateBridgeRequestRules(t *testing.T) {
	many := make([]callapi.CallID, callapi.MaxBridgeCalls+1)
	for i := range many {
		many[i] = callapi.CallID(fmt.Sprintf("c%d", i))
	}
	for _, tc := range []struct {
		name  string
		req   callapi.BridgeCreateRequest
		field string
	}{
		{"too many calls", callapi.BridgeCreateRequest{Calls: many}, "calls"},
		{"bad call id", callapi.BridgeCreateRequest{Calls: []callapi.CallID{"a b"}}, "calls"},
		{"call twice", callapi.BridgeCreateRequest{Calls: []callapi.CallID{"c1", "c2", "c1"}}, "calls"},
		{"bad node", callapi.BridgeCreateRequest{Node: "a.b"}, "node"},
		{"reserved node", callapi.BridgeCreateRequest{Node: "all"}, "node"},
		{"bad type", callapi.BridgeCreateRequest{BridgeCreateArgs: callapi.BridgeCreateArgs{Type: "x"}}, "type"},
		{"name with CRLF", callapi.BridgeCreateRequest{BridgeCreateArgs: callapi.BridgeCreateArgs{Name: "conf\r\nX: 1"}}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := &loopBus{nodes: map[callapi.NodeID]*worker.Executor{"pbx1": {Node: "pbx1", PBX: fakepbx.NewFull()}}}
			reg := NewRegistry()
			reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, time.Now())
			s := NewService(bus, reg, NewLocations(0))
			_, err := s.CreateBridge(context.Background(), Options{Tenant: "acme"}, tc.req)
			if callapi.ErrorCode(err) != callapi.CodeInvalidArgument || callapi.ErrorField(err) != tc.field {
				t.Fatalf("err %v (field %q), want invalid_argument on %s", err, callapi.ErrorField(err), tc.field)
			}
			if len(bus.sent) != 0 {
				t.Fatalf("published to %v", bus.sent)
			}
		})
	}
}
