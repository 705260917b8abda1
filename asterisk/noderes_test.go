package asterisk

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// runNode runs action with args through the registry on p (as the
// executor does after CheckReceived), decoding the result into out.
func runNode(t *testing.T, p *PBX, a callapi.Action, args callapi.Validator) (any, error) {
	t.Helper()
	spec, _ := callapi.SpecOf(a)
	if err := spec.Validate(nil, args); err != nil {
		return nil, err
	}
	ports := callapi.PortsOf("pbx1", p)
	if !ports.Has(callapi.PortNodeRes) {
		t.Fatal("asterisk.PBX does not serve node resources")
	}
	return spec.Run(context.Background(), ports, &callapi.Command{Action: a, Tenant: "acme"}, args)
}

// TestNodeResourcesScoped: device states, mailboxes, global variables and
// endpoints over ARI (the simulator), each seen and changed only within the
// caller's NameScope: outside it not_found, left out of listings; a
// command without a scope sees nothing.
func TestNodeResourcesScoped(t *testing.T) {
	srv, ts := newSim(t)
	srv.AddEndpoint("acme-alice", arisim.Endpoint{})
	srv.AddEndpoint("globex-bob", arisim.Endpoint{})
	p, _, _ := startPBX(t, ts, nil)
	acme := &callapi.NameScope{Endpoints: []string{"PJSIP/acme-*"}, DeviceStates: []string{"Stasis:acme-*"},
		Mailboxes: []string{"*@acme"}, Variables: []string{"ACME_*"}}
	admin := &callapi.NameScope{All: true}
	code := func(err error) callapi.Code { return callapi.ErrorCode(err) }

	if _, err := runNode(t, p, callapi.ActDeviceStateSet, &callapi.DeviceStateArgs{Name: "Stasis:acme-q1", State: "BUSY", Scope: acme}); err != nil {
		t.Fatal(err)
	}
	if _, err := runNode(t, p, callapi.ActDeviceStateSet, &callapi.DeviceStateArgs{Name: "Stasis:globex-q1", State: "INUSE", Scope: acme}); code(err) != callapi.CodeNotFound {
		t.Fatalf("set outside scope: %v, want not_found", err)
	}
	if _, err := runNode(t, p, callapi.ActDeviceStateSet, &callapi.DeviceStateArgs{Name: "Stasis:globex-q1", State: "INUSE", Scope: admin}); err != nil {
		t.Fatal(err)
	}
	r, err := runNode(t, p, callapi.ActDeviceStateList, &callapi.NodeListArgs{Scope: acme})
	if l := r.(callapi.DeviceStateList).DeviceStates; err != nil || len(l) != 1 || l[0].Name != "Stasis:acme-q1" || l[0].State != "BUSY" || l[0].Node != "pbx1" {
		t.Fatalf("acme's device states: %+v, %v", r, err)
	}
	if _, err := runNode(t, p, callapi.ActDeviceStateGet, &callapi.NodeNameArgs{Name: "Stasis:globex-q1", Scope: acme}); code(err) != callapi.CodeNotFound {
		t.Fatalf("get outside scope: %v", err)
	}
	r, _ = runNode(t, p, callapi.ActDeviceStateList, &callapi.NodeListArgs{})
	if l := r.(callapi.DeviceStateList).DeviceStates; len(l) != 0 {
		t.Fatalf("no scope sees %+v", l)
	}
	if _, err := runNode(t, p, callapi.ActDeviceStateDel, &callapi.NodeNameArgs{Name: "Stasis:acme-q1", Scope: acme}); err != nil {
		t.Fatal(err)
	}

	if _, err := runNode(t, p, callapi.ActMailboxSet, &callapi.MailboxArgs{Name: "1000@acme", OldMessages: 2, NewMessages: 3, Scope: acme}); err != nil {
		t.Fatal(err)
	}
	r, err = runNode(t, p, callapi.ActMailboxGet, &callapi.NodeNameArgs{Name: "1000@acme", Scope: acme})
	if m, _ := r.(*callapi.Mailbox); err != nil || m.OldMessages != 2 || m.NewMessages != 3 || m.Node != "pbx1" {
		t.Fatalf("mailbox: %+v, %v", r, err)
	}
	if _, err := runNode(t, p, callapi.ActMailboxGet, &callapi.NodeNameArgs{Name: "2000@acme", Scope: acme}); code(err) != callapi.CodeNotFound {
		t.Fatalf("unknown mailbox: %v", err)
	}
	if _, err := runNode(t, p, callapi.ActMailboxDelete, &callapi.NodeNameArgs{Name: "1000@acme", Scope: &callapi.NameScope{Mailboxes: []string{"*@globex"}}}); code(err) != callapi.CodeNotFound {
		t.Fatalf("delete outside scope: %v", err)
	}
	if _, err := runNode(t, p, callapi.ActMailboxDelete, &callapi.NodeNameArgs{Name: "1000@acme", Scope: acme}); err != nil {
		t.Fatal(err)
	}

	set := &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: "ACME_NIGHT", Value: "1"}, Scope: acme}
	if _, err := runNode(t, p, callapi.ActGlobalVarSet, set); err != nil {
		t.Fatal(err)
	}
	r, err = runNode(t, p, callapi.ActGlobalVarGet, &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: "ACME_NIGHT"}, Scope: acme})
	if v, _ := r.(callapi.Variable); err != nil || v.Value != "1" {
		t.Fatalf("global variable: %+v, %v", r, err)
	}
	if _, err := runNode(t, p, callapi.ActGlobalVarGet, &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: "GLOBEX_X"}, Scope: acme}); code(err) != callapi.CodeNotFound {
		t.Fatalf("variable outside scope: %v", err)
	}

	r, err = runNode(t, p, callapi.ActEndpointList, &callapi.NodeListArgs{Scope: acme})
	if l := r.(callapi.EndpointList).Endpoints; err != nil || len(l) != 1 || l[0].Name != "PJSIP/acme-alice" || l[0].Technology != "PJSIP" {
		t.Fatalf("acme's endpoints: %+v, %v", r, err)
	}
	if _, err := runNode(t, p, callapi.ActEndpointGet, &callapi.NodeNameArgs{Name: "PJSIP/globex-bob", Scope: acme}); code(err) != callapi.CodeNotFound {
		t.Fatalf("endpoint outside scope: %v", err)
	}
	r, err = runNode(t, p, callapi.ActEndpointGet, &callapi.NodeNameArgs{Name: "PJSIP/globex-bob", Scope: admin})
	if e, _ := r.(*callapi.Endpoint); err != nil || e.Resource != "globex-bob" {
		t.Fatalf("admin's endpoint: %+v, %v", r, err)
	}
}

