package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// earlyPBX owns PJSIP/mine for the default tenant; every other endpoint is
// another tenant's (not_found), as asterisk.PBX answers.
type earlyPBX struct{ *fakepbx.Full }

func (p earlyPBX) SendMessage(_ context.Context, tenant string, a callapi.MessageArgs) error {
	if a.To != "PJSIP/mine" || tenant != callapi.DefaultTenant {
		return callapi.Errorf(callapi.CodeNotFound, "endpoint %s not found", a.To)
	}
	return nil
}

// TestEarlyRoutes: POST /v1/calls/create, /v1/calls/{id}/dial and
// /v1/messages through the service and a real executor: results, bad
// input as 400 problem+json naming the field, another tenant's endpoint 404.
func TestEarlyRoutes(t *testing.T) {
	x := &worker.Executor{Node: "pbx1", PBX: earlyPBX{fakepbx.NewFull(&callapi.Call{ID: "c1", Tenant: callapi.DefaultTenant, Node: "pbx1"})}}
	bus := &fakeBus{
		RequestFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			return x.Handle(context.Background(), cmd), nil
		},
		GatherFn: func(_ context.Context, cmd *callapi.Command, _ []callapi.NodeID) ([]*callapi.Reply, error) {
			return []*callapi.Reply{x.Handle(context.Background(), cmd)}, nil
		},
	}
	h := serviceServer(t, bus, Config{}).Handler()
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"POST", "/v1/calls/create", `{"to":"PJSIP/alice","tags":["t1"]}`, 201, "", ""},
		{"POST", "/v1/calls/create", `{}`, 400, "invalid_argument", "to"},
		{"POST", "/v1/calls/create", `{"to":"PJSIP/alice","variables":{"CALLGW_TENANT":"x"}}`, 400, "invalid_argument", "variables"},
		{"POST", "/v1/calls/create", `{"to":"PJSIP/alice","node":"a.b"}`, 400, "invalid_argument", "node"},
		{"POST", "/v1/calls/create", `{"to":"PJSIP/alice","bogus":1}`, 400, "invalid_argument", ""},
		{"POST", "/v1/calls/c1/dial", `{"timeout":30}`, 204, "", ""},
		{"POST", "/v1/calls/c1/dial", ``, 204, "", ""},
		{"POST", "/v1/calls/c1/dial", `{"timeout":-5}`, 400, "invalid_argument", "timeout"},
		{"POST", "/v1/messages", `{"to":"PJSIP/mine","from":"sip:shop@pbx","body":"hi"}`, 202, "", ""},
		{"POST", "/v1/messages", `{"to":"PJSIP/theirs","from":"sip:shop@pbx","body":"hi"}`, 404, "not_found", ""},
		{"POST", "/v1/messages", `{"to":"PJSIP/mine"}`, 400, "invalid_argument", "from"},
		{"POST", "/v1/messages", `{"to":"mine","from":"sip:a@b"}`, 400, "invalid_argument", "to"},
		{"POST", "/v1/messages", `{"to":"PJSIP/mine","from":"sip:a@b","body":"` + strings.Repeat("x", callapi.MaxMessageBody+1) + `"}`, 400, "invalid_argument", "body"},
	} {
		rec := do(t, h, tc.method, tc.path, tc.body)
		if rec.Code != tc.status {
			t.Errorf("%s %s %.60s: %d, want %d: %s", tc.method, tc.path, tc.body, rec.Code, tc.status, rec.Body)
			continue
		}
		if tc.code == "" {
			continue
		}
		var p struct{ Code, Field string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || p.Code != tc.code || (tc.field != "" && p.Field != tc.field) {
			t.Errorf("%s %.60s: %s %s, want code %s field %s", tc.path, tc.body, ct, rec.Body, tc.code, tc.field)
		}
	}
	rec := do(t, h, "POST", "/v1/calls/create", `{"to":"PJSIP/alice"}`)
	var c callapi.Call
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.State != callapi.StateDown || rec.Header().Get("Location") != "/v1/calls/"+string(c.ID) {
		t.Errorf("created %s (%v), Location %q", rec.Body, err, rec.Header().Get("Location"))
	}
	if rec := do(t, h, "POST", "/v1/messages", `{"to":"PJSIP/mine","from":"sip:a@b"}`); rec.Code == http.StatusAccepted && !strings.Contains(rec.Body.String(), `"node":"pbx1"`) {
		t.Errorf("message sent: %s", rec.Body)
	}
}
