package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// TestConsoleDeviceStates drives the console's device states panel in
// headless chromium against a gateway, a worker and the simulator, with
// two tenants' name patterns: a device state set through the API appears
// on the page from its device_state.changed event (the page does not
// poll); one set from the page (a name and a state from the select) is
// what the API then reads; one deleted from the page (after its
// confirmation) leaves the page and the node; and a tenant whose patterns
// lack the other's names sees none of them, on load or from the stream.
func TestConsoleDeviceStates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	tenants := callapi.TenantScopes{
		"acme": {DeviceStates: []string{"Stasis:acme-*"}},
		"beta": {DeviceStates: []string{"Stasis:beta-*"}},
	}
	session := startBrowserAsync(t)
	s := startStackWith(t, &system{auth: consoleClients(t), tenants: tenants, httpAddr: testenv.FreeAddr(t)}, "pbx1")
	acme, beta := s.token("acme"), s.token("beta")
	s.waitRoutable("Authorization", acme)
	browser := session()

	put := func(auth, name, state string) {
		t.Helper()
		if st, _, b := s.do("PUT", "/v1/device-states/"+name, map[string]string{"state": state}, "Authorization", auth); st != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", name, st, b)
		}
	}
	stateOf := func(auth, name string) string {
		t.Helper()
		st, _, b := s.do("GET", "/v1/device-states/"+name, nil, "Authorization", auth)
		var d callapi.DeviceState
		if err := json.Unmarshal(b, &d); st != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d %s", name, st, b)
		}
		return d.State
	}
	// panel is the panel's rows, "name state node" each, and the toast.
	type panel struct {
		Rows  []string `json:"rows"`
		Live  bool     `json:"live"`
		Toast string   `json:"toast"`
	}
	read := func() panel {
		var p panel
		b, _ := json.Marshal(browser.eval(`const $ = (id) => document.getElementById(id);
			return {rows: [...document.querySelectorAll("#dev-body tr[data-device]")].map((tr) =>
			  [...tr.cells].slice(0, 3).map((c) => c.textContent).join(" ")),
			  live: $("conn").dataset.state === "live", toast: $("toast").hidden ? "" : $("toast").textContent};`))
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("page state: %v (%s)", err, b)
		}
		return p
	}
	wait := func(what string, ok func(panel) bool) panel {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			p := read()
			if p.Toast != "" {
				t.Fatalf("%s: the page says %q", what, p.Toast)
			}
			if ok(p) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the panel shows %+v", what, p)
			}
		}
	}
	has := func(rows []string, row string) bool {
		for _, r := range rows {
			if r == row {
				return true
			}
		}
		return false
	}

	put(acme, "Stasis:acme-desk0", "RINGING") // before the page: from the list
	browser.open(s.base + "/console/")
	browser.typeInto("#token-input", acme)
	browser.click("#token-submit")
	wait("acme signed in, its device listed", func(p panel) bool { return p.Live && has(p.Rows, "Stasis:acme-desk0 RINGING pbx1") })

	// Through the API: the event brings it.
	put(acme, "Stasis:acme-desk1", "BUSY")
	wait("the device set through the API", func(p panel) bool { return has(p.Rows, "Stasis:acme-desk1 BUSY pbx1") })

	// From the page: the API reads what the page set.
	browser.typeInto("#dev-name", "Stasis:acme-desk2")
	browser.eval(`document.getElementById("dev-state").value = "INUSE";`)
	browser.click("#dev-form button")
	wait("the device set from the page", func(p panel) bool { return has(p.Rows, "Stasis:acme-desk2 INUSE pbx1") })
	if got := stateOf(acme, "Stasis:acme-desk2"); got != "INUSE" {
		t.Fatalf("the API reads %s for the device the page set INUSE", got)
	}
	browser.screenshot(artefacts(t), "console-devices.png")

	// Deleted from the page, after the confirmation.
	browser.click(`#dev-body tr[data-device="Stasis:acme-desk1@pbx1"] button`)
	browser.click("#confirm-ok")
	wait("the deleted device gone", func(p panel) bool { return !has(p.Rows, "Stasis:acme-desk1 BUSY pbx1") })
	if got := stateOf(acme, "Stasis:acme-desk1"); got != "UNKNOWN" {
		t.Fatalf("the API reads %s for the device the page deleted, want UNKNOWN", got)
	}

	// Beta, in its own tab, sees only its own: acme's neither from the
	// list nor from the stream (acme's change is sent before beta's).
	browser.newTab()
	browser.open(s.base + "/console/")
	browser.typeInto("#token-input", beta)
	browser.click("#token-submit")
	wait("beta signed in", func(p panel) bool { return p.Live })
	put(acme, "Stasis:acme-desk3", "ONHOLD")
	put(beta, "Stasis:beta-desk1", "NOT_INUSE")
	p := wait("beta's own device", func(p panel) bool { return has(p.Rows, "Stasis:beta-desk1 NOT_INUSE pbx1") })
	if len(p.Rows) != 1 || strings.Contains(strings.Join(p.Rows, ","), "acme") {
		t.Fatalf("beta's panel shows %v, want only its own device", p.Rows)
	}
}
