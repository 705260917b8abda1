package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/internal/testenv"
)

// Asterisk's channel counter is PBX-wide: only admin tokens read channel
// names with it; a tenant's token sees them without it, on call reads,
// listings, originate answers and variables.
func TestChannelCounterAdminOnly(t *testing.T) {
	const full, hidden = "PJSIP/alice-0000002a", "PJSIP/alice"
	call := func(tenant string) *callapi.Call {
		return &callapi.Call{ID: "c1", Node: "pbx1", Tenant: tenant, State: callapi.StateUp, Channel: full}
	}
	fc := &fakeCalls{
		CallFn: func(_ context.Context, o gateway.Options, id callapi.CallID) (*callapi.Call, error) {
			return call(o.Tenant), nil
		},
		CallsFn: func(_ context.Context, o gateway.Options, _ gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
			return []*callapi.Call{call(o.Tenant)}, nil, nil
		},
		OriginateFn: func(_ context.Context, o gateway.Options, _ callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
			return call(o.Tenant), nil, nil
		},
		CallActionFn: func(_ context.Context, _ gateway.Options, _ callapi.CallID, _ callapi.Action, _, out any) (*callapi.Accepted, error) {
			*out.(*callapi.Variable) = callapi.Variable{Name: "BRIDGEPEER", Value: full + ",Local/x@ctx-0000002b;2"}
			return nil, nil
		},
	}
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{calls: fc})
	token := func(id, secret string) string {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tok.AccessToken
	}
	for _, who := range []struct {
		name, auth string
		want       string
		wantVar    string
	}{
		{"tenant", token("acme-app", "s3cret"), hidden, hidden + ",Local/x@ctx;2"},
		{"admin", token("ops", "o"), full, full + ",Local/x@ctx-0000002b;2"},
	} {
		for _, req := range []struct{ method, path, body, member string }{
			{"GET", "/v1/calls/c1", "", "channel"},
			{"GET", "/v1/calls", "", "calls.0.channel"},
			{"POST", "/v1/calls", `{"to":"PJSIP/alice"}`, "channel"},
			{"GET", "/v1/calls/c1/variables/BRIDGEPEER", "", "value"},
		} {
			hdr := []string{"Authorization", who.auth}
			if req.body != "" {
				hdr = append(hdr, "Content-Type", "application/json")
			}
			rec := do(t, s.Handler(), req.method, req.path, req.body, hdr...)
			if rec.Code >= 300 {
				t.Fatalf("%s %s %s: %d %s", who.name, req.method, req.path, rec.Code, rec.Body)
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			for _, k := range strings.Split(req.member, ".") {
				switch x := v.(type) {
				case map[string]any:
					v = x[k]
				case []any:
					v = x[0]
				}
			}
			want := who.want
			if req.member == "value" {
				want = who.wantVar
			}
			if v != want {
				t.Errorf("%s %s %s: %s = %v, want %s", who.name, req.method, req.path, req.member, v, want)
			}
		}
	}
}

// An event stream shows a tenant no channel counter, even in an event of
// a worker that left it in; an admin's stream keeps it.
func TestStreamHidesChannelCounter(t *testing.T) {
	hub := NewHub(HubConfig{})
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{events: hub})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer http.DefaultClient.CloseIdleConnections()
	e := ev("e1", callapi.EvCallCreated, "c1")
	e.Data = json.RawMessage(`{"id":"c1","channel":"PJSIP/alice-0000002a"}`)
	e.ARI = json.RawMessage(`{"type":"StasisStart","channel":{"id":"c1","name":"Local/a@ctx-0000002b;1"}}`)
	for _, who := range []struct{ id, secret, tenant, want string }{
		{"acme-app", "s3cret", "acme", `"PJSIP/alice","Local/a@ctx;1"`},
		{"ops", "o", "globex", `"PJSIP/alice-0000002a","Local/a@ctx-0000002b;1"`},
	} {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {who.id}, "client_secret": {who.secret}})
		resp, rd := openSSE(t, ts.URL+"/v1/events", "Authorization", "Bearer "+tok.AccessToken)
		testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
		cp := *e
		cp.Tenant = who.tenant
		hub.Publish(&cp)
		m, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Data struct{ Channel string }
			ARI  struct{ Channel struct{ Name string } }
		}
		if err := json.Unmarshal([]byte(m.data), &got); err != nil {
			t.Fatal(err)
		}
		if g := `"` + got.Data.Channel + `","` + got.ARI.Channel.Name + `"`; g != who.want {
			t.Errorf("%s sees %s, want %s", who.id, g, who.want)
		}
		resp.Body.Close()
		testenv.WaitFor(t, "unsubscribed", 5*time.Second, func() bool { return hub.Stats().Subscribers == 0 })
	}
}
