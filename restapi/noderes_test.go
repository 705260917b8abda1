package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// nodeResPBX is one node's endpoints, device states, mailboxes and globals,
// kept as an Asterisk keeps them (no tenancy: the actions apply the scope).
type nodeResPBX struct {
	*fakepbx.Full
	mu        sync.Mutex
	endpoints []string
	devices   map[string]string
	mailboxes map[string]callapi.Mailbox
	globals   map[string]string
}

func newNodeResPBX(endpoints ...string) *nodeResPBX {
	return &nodeResPBX{Full: fakepbx.NewFull(), endpoints: endpoints, devices: map[string]string{},
		mailboxes: map[string]callapi.Mailbox{}, globals: map[string]string{}}
}

func (p *nodeResPBX) Endpoints(context.Context) ([]*callapi.Endpoint, error) {
	var out []*callapi.Endpoint
	for _, e := range p.endpoints {
		tech, res, _ := strings.Cut(e, "/")
		out = append(out, &callapi.Endpoint{Name: e, Technology: tech, Resource: res, State: "online"})
	}
	return out, nil
}

func (p *nodeResPBX) Endpoint(_ context.Context, name string) (*callapi.Endpoint, error) {
	for _, e := range p.endpoints {
		if e == name {
			tech, res, _ := strings.Cut(e, "/")
			return &callapi.Endpoint{Name: e, Technology: tech, Resource: res, State: "online"}, nil
		}
	}
	return nil, callapi.Errorf(callapi.CodeNotFound, "endpoint %s not found", name)
}

func (p *nodeResPBX) DeviceStates(context.Context) ([]*callapi.DeviceState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*callapi.DeviceState
	for n, s := range p.devices {
		out = append(out, &callapi.DeviceState{Name: n, State: s})
	}
	return out, nil
}

func (p *nodeResPBX) DeviceState(_ context.Context, name string) (*callapi.DeviceState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.devices[name]
	if !ok {
		s = "UNKNOWN"
	}
	return &callapi.DeviceState{Name: name, State: s}, nil
}

func (p *nodeResPBX) SetDeviceState(_ context.Context, name, state string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.devices[name] = state
	return nil
}

func (p *nodeResPBX) DeleteDeviceState(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.devices[name]; !ok {
		return callapi.Errorf(callapi.CodeNotFound, "device state %s not found", name)
	}
	delete(p.devices, name)
	return nil
}

func (p *nodeResPBX) Mailboxes(context.Context) ([]*callapi.Mailbox, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*callapi.Mailbox
	for _, m := range p.mailboxes {
		out = append(out, &m)
	}
	return out, nil
}

func (p *nodeResPBX) Mailbox(_ context.Context, name string) (*callapi.Mailbox, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.mailboxes[name]
	if !ok {
		return nil, callapi.Errorf(callapi.CodeNotFound, "mailbox %s not found", name)
	}
	return &m, nil
}

func (p *nodeResPBX) SetMailbox(_ context.Context, m callapi.Mailbox) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mailboxes[m.Name] = m
	return nil
}

func (p *nodeResPBX) DeleteMailbox(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mailboxes[name]; !ok {
		return callapi.Errorf(callapi.CodeNotFound, "mailbox %s not found", name)
	}
	delete(p.mailboxes, name)
	return nil
}

func (p *nodeResPBX) GlobalVariable(_ context.Context, name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.globals[name], nil
}

func (p *nodeResPBX) SetGlobalVariable(_ context.Context, name, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.globals[name] = value
	return nil
}

