package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// TestAdminAcrossTenants: through the whole system with token auth, on two
// nodes: an admin token lists every tenant's live calls on every node
// (GET /v1/calls?tenant=*), each with its tenant, while a tenant's token
// may not ask it (403) and lists its own calls only; the admin hangs up
// beta's call by naming its tenant, which beta's token then reads as ended
// by the API; acme's token gets 404 on beta's call, and 403 when it names
// beta.
func TestAdminAcrossTenants(t *testing.T) {
	s := startStackWith(t, &system{auth: consoleClients(t)}, "pbx1", "pbx2")
	acme, beta, ops := s.token("acme"), s.token("beta"), s.token("ops")
	s.waitRoutable("Authorization", acme)
	originate := func(token, node string) callapi.CallID {
		t.Helper()
		st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "node": node, "wait": "answered"}, "Authorization", token)
		var c callapi.Call
		if mustJSON(t, b, &c); st != http.StatusCreated {
			t.Fatalf("originate on %s: %d %s", node, st, b)
		}
		return c.ID
	}
	a, b := originate(acme, "pbx1"), originate(beta, "pbx2")
	type list struct {
		Calls   []callapi.Call   `json:"calls"`
		Missing []callapi.NodeID `json:"missing_nodes"`
	}
	tenants := func(token, query string) map[callapi.CallID]string {
		t.Helper()
		st, _, body := s.do("GET", "/v1/calls"+query, nil, "Authorization", token)
		var l list
		if mustJSON(t, body, &l); st != http.StatusOK || len(l.Missing) != 0 {
			t.Fatalf("GET /v1/calls%s: %d %s", query, st, body)
		}
		out := map[callapi.CallID]string{}
		for _, c := range l.Calls {
			out[c.ID] = c.Tenant
		}
		return out
	}
	if all := tenants(ops, "?tenant=*"); all[a] != "acme" || all[b] != "beta" {
		t.Fatalf("the admin's list of every tenant: %v, want %s of acme and %s of beta", all, a, b)
	}
	if own := tenants(acme, ""); own[a] != "acme" || own[b] != "" {
		t.Fatalf("acme's list: %v", own)
	}
	if own := tenants(ops, ""); len(own) != 0 {
		t.Fatalf("the admin's list without tenant=*: %v, want its own tenant's (none)", own)
	}
	if st, _, body := s.do("GET", "/v1/calls?tenant=*", nil, "Authorization", acme); st != http.StatusForbidden {
		t.Fatalf("acme asks every tenant's calls: %d %s", st, body)
	}
	for _, q := range []struct {
		method, token, query string
		want                 int
	}{
		{"GET", acme, "", http.StatusNotFound},
		{"DELETE", acme, "", http.StatusNotFound},
		{"DELETE", acme, "?tenant=beta", http.StatusForbidden},
		{"DELETE", ops, "", http.StatusNotFound}, // without the tenant, an admin's too
		{"GET", ops, "?tenant=beta", http.StatusOK},
		{"DELETE", ops, "?tenant=beta", http.StatusNoContent},
	} {
		if st, _, body := s.do(q.method, "/v1/calls/"+string(b)+q.query, nil, "Authorization", q.token); st != q.want {
			t.Fatalf("%s of beta's call%s by %s: %d %s, want %d", q.method, q.query, map[string]string{acme: "acme", ops: "the admin"}[q.token], st, body, q.want)
		}
	}
	// the call's record is built from its call.hangup event, which reaches
	// the gateway a moment after the DELETE's answer
	var (
		st    int
		body  []byte
		ended callapi.Call
	)
	testenv.WaitFor(t, "beta reads its call ended", 5*time.Second, func() bool {
		st, _, body = s.do("GET", "/v1/calls/"+string(b), nil, "Authorization", beta)
		return st == http.StatusOK
	})
	if mustJSON(t, body, &ended); ended.State != callapi.StateEnded || ended.EndReason != "api" {
		t.Fatalf("beta reads its call hung up by the admin: %d %s", st, body)
	}
	if st, _, body := s.do("GET", "/v1/calls/"+string(a), nil, "Authorization", acme); st != http.StatusOK {
		t.Fatalf("acme's call after the admin's hangup of beta's: %d %s", st, body)
	} else if mustJSON(t, body, &ended); ended.State != callapi.StateUp {
		t.Fatalf("acme's call is no longer up: %s", body)
	}
	s.do("DELETE", "/v1/calls/"+string(a), nil, "Authorization", acme)
}
