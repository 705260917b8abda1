package restapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestCrossTenantProbes: with a token of tenant globex, acting on a call or
// bridge of tenant acme (whose location the gateway has cached) answers
// exactly like acting on an id that does not exist: 404, sync and async
// (Prefer: respond-async must not answer 202 with the owner's node), and
// no command reaches a worker. Issue 12, finding 1.
func TestCrossTenantProbes(t *testing.T) {
	type key struct{ kind, id string }
	owned := map[key]callapi.NodeID{{"call", "c1"}: "pbx1", {"bridge", "b1"}: "pbx1"}
	var (
		mu   sync.Mutex
		sent []*callapi.Command
	)
	reply := func(cmd *callapi.Command, node callapi.NodeID) *callapi.Reply {
		k := key{"call", string(cmd.CallID)}
		if cmd.BridgeID != "" {
			k = key{"bridge", string(cmd.BridgeID)}
		}
		if n, ok := owned[k]; !ok || n != node || cmd.Tenant != "acme" {
			return callapi.ErrReply(cmd.ID, node, callapi.Errorf(callapi.CodeNotFound, "%s %s not found", k.kind, k.id))
		}
		switch cmd.Action {
		case callapi.ActCallLocate, callapi.ActBridgeLocate:
			return callapi.OKReply(cmd.ID, node, callapi.LocateResult{Node: node})
		case callapi.ActBridgeGet:
			return callapi.OKReply(cmd.ID, node, &callapi.Bridge{ID: cmd.BridgeID, Node: node, Tenant: cmd.Tenant})
		default:
			return callapi.OKReply(cmd.ID, node, &callapi.Call{ID: cmd.CallID, Node: node, Tenant: cmd.Tenant})
		}
	}
	record := func(cmd *callapi.Command) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, cmd)
	}
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			var out []*callapi.Reply
			for _, n := range expect {
				out = append(out, reply(cmd, n))
			}
			return out, nil
		},
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			record(cmd)
			return reply(cmd, callapi.NodeID(target)), nil
		},
		SendFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) error {
			record(cmd)
			return nil
		},
	}
	cfg := Config{Auth: authConfig(t)}
	cfg.Auth.Clients = append(cfg.Auth.Clients, Client{ID: "globex-app", SecretHash: mustHash(t, "g"), Tenant: "globex", Scopes: []string{ScopeCallsRead, ScopeCallsWrite}})
	s := serviceServer(t, bus, cfg)
	h := s.Handler()
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, h, map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	acme, globex := tok("acme-app", "s3cret"), tok("globex-app", "g")

	// The owner's reads put the locations into the gateway's cache (again
	// before every probe: a probe's not_found may evict them).
	prime := func() {
		t.Helper()
		for _, p := range []string{"/v1/calls/c1", "/v1/bridges/b1"} {
			if rec := do(t, h, "GET", p, "", "Authorization", acme); rec.Code != 200 {
				t.Fatalf("owner GET %s: %d %s", p, rec.Code, rec.Body)
			}
		}
		mu.Lock()
		sent = nil
		mu.Unlock()
	}

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/calls/%s", ""},
		{"DELETE", "/v1/calls/%s", ""},
		{"POST", "/v1/calls/%s/hold", ""},
		{"POST", "/v1/calls/%s/dtmf", `{"digits":"1"}`},
		{"PUT", "/v1/calls/%s/variables/FOO", `{"value":"x"}`},
		{"GET", "/v1/bridges/%s", ""},
		{"DELETE", "/v1/bridges/%s", ""},
		{"POST", "/v1/bridges/%s/calls", `{"call_id":"c9"}`},
	} {
		for _, async := range []bool{false, true} {
			id := "c1"
			if tc.path[4] == 'b' {
				id = "b1"
			}
			probe := func(id string) (int, Problem) {
				hdr := []string{"Authorization", globex}
				if async {
					hdr = append(hdr, "Prefer", "respond-async")
				}
				rec := do(t, h, tc.method, fmt.Sprintf(tc.path, id), tc.body, hdr...)
				var p Problem
				_ = json.Unmarshal(rec.Body.Bytes(), &p)
				return rec.Code, p
			}
			prime()
			realCode, realP := probe(id)
			fakeCode, fakeP := probe(id + "x")
			mu.Lock()
			for _, cmd := range sent {
				t.Errorf("%s %s async=%v: a %s command of tenant %s reached a worker", tc.method, tc.path, async, cmd.Action, cmd.Tenant)
			}
			mu.Unlock()
			if realCode != 404 || fakeCode != 404 || realP.Code != fakeP.Code {
				t.Errorf("%s %s async=%v: other tenant's id %d %s, missing id %d %s; want both 404",
					tc.method, tc.path, async, realCode, realP.Code, fakeCode, fakeP.Code)
			}
		}
	}
}

// TestNodesHideCallCounts: a node's call count is node-wide (all tenants),
// so only admin tokens see it. Issue 12, finding 1.
func TestNodesHideCallCounts(t *testing.T) {
	nodes := &fakeNodes{nodes: []callapi.Node{{Heartbeat: callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Calls: 3}}}}
	cfg := Config{Auth: authConfig(t)}
	cfg.Auth.Clients = append(cfg.Auth.Clients, Client{ID: "acme-nodes", SecretHash: mustHash(t, "n"), Tenant: "acme", Scopes: []string{ScopeNodesRead}})
	s := MustNewServer(t, cfg, deps{nodes: nodes})
	h := s.Handler()
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, h, map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	for _, tc := range []struct {
		who, tok  string
		wantCalls bool
	}{{"tenant", tok("acme-nodes", "n"), false}, {"admin", tok("ops", "o"), true}} {
		for _, path := range []string{"/v1/nodes", "/v1/nodes/pbx1"} {
			rec := do(t, h, "GET", path, "", "Authorization", tc.tok)
			has := strings.Contains(rec.Body.String(), `"calls":3`)
			if rec.Code != 200 || has != tc.wantCalls || (!tc.wantCalls && strings.Contains(rec.Body.String(), `"calls"`)) {
				t.Errorf("%s %s: %d %s (want calls shown: %v)", tc.who, path, rec.Code, rec.Body, tc.wantCalls)
			}
		}
	}
}