// TestNodeResourcesBadInput: each operation refuses bad input as
// invalid_argument before it reaches Asterisk.
func TestNodeResourcesBadInput(t *testing.T) {
	cases := map[callapi.Action]callapi.Validator{
		callapi.ActDeviceStateSet: &callapi.DeviceStateArgs{Name: "PJSIP/alice", State: "BUSY"},
		callapi.ActDeviceStateGet: &callapi.NodeNameArgs{Name: "../x"},
		callapi.ActMailboxSet:     &callapi.MailboxArgs{Name: "1000@acme", NewMessages: -1},
		callapi.ActGlobalVarSet:   &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: "CALLGW_TENANT", Value: "x"}},
		callapi.ActEndpointList:   &callapi.NodeListArgs{Scope: &callapi.NameScope{Endpoints: []string{"["}}},
	}
	for a, args := range cases {
		spec, _ := callapi.SpecOf(a)
		if err := spec.Validate(nil, args); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
			t.Errorf("%s %+v: %v, want invalid_argument", a, args, err)
		}
	}
	bad := &callapi.DeviceStateArgs{Name: "Stasis:q", State: "SLEEPY"}
	if err := bad.Validate(); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("state SLEEPY: %v", err)
	}
}

// TestEndpointCallIDs: an endpoint shows the number of calls on it to
// everyone, and the ids of those that are the caller's own calls only.
func TestEndpointCallIDs(t *testing.T) {
	srv, ts := newSim(t)
	srv.AddEndpoint("acme-alice", arisim.Endpoint{Outcome: "ring"})
	p, _, _ := startPBX(t, ts, nil)
	ctx := ctxT(t, 5*time.Second)
	id := newID()
	if _, err := p.Originate(ctx, "acme", id, callapi.OriginateArgs{To: "PJSIP/acme-alice"}); err != nil {
		t.Fatal(err)
	}
	spec, _ := callapi.SpecOf(callapi.ActEndpointGet)
	ports := callapi.PortsOf("pbx1", p)
	all := &callapi.NameScope{All: true}
	for _, tc := range []struct {
		tenant string
		ids    int
	}{{"acme", 1}, {"beta", 0}} {
		var e *callapi.Endpoint
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			r, err := spec.Run(ctx, ports, &callapi.Command{Action: callapi.ActEndpointGet, Tenant: tc.tenant}, &callapi.NodeNameArgs{Name: "PJSIP/acme-alice", Scope: all})
			if err != nil {
				t.Fatal(err)
			}
			e = r.(*callapi.Endpoint)
			if len(e.CallIDs) == tc.ids || time.Now().After(deadline) {
				break
			}
		}
		if e.Calls != 1 || len(e.CallIDs) != tc.ids || (tc.ids == 1 && e.CallIDs[0] != id) {
			t.Errorf("%s sees %+v, want 1 call and %d id(s)", tc.tenant, e, tc.ids)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "channel_ids") {
			t.Errorf("channel ids shown: %s", b)
		}
	}
}
