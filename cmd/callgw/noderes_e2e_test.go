package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// TestOpNodeResourceTenancy: endpoints, device states, mailboxes and
// global variables over HTTP → gateway → RabbitMQ → worker → Asterisk
// (the simulator, or the real one with CALLGW_TEST_ARI_URL) for two
// tenants with their name patterns: each sets and reads its own; the
// other tenant's are 404 for reading and changing and missing from
// listings; the events (a phone registering, a BLF change, an MWI change)
// are published with the routing key of the tenant whose patterns hold the
// name, and never the other's.
func TestOpNodeResourceTenancy(t *testing.T) {
	tenants := callapi.TenantScopes{
		"acme": {Endpoints: []string{"PJSIP/acme-*"}, DeviceStates: []string{"Stasis:acme-*", "PJSIP/acme-*"}, Mailboxes: []string{"*@acme"}, Variables: []string{"ACME_*"}},
		"beta": {Endpoints: []string{"PJSIP/beta-*"}, DeviceStates: []string{"Stasis:beta-*"}, Mailboxes: []string{"*@beta"}, Variables: []string{"BETA_*"}},
	}
	s := startTenantsWith(t, tenants, "pbx1")
	acme, beta := s.token("acme"), s.token("beta")
	s.waitRoutable("Authorization", acme)
	acmeEv := s.spy(callapi.ExchangeEventsRouted, "acme.#")
	betaEv := s.spy(callapi.ExchangeEventsRouted, "beta.#")
	as := func(auth string, status int, method, path string, body any) []byte {
		t.Helper()
		st, _, b := s.do(method, path, body, "Authorization", auth)
		if st != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, status)
		}
		return b
	}
	u := strings.ToUpper(strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
	dev, box, global := "Stasis:acme-"+u, u+"@acme", "ACME_"+u
	t.Cleanup(func() {
		s.do("DELETE", "/v1/device-states/"+dev, nil, "Authorization", acme)
		s.do("DELETE", "/v1/mailboxes/"+box, nil, "Authorization", acme)
	})

	// Device states.
	as(acme, http.StatusNoContent, "PUT", "/v1/device-states/"+dev, map[string]string{"state": "BUSY"})
	var ds callapi.DeviceState
	mustJSON(t, as(acme, http.StatusOK, "GET", "/v1/device-states/"+dev, nil), &ds)
	if ds.State != "BUSY" || ds.Node != "pbx1" {
		t.Errorf("device state %+v", ds)
	}
	as(beta, http.StatusNotFound, "GET", "/v1/device-states/"+dev, nil)
	as(beta, http.StatusNotFound, "PUT", "/v1/device-states/"+dev, map[string]string{"state": "NOT_INUSE"})
	as(beta, http.StatusNotFound, "DELETE", "/v1/device-states/"+dev, nil)
	if b := as(beta, http.StatusOK, "GET", "/v1/device-states", nil); strings.Contains(string(b), dev) {
		t.Errorf("beta's listing shows acme's device: %s", b)
	}
	if b := as(acme, http.StatusOK, "GET", "/v1/device-states", nil); !strings.Contains(string(b), dev) {
		t.Errorf("acme's listing lacks its device: %s", b)
	}

	// Mailboxes.
	as(acme, http.StatusNoContent, "PUT", "/v1/mailboxes/"+box, map[string]int{"old_messages": 1, "new_messages": 2})
	var mb callapi.Mailbox
	mustJSON(t, as(acme, http.StatusOK, "GET", "/v1/mailboxes/"+box, nil), &mb)
	if mb.OldMessages != 1 || mb.NewMessages != 2 {
		t.Errorf("mailbox %+v", mb)
	}
	as(beta, http.StatusNotFound, "GET", "/v1/mailboxes/"+box, nil)
	as(beta, http.StatusNotFound, "PUT", "/v1/mailboxes/"+box, map[string]int{"new_messages": 9})
	as(beta, http.StatusNotFound, "DELETE", "/v1/mailboxes/"+box, nil)
	if b := as(beta, http.StatusOK, "GET", "/v1/mailboxes", nil); strings.Contains(string(b), box) {
		t.Errorf("beta's listing shows acme's mailbox: %s", b)
	}

	// Globals.
	as(acme, http.StatusNoContent, "PUT", "/v1/globals/"+global, map[string]string{"value": "on"})
	var v callapi.Variable
	mustJSON(t, as(acme, http.StatusOK, "GET", "/v1/globals/"+global, nil), &v)
	if v.Value != "on" {
		t.Errorf("global %+v", v)
	}
	as(beta, http.StatusNotFound, "GET", "/v1/globals/"+global, nil)
	as(beta, http.StatusNotFound, "PUT", "/v1/globals/"+global, map[string]string{"value": "off"})
	as(acme, http.StatusBadRequest, "PUT", "/v1/globals/CALLGW_TENANT", map[string]string{"value": "x"})

	// Events: acme's device and mailbox, under acme's routing keys only.
	wantEvent(t, acmeEv, "acme.pbx1.device_state.changed."+dev, callapi.EvDeviceStateChanged)
	wantEvent(t, acmeEv, "acme.pbx1.mailbox.changed."+box, callapi.EvMailboxChanged)

	// Endpoints and a phone registering: the simulator's contacts.
	if sim := s.sims["pbx1"]; sim != nil {
		sim.AddEndpoint("acme-alice", arisim.Endpoint{Offline: true})
		sim.AddEndpoint("beta-bob", arisim.Endpoint{})
		var el struct {
			Endpoints []callapi.Endpoint `json:"endpoints"`
		}
		mustJSON(t, as(acme, http.StatusOK, "GET", "/v1/endpoints", nil), &el)
		if len(el.Endpoints) != 1 || el.Endpoints[0].Name != "PJSIP/acme-alice" || el.Endpoints[0].State != "offline" {
			t.Errorf("acme's endpoints %+v", el.Endpoints)
		}
		as(beta, http.StatusNotFound, "GET", "/v1/endpoints/PJSIP/acme-alice", nil)
		as(acme, http.StatusNotFound, "GET", "/v1/endpoints/PJSIP/beta-bob", nil)
		if err := sim.RegisterContact("acme-alice", "sip:acme-alice@192.0.2.7:5060"); err != nil {
			t.Fatal(err)
		}
		// Asterisk's order: the endpoint's state, then its contact.
		wantEvent(t, acmeEv, "acme.pbx1.endpoint.state.PJSIP/acme-alice", callapi.EvEndpointState)
		wantEvent(t, acmeEv, "acme.pbx1.endpoint.contact.PJSIP/acme-alice", callapi.EvEndpointContact)
		var e callapi.Endpoint
		mustJSON(t, as(acme, http.StatusOK, "GET", "/v1/endpoints/PJSIP/acme-alice", nil), &e)
		if e.State != "online" || e.Node != "pbx1" {
			t.Errorf("registered endpoint %+v", e)
		}
	}

	// beta heard none of it.
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case d := <-betaEv.d:
			t.Errorf("beta received %s", d.RoutingKey)
		case <-deadline:
			return
		}
	}
}

// wantEvent waits for an event with routing key key and type typ.
func wantEvent(t *testing.T, sp *spy, key string, typ callapi.EventType) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case d := <-sp.d:
			var e callapi.Event
			if err := json.Unmarshal(d.Body, &e); err != nil {
				t.Fatalf("undecodable event %s: %v", d.Body, err)
			}
			if d.RoutingKey == key && e.Type == typ {
				return
			}
			seen = append(seen, d.RoutingKey)
		case <-deadline:
			t.Fatalf("no %s with key %s within 5s; got %v", typ, key, seen)
		}
	}
}
