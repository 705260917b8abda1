package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestNodeResourceMethods: the node resource methods send the paths (a
// device name with a slash escaped as one segment), ?node= and bodies of
// openapi.json, and decode the answers.
func TestNodeResourceMethods(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		line := r.Method + " " + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		got = append(got, strings.TrimSpace(line+" "+string(b)))
		w.Header().Set("Content-Type", "application/json")
		var out any
		switch {
		case r.Method != http.MethodGet:
			w.WriteHeader(http.StatusNoContent)
			return
		case r.URL.Path == "/v1/endpoints":
			out = EndpointList{Endpoints: []*callapi.Endpoint{{Name: "PJSIP/alice", Node: "pbx1", State: "online"}}, MissingNodes: []string{}}
		case strings.HasPrefix(r.URL.Path, "/v1/endpoints/"):
			out = callapi.Endpoint{Name: "PJSIP/alice", Node: "pbx2", Technology: "PJSIP", Resource: "alice", State: "offline"}
		case r.URL.Path == "/v1/device-states":
			out = DeviceStateList{DeviceStates: []*callapi.DeviceState{{Name: "Stasis:q1", State: "BUSY"}}}
		case strings.HasPrefix(r.URL.Path, "/v1/device-states/"):
			out = callapi.DeviceState{Name: strings.TrimPrefix(r.URL.Path, "/v1/device-states/"), State: "INUSE"}
		case r.URL.Path == "/v1/mailboxes":
			out = MailboxList{Mailboxes: []*callapi.Mailbox{{Name: "1000@acme", NewMessages: 2}}}
		case strings.HasPrefix(r.URL.Path, "/v1/mailboxes/"):
			out = callapi.Mailbox{Name: "1000@acme", OldMessages: 1, NewMessages: 2}
		case strings.HasPrefix(r.URL.Path, "/v1/globals/"):
			out = callapi.Variable{Name: "ACME_X", Value: "on"}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer ts.Close()
	c, err := New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if l, err := c.ListEndpoints(ctx); err != nil || len(l.Endpoints) != 1 || l.Endpoints[0].Node != "pbx1" {
		t.Fatalf("ListEndpoints %+v %v", l, err)
	}
	if e, err := c.GetEndpoint(ctx, "PJSIP/alice", OnNode("pbx2")); err != nil || e.State != "offline" || e.Node != "pbx2" {
		t.Fatalf("GetEndpoint %+v %v", e, err)
	}
	if _, err := c.GetEndpoint(ctx, "alice"); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("GetEndpoint without technology: %v", err)
	}
	if l, err := c.ListDeviceStates(ctx); err != nil || l.DeviceStates[0].State != "BUSY" {
		t.Fatalf("ListDeviceStates %+v %v", l, err)
	}
	if d, err := c.GetDeviceState(ctx, "PJSIP/alice"); err != nil || d.Name != "PJSIP/alice" {
		t.Fatalf("GetDeviceState %+v %v", d, err)
	}
	if err := c.SetDeviceState(ctx, "Stasis:q1", "BUSY", OnNode("pbx1")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDeviceState(ctx, "Stasis:q1"); err != nil {
		t.Fatal(err)
	}
	if l, err := c.ListMailboxes(ctx); err != nil || l.Mailboxes[0].NewMessages != 2 {
		t.Fatalf("ListMailboxes %+v %v", l, err)
	}
	if m, err := c.GetMailbox(ctx, "1000@acme"); err != nil || m.OldMessages != 1 {
		t.Fatalf("GetMailbox %+v %v", m, err)
	}
	if err := c.SetMailbox(ctx, "1000@acme", 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMailbox(ctx, "1000@acme"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetGlobalVariable(ctx, "ACME_X"); err != nil || v != "on" {
		t.Fatalf("GetGlobalVariable %q %v", v, err)
	}
	if err := c.SetGlobalVariable(ctx, "ACME_X", "off"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /v1/endpoints",
		"GET /v1/endpoints/PJSIP/alice?node=pbx2",
		"GET /v1/device-states",
		"GET /v1/device-states/PJSIP%2Falice",
		`PUT /v1/device-states/Stasis:q1?node=pbx1 {"state":"BUSY"}`,
		"DELETE /v1/device-states/Stasis:q1",
		"GET /v1/mailboxes",
		"GET /v1/mailboxes/1000@acme",
		`PUT /v1/mailboxes/1000@acme {"new_messages":2,"old_messages":1}`,
		"DELETE /v1/mailboxes/1000@acme",
		"GET /v1/globals/ACME_X",
		`PUT /v1/globals/ACME_X {"value":"off"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
