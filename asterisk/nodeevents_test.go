package asterisk

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// nodeEvents waits until sink holds n events of the node resource types
// and returns them as "type tenant subject detail" lines, in order.
func nodeEvents(t *testing.T, sink *recSink, n int) []string {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = nil
		sink.mu.Lock()
		for _, e := range sink.evs {
			if callapi.KindOfEvent(e.Type) == "" {
				continue
			}
			var d struct {
				State, Status string
				New           int `json:"new_messages"`
			}
			_ = json.Unmarshal(e.Data, &d)
			if e.Node != "pbx1" {
				t.Errorf("%s from node %q", e.Type, e.Node)
			}
			got = append(got, fmt.Sprintf("%s %s %s %s%s", e.Type, e.Tenant, e.SubjectID(), d.State+d.Status, map[bool]string{true: fmt.Sprint(d.New), false: ""}[e.Type == callapi.EvMailboxChanged]))
		}
		sink.mu.Unlock()
		if len(got) >= n {
			break
		}
	}
	return got
}

// TestNodeResourceEvents: a phone registering and unregistering on the
// simulator (whose events are Asterisk 22's), custom device states and
// mailbox changes become endpoint.contact, endpoint.state, endpoint.peer,
// device_state.changed, mailbox.changed and mailbox.deleted, each once
// for every tenant whose patterns hold the name, and for the worker's
// tenant when none does; an EndpointStateChange that does not change the
// state (a call on the endpoint) publishes nothing.
func TestNodeResourceEvents(t *testing.T) {
	srv, ts := newSim(t)
	srv.AddEndpoint("acme-alice", arisim.Endpoint{Offline: true})
	srv.AddEndpoint("lobby", arisim.Endpoint{Offline: true})
	tenants := callapi.TenantScopes{
		"acme": {Endpoints: []string{"PJSIP/acme-*"}, DeviceStates: []string{"PJSIP/acme-*", "Stasis:acme-*"}, Mailboxes: []string{"*@acme"}},
		"beta": {DeviceStates: []string{"Stasis:*"}},
	}
	p, sink, _ := startPBX(t, ts, func(c *Config) { c.Tenant = "ops"; c.ResourceTenants = tenants.Matching })
	// The subscriptions are made after the WebSocket connected: wait for them.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var app struct {
			DeviceNames []string `json:"device_names"`
		}
		if err := p.rest.do(t.Context(), "GET", "/applications/callgw", nil, nil, &app); err == nil && len(app.DeviceNames) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app never subscribed to device states")
		}
	}
	if err := srv.RegisterContact("acme-alice", "sip:acme-alice@192.0.2.7:5060"); err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterContact("lobby", "sip:lobby@192.0.2.8:5060"); err != nil {
		t.Fatal(err)
	}
	if err := srv.UnregisterContact("acme-alice", "sip:acme-alice@192.0.2.7:5060"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := p.SetDeviceState(ctx, "Stasis:acme-q1", "BUSY"); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteDeviceState(ctx, "Stasis:acme-q1"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMailbox(ctx, callapi.Mailbox{Name: "1000@acme", NewMessages: 3}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMailbox(ctx, callapi.Mailbox{Name: "2000@other", NewMessages: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteMailbox(ctx, "1000@acme"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"endpoint.state acme PJSIP/acme-alice online",
		"endpoint.peer acme PJSIP/acme-alice Reachable",
		"endpoint.contact acme PJSIP/acme-alice NonQualified",
		"device_state.changed acme PJSIP/acme-alice NOT_INUSE",
		"endpoint.state ops PJSIP/lobby online",
		"endpoint.peer ops PJSIP/lobby Reachable",
		"endpoint.contact ops PJSIP/lobby NonQualified",
		"device_state.changed ops PJSIP/lobby NOT_INUSE",
		"endpoint.state acme PJSIP/acme-alice offline",
		"endpoint.peer acme PJSIP/acme-alice Unreachable",
		"endpoint.contact acme PJSIP/acme-alice Removed",
		"device_state.changed acme PJSIP/acme-alice UNAVAILABLE",
		"device_state.changed acme Stasis:acme-q1 BUSY",
		"device_state.changed beta Stasis:acme-q1 BUSY",
		"device_state.changed acme Stasis:acme-q1 UNKNOWN",
		"device_state.changed beta Stasis:acme-q1 UNKNOWN",
		"mailbox.changed acme 1000@acme 3",
		"mailbox.changed ops 2000@other 1",
		"mailbox.deleted acme 1000@acme ",
	}
	got := nodeEvents(t, sink, len(want))
	// Events of one ARI event are in order; the mailbox events and a
	// deleted device's UNKNOWN come from the commands (Asterisk sends
	// nothing for them), the others from the WebSocket: compare as sets of
	// lines, and the order within each source.
	if strings.Join(sorted(got), "\n") != strings.Join(sorted(want), "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ws []string
	for _, g := range got {
		if !strings.HasPrefix(g, "mailbox.") && !strings.HasSuffix(g, "Stasis:acme-q1 UNKNOWN") {
			ws = append(ws, g)
		}
	}
	if strings.Join(ws, "\n") != strings.Join(want[:14], "\n") {
		t.Errorf("order of the ARI-driven events:\n%s", strings.Join(ws, "\n"))
	}
	for _, e := range sink.events() {
		if e.Type.Resource() == "endpoint" && len(e.ARI) != 0 {
			t.Errorf("%s carries the raw ARI event (channel ids of other tenants' calls)", e.Type)
		}
	}

	// A call on the endpoint changes its snapshot, not its state.
	if err := srv.RegisterContact("acme-alice", "sip:acme-alice@192.0.2.7:5060"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InboundCall("acme-alice", "100"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, e := range sink.events() {
		if e.Type == callapi.EvEndpointState {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d endpoint.state events, want 4 (online, online, offline, online again)", n)
	}
}

func sorted(l []string) []string {
	out := append([]string(nil), l...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// events is a copy of what the sink holds.
func (s *recSink) events() []*callapi.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*callapi.Event(nil), s.evs...)
}

// FuzzNodeEvent: the node resource events of ARI never panic the mapper,
// and what it publishes has the type asked for's resource, a subject and
// a tenant the router gave (or the worker's).
func FuzzNodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"EndpointStateChange","timestamp":"2026-11-25T14:17:02.312+0000","endpoint":{"technology":"PJSIP","resource":"acme-alice","state":"online","channel_ids":[]}}`,
		`{"type":"ContactStatusChange","endpoint":{"technology":"PJSIP","resource":"a","state":"offline","channel_ids":[]},"contact_info":{"uri":"sip:a@b","contact_status":"NonQualified","aor":"a","roundtrip_usec":"0"}}`,
		`{"type":"PeerStatusChange","endpoint":{"technology":"PJSIP","resource":"a"},"peer":{"peer_status":"Reachable"}}`,
		`{"type":"DeviceStateChanged","device_state":{"name":"Stasis:acme-q1","state":"BUSY"}}`,
		`{"type":"DeviceStateChanged","device_state":null}`, `{"endpoint":7}`, `null`, `[]`,
	} {
		f.Add(s)
	}
	p := &PBX{cfg: Config{Node: "pbx1", Tenant: "ops", ResourceTenants: callapi.TenantScopes{
		"acme": {Endpoints: []string{"PJSIP/acme-*"}, DeviceStates: []string{"Stasis:acme-*"}},
	}.Matching}, log: zap.NewNop(), endpointStates: map[string]string{}}
	f.Fuzz(func(t *testing.T, raw string) {
		for typ := range nodeEventTypes {
			for _, e := range p.nodeEvent(typ, []byte(raw)) {
				if callapi.KindOfEvent(e.Type) == "" || e.SubjectID() == "" || e.Node != "pbx1" || (e.Tenant != "ops" && e.Tenant != "acme") {
					t.Fatalf("%s from %q: %+v", typ, raw, e)
				}
			}
		}
	})
}