// nodeResServer is a gateway over two nodes (pbx1, pbx2), each a real
// executor over its nodeResPBX, with auth: acme-app (tenant acme, with
// patterns), beta-app (tenant beta, with patterns), none-app (tenant
// none, without) and ops (admin).
func nodeResServer(t *testing.T) (http.Handler, map[callapi.NodeID]*nodeResPBX, func(client, secret string) string) {
	t.Helper()
	pbxs := map[callapi.NodeID]*nodeResPBX{
		"pbx1": newNodeResPBX("PJSIP/acme-alice", "PJSIP/beta-bob", "PJSIP/other"),
		"pbx2": newNodeResPBX("PJSIP/acme-carol"),
	}
	exec := func(n callapi.NodeID, cmd *callapi.Command) *callapi.Reply {
		x := &worker.Executor{Node: n, PBX: pbxs[n]}
		return x.Handle(context.Background(), cmd)
	}
	bus := &fakeBus{
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			n := callapi.NodeID(target)
			if pbxs[n] == nil {
				return nil, callapi.Errorf(callapi.CodeNodeUnavailable, "no node %s", n)
			}
			return exec(n, cmd), nil
		},
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			var out []*callapi.Reply
			for _, n := range expect {
				out = append(out, exec(n, cmd))
			}
			return out, nil
		},
	}
	reg := gateway.NewRegistry()
	for n := range pbxs {
		reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	}
	auth := AuthConfig{Enabled: true, SigningKey: testKey, Clients: []Client{
		{ID: "acme-app", SecretHash: mustHash(t, "a"), Tenant: "acme", Scopes: []string{ScopeCallsRead, ScopeCallsWrite}},
		{ID: "beta-app", SecretHash: mustHash(t, "b"), Tenant: "beta", Scopes: []string{ScopeCallsRead, ScopeCallsWrite}},
		{ID: "none-app", SecretHash: mustHash(t, "n"), Tenant: "none", Scopes: []string{ScopeCallsRead, ScopeCallsWrite}},
		{ID: "ops", SecretHash: mustHash(t, "o"), Tenant: "globex", Scopes: []string{ScopeAdmin}},
	}}
	tenants := callapi.TenantScopes{
		"acme": {Endpoints: []string{"PJSIP/acme-*"}, DeviceStates: []string{"Stasis:acme-*"}, Mailboxes: []string{"*@acme"}, Variables: []string{"ACME_*"}},
		"beta": {Endpoints: []string{"PJSIP/beta-*"}, DeviceStates: []string{"Stasis:beta-*"}, Mailboxes: []string{"*@beta"}, Variables: []string{"BETA_*"}},
	}
	s := MustNewServer(t, Config{Auth: auth, Tenants: tenants}, deps{calls: gateway.NewService(bus, reg, gateway.NewLocations(0)), nodes: reg})
	h := s.Handler()
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, h, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	return h, pbxs, tok
}

// names returns the "name@node" of each item of a listing's member key.
func names(t *testing.T, body []byte, key string) []string {
	t.Helper()
	var m map[string][]struct{ Name, Node string }
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	var out []string
	for _, it := range m[key] {
		out = append(out, it.Name+"@"+it.Node)
	}
	sort.Strings(out)
	return out
}

