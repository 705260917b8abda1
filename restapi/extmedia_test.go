package restapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// extPBX has call c1 of the default tenant and allows 10.0.0.5:4000 only,
// as asterisk.PBX with that allow-list answers.
type extPBX struct{ *fakepbx.Full }

func (p extPBX) StartExternalMedia(ctx context.Context, tenant string, id callapi.CallID, a callapi.ExternalMediaArgs) (*callapi.ExternalMedia, error) {
	if !(callapi.ExternalMediaTargets{callapi.DefaultTenant: {"10.0.0.5:4000"}}).Allows(tenant, a.Effective().Transport, a.Host) {
		return nil, callapi.Errorf(callapi.CodeForbidden, "external media to %s is not allowed for this tenant", a.Host)
	}
	if id != "c1" {
		return nil, callapi.Errorf(callapi.CodeNotFound, "call %s not found", id)
	}
	return p.Full.StartExternalMedia(ctx, tenant, id, a)
}

func (p extPBX) StopExternalMedia(_ context.Context, _ string, id callapi.CallID, mediaID string) error {
	if id != "c1" || mediaID != "m1" {
		return callapi.Errorf(callapi.CodeNotFound, "external media %s not found", mediaID)
	}
	return nil
}

// TestExternalMediaRoutes: POST /v1/calls/{id}/external-media and DELETE
// …/external-media/{media_id} through the service and a real executor: the
// gateway names the media (201 + Location), a destination off the
// allow-list is 403 forbidden, bad input 400 naming the field, an unknown
// call or media 404.
func TestExternalMediaRoutes(t *testing.T) {
	x := &worker.Executor{Node: "pbx1", PBX: extPBX{fakepbx.NewFull(&callapi.Call{ID: "c1", Tenant: callapi.DefaultTenant, Node: "pbx1"})}}
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
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000","format":"slin16"}`, 201, "", ""},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.6:4000"}`, 403, "forbidden", ""},
		{"POST", "/v1/calls/c1/external-media", `{"host":"bot","transport":"websocket"}`, 403, "forbidden", ""},
		{"POST", "/v1/calls/c1/external-media", `{}`, 400, "invalid_argument", "host"},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5"}`, 400, "invalid_argument", "host"},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000","transport":"sctp"}`, 400, "invalid_argument", "transport"},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000","encapsulation":"audiosocket","transport":"udp"}`, 400, "invalid_argument", "transport"},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000","format":"mp3"}`, 400, "invalid_argument", "format"},
		{"POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000","media_id":"mine"}`, 400, "invalid_argument", ""},
		{"POST", "/v1/calls/c2/external-media", `{"host":"10.0.0.5:4000"}`, 404, "not_found", ""},
		{"DELETE", "/v1/calls/c1/external-media/m1", ``, 204, "", ""},
		{"DELETE", "/v1/calls/c1/external-media/m2", ``, 404, "not_found", ""},
		{"DELETE", "/v1/calls/c1/external-media/a%20b", ``, 400, "invalid_argument", "media_id"},
	} {
		rec := do(t, h, tc.method, tc.path, tc.body)
		if rec.Code != tc.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.method, tc.path, tc.body, rec.Code, tc.status, rec.Body)
			continue
		}
		if tc.code == "" {
			continue
		}
		var p struct{ Code, Field string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || p.Code != tc.code || (tc.field != "" && p.Field != tc.field) {
			t.Errorf("%s %s: %s %s, want code %s field %s", tc.path, tc.body, ct, rec.Body, tc.code, tc.field)
		}
	}
	rec := do(t, h, "POST", "/v1/calls/c1/external-media", `{"host":"10.0.0.5:4000"}`)
	var m callapi.ExternalMedia
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.ID == "" || m.Transport != "udp" || m.Format != "ulaw" || rec.Header().Get("Location") != "/v1/calls/c1/external-media/"+m.ID {
		t.Errorf("created %s (%v), Location %q", rec.Body, err, rec.Header().Get("Location"))
	}
}