// TestNodeResourceRoutes: the node resource routes over two nodes and
// three tenants: listings merge the nodes (each item with its node) and
// show only the caller's names; another tenant's endpoint, device state,
// mailbox or global is 404 for reading and changing and absent from
// listings; a tenant without patterns sees nothing; an admin sees all; a
// change without ?node= reaches every node, with ?node= one.
func TestNodeResourceRoutes(t *testing.T) {
	h, pbxs, tok := nodeResServer(t)
	acme, beta, none, admin := tok("acme-app", "a"), tok("beta-app", "b"), tok("none-app", "n"), tok("ops", "o")
	as := func(auth string, status int, method, path, body string) []byte {
		t.Helper()
		rec := do(t, h, method, path, body, "Authorization", auth)
		if rec.Code != status {
			t.Fatalf("%s %s %s: %d %s, want %d", auth[len(auth)-6:], method, path, rec.Code, rec.Body, status)
		}
		return rec.Body.Bytes()
	}
	eq := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}

	// Endpoints.
	eq("acme endpoints", names(t, as(acme, 200, "GET", "/v1/endpoints", ""), "endpoints"), "PJSIP/acme-alice@pbx1", "PJSIP/acme-carol@pbx2")
	eq("beta endpoints", names(t, as(beta, 200, "GET", "/v1/endpoints", ""), "endpoints"), "PJSIP/beta-bob@pbx1")
	eq("none endpoints", names(t, as(none, 200, "GET", "/v1/endpoints", ""), "endpoints"))
	eq("admin endpoints", names(t, as(admin, 200, "GET", "/v1/endpoints", ""), "endpoints"), "PJSIP/acme-alice@pbx1", "PJSIP/acme-carol@pbx2", "PJSIP/beta-bob@pbx1", "PJSIP/other@pbx1")
	eq("acme endpoints of pbx2", names(t, as(acme, 200, "GET", "/v1/endpoints?node=pbx2", ""), "endpoints"), "PJSIP/acme-carol@pbx2")
	var ep callapi.Endpoint
	mustUnmarshal(t, as(acme, 200, "GET", "/v1/endpoints/PJSIP/acme-carol", ""), &ep)
	if ep.Node != "pbx2" || ep.Technology != "PJSIP" || ep.Resource != "acme-carol" || ep.State != "online" {
		t.Errorf("endpoint %+v", ep)
	}
	as(acme, 404, "GET", "/v1/endpoints/PJSIP/beta-bob", "")
	as(none, 404, "GET", "/v1/endpoints/PJSIP/acme-alice", "")
	as(acme, 404, "GET", "/v1/endpoints/PJSIP/acme-alice?node=pbx2", "") // on pbx1 only
	as(admin, 200, "GET", "/v1/endpoints/PJSIP/other", "")

	// Device states: set on every node, or one.
	as(acme, 204, "PUT", "/v1/device-states/Stasis:acme-q1", `{"state":"BUSY"}`)
	as(beta, 204, "PUT", "/v1/device-states/Stasis:beta-q1?node=pbx2", `{"state":"INUSE"}`)
	for n, p := range pbxs {
		if p.devices["Stasis:acme-q1"] != "BUSY" {
			t.Errorf("%s: acme's device %v", n, p.devices)
		}
	}
	if _, on1 := pbxs["pbx1"].devices["Stasis:beta-q1"]; on1 {
		t.Error("?node=pbx2 set pbx1's device")
	}
	eq("acme devices", names(t, as(acme, 200, "GET", "/v1/device-states", ""), "device_states"), "Stasis:acme-q1@pbx1", "Stasis:acme-q1@pbx2")
	eq("beta devices", names(t, as(beta, 200, "GET", "/v1/device-states", ""), "device_states"), "Stasis:beta-q1@pbx2")
	var ds callapi.DeviceState
	mustUnmarshal(t, as(acme, 200, "GET", "/v1/device-states/Stasis:acme-q1", ""), &ds)
	if ds.State != "BUSY" || ds.Node != "pbx1" {
		t.Errorf("device state %+v", ds)
	}
	as(acme, 404, "GET", "/v1/device-states/Stasis:beta-q1", "")
	as(acme, 404, "PUT", "/v1/device-states/Stasis:beta-q1", `{"state":"NOT_INUSE"}`)
	as(acme, 404, "DELETE", "/v1/device-states/Stasis:beta-q1", "")
	as(none, 404, "PUT", "/v1/device-states/Stasis:acme-q1", `{"state":"NOT_INUSE"}`)
	as(acme, 404, "GET", "/v1/device-states/PJSIP%2Fbeta-bob", "") // escaped slash: one name, another tenant's
	as(admin, 200, "GET", "/v1/device-states/PJSIP%2Fbeta-bob", "")
	if pbxs["pbx2"].devices["Stasis:beta-q1"] != "INUSE" {
		t.Error("beta's device changed by acme")
	}
	as(acme, 204, "DELETE", "/v1/device-states/Stasis:acme-q1?node=pbx1", "")
	eq("acme devices after delete on pbx1", names(t, as(acme, 200, "GET", "/v1/device-states", ""), "device_states"), "Stasis:acme-q1@pbx2")
	as(acme, 404, "DELETE", "/v1/device-states/Stasis:acme-q1", "") // gone from pbx1: every node must take it

	// Mailboxes.
	as(acme, 204, "PUT", "/v1/mailboxes/1000@acme", `{"old_messages":1,"new_messages":4}`)
	as(beta, 204, "PUT", "/v1/mailboxes/1000@beta", `{"new_messages":2}`)
	var mb callapi.Mailbox
	mustUnmarshal(t, as(acme, 200, "GET", "/v1/mailboxes/1000@acme?node=pbx2", ""), &mb)
	if mb.OldMessages != 1 || mb.NewMessages != 4 || mb.Node != "pbx2" {
		t.Errorf("mailbox %+v", mb)
	}
	eq("acme mailboxes", names(t, as(acme, 200, "GET", "/v1/mailboxes", ""), "mailboxes"), "1000@acme@pbx1", "1000@acme@pbx2")
	as(acme, 404, "GET", "/v1/mailboxes/1000@beta", "")
	as(acme, 404, "PUT", "/v1/mailboxes/1000@beta", `{"new_messages":9}`)
	as(acme, 404, "DELETE", "/v1/mailboxes/1000@beta", "")
	eq("none mailboxes", names(t, as(none, 200, "GET", "/v1/mailboxes", ""), "mailboxes"))
	as(beta, 204, "DELETE", "/v1/mailboxes/1000@beta", "")
	as(beta, 404, "GET", "/v1/mailboxes/1000@beta", "")

	// Globals.
	as(acme, 204, "PUT", "/v1/globals/ACME_NIGHT", `{"value":"1"}`)
	var v callapi.Variable
	mustUnmarshal(t, as(acme, 200, "GET", "/v1/globals/ACME_NIGHT?node=pbx2", ""), &v)
	if v.Name != "ACME_NIGHT" || v.Value != "1" {
		t.Errorf("global %+v", v)
	}
	as(beta, 404, "GET", "/v1/globals/ACME_NIGHT", "")
	as(beta, 404, "PUT", "/v1/globals/ACME_NIGHT", `{"value":"0"}`)
	as(none, 404, "GET", "/v1/globals/ACME_NIGHT", "")
	if pbxs["pbx1"].globals["ACME_NIGHT"] != "1" {
		t.Error("beta changed acme's global")
	}
	mustUnmarshal(t, as(admin, 200, "GET", "/v1/globals/ACME_NIGHT", ""), &v)
}

// TestNodeResourceBadInput: every node resource operation refuses bad
// input with 400 invalid_argument naming the field (or a clear code).
func TestNodeResourceBadInput(t *testing.T) {
	h, _, tok := nodeResServer(t)
	admin := tok("ops", "o")
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"GET", "/v1/endpoints?node=a.b", "", 400, "invalid_argument", "node"},
		{"GET", "/v1/endpoints?bogus=1", "", 400, "invalid_argument", ""},
		{"GET", "/v1/endpoints/PJSIP/a%2Fb", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/endpoints/PJ%20SIP/alice", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/endpoints/PJSIP/alice?node=nope", "", 503, "node_unavailable", ""},
		{"GET", "/v1/device-states?node=", "", 400, "invalid_argument", "node"},
		{"GET", "/v1/device-states/bad%20name", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/device-states/..%2Fx", "", 400, "invalid_argument", "name"},
		{"PUT", "/v1/device-states/Stasis:q1", `{"state":"SLEEPING"}`, 400, "invalid_argument", "state"},
		{"PUT", "/v1/device-states/Stasis:q1", `{}`, 400, "invalid_argument", "state"},
		{"PUT", "/v1/device-states/PJSIP%2Falice", `{"state":"BUSY"}`, 400, "invalid_argument", "name"},
		{"PUT", "/v1/device-states/Stasis:q1", `{"state":"BUSY","x":1}`, 400, "invalid_argument", ""},
		{"PUT", "/v1/device-states/Stasis:q1", `not json`, 400, "invalid_argument", ""},
		{"PUT", "/v1/device-states/Stasis:q1", ``, 400, "invalid_argument", ""},
		{"DELETE", "/v1/device-states/bad%20name", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/mailboxes/-x", "", 400, "invalid_argument", "name"},
		{"PUT", "/v1/mailboxes/1000@acme", `{"new_messages":-1}`, 400, "invalid_argument", "new_messages"},
		{"PUT", "/v1/mailboxes/1000@acme", `{"old_messages":1000001}`, 400, "invalid_argument", "old_messages"},
		{"PUT", "/v1/mailboxes/1000@acme", `{"new_messages":"2"}`, 400, "invalid_argument", ""},
		{"DELETE", "/v1/mailboxes/a%20b", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/globals/BAD-NAME", "", 400, "invalid_argument", "name"},
		{"GET", "/v1/globals/SHELL(rm)", "", 400, "invalid_argument", "name"},
		{"PUT", "/v1/globals/CALLGW_TENANT", `{"value":"x"}`, 400, "invalid_argument", "name"},
		{"PUT", "/v1/globals/X", `{"value":"a\nb"}`, 400, "invalid_argument", "value"},
		{"PUT", "/v1/globals/X", `{"value":"` + strings.Repeat("v", callapi.MaxVariableValueLen+1) + `"}`, 400, "invalid_argument", "value"},
		{"PUT", "/v1/globals/X", `{"val":"x"}`, 400, "invalid_argument", ""},
	} {
		rec := do(t, h, tc.method, tc.path, tc.body, "Authorization", admin)
		if rec.Code != tc.status {
			t.Errorf("%s %s %.40s: %d, want %d: %s", tc.method, tc.path, tc.body, rec.Code, tc.status, rec.Body)
			continue
		}
		var p struct{ Code, Field string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || p.Code != tc.code || (tc.field != "" && p.Field != tc.field) {
			t.Errorf("%s %s %.40s: %s %s, want code %s field %s", tc.method, tc.path, tc.body, ct, rec.Body, tc.code, tc.field)
		}
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}
