package arisim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

func postContact(t *testing.T, tg *target, user, body string) int {
	t.Helper()
	req, err := http.NewRequest("POST", strings.TrimSuffix(tg.url, "/ari")+arisim.ContactsPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, tg.pass)
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sipRegister is a REGISTER with digest authentication for sipp
// (-s user -au user -ap password); EXPIRES is replaced by the expiry.
const sipRegister = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]r[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: EXPIRES
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]r[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
[authentication]
Expires: EXPIRES
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`

// sipPhone registers and unregisters a contact of PJSIP endpoint alice:
// on the simulator through POST /ari-sim/contacts, on a real Asterisk with
// sipp (user alice, password alice, at CALLGW_TEST_SIP_TARGET) from a free
// local port. It returns the contact's URI and the two steps.
func sipPhone(t *testing.T, tg *target) (uri string, register, unregister func()) {
	t.Helper()
	if tg.sim != nil {
		uri = "sip:alice@192.0.2.7:5060"
		post := func(on bool) func() {
			return func() {
				body := fmt.Sprintf(`{"endpoint":"alice","uri":%q,"registered":%t}`, uri, on)
				if st := postContact(t, tg, tg.user, body); st != 204 {
					t.Fatalf("%s: %d", body, st)
				}
			}
		}
		return uri, post(true), post(false)
	}
	target := os.Getenv("CALLGW_TEST_SIP_TARGET")
	sipp, err := exec.LookPath("sipp")
	if target == "" || err != nil {
		t.Skip("registering a phone on a real Asterisk needs sipp and CALLGW_TEST_SIP_TARGET")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	dir := t.TempDir()
	run := func(expires string) func() {
		return func() {
			sf := filepath.Join(dir, "register"+expires+".xml")
			if err := os.WriteFile(sf, []byte(strings.ReplaceAll(sipRegister, "EXPIRES", expires)), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, sipp, target, "-sf", sf, "-s", "alice", "-au", "alice", "-ap", "alice",
				"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1", "-nostdin").CombinedOutput()
			if err != nil {
				t.Fatalf("sipp (Expires %s): %v\n%s", expires, err, out)
			}
		}
	}
	return fmt.Sprintf("sip:alice@127.0.0.1:%d", port), run("60"), run("0")
}

// TestContactEvents: a phone registering raises Asterisk 22's
// EndpointStateChange, PeerStatusChange, ContactStatusChange (to apps
// subscribed to the endpoint's technology) and DeviceStateChanged (to apps
// subscribed to all devices), in that order and with the shapes of
// events.json; unregistering raises them again (offline, Unreachable,
// Removed, UNAVAILABLE); an app subscribed to neither gets none of them.
// On the simulator a phone registers through POST /ari-sim/contacts, whose
// bad requests are refused; with CALLGW_TEST_ARI_URL sipp registers to
// the real Asterisk.
func TestContactEvents(t *testing.T) {
	tg := newTarget(t, arisim.Config{SystemName: "pbx1"})
	if tg.sim != nil {
		tg.sim.AddEndpoint("alice", arisim.Endpoint{Offline: true})
	}
	uri, register, unregister := sipPhone(t, tg)
	if tg.sim == nil {
		unregister() // a contact left from an earlier run
		time.Sleep(200 * time.Millisecond)
	}
	sub, none := uniq("sub"), uniq("other")
	ev := tg.listen(t, sub, false)
	other := tg.listen(t, none, false)
	for _, src := range []string{"endpoint:PJSIP", "deviceState:"} {
		if st, b := tg.do(t, "POST", "/applications/"+sub+"/subscription", url.Values{"eventSource": {src}}, nil); st != 200 {
			t.Fatalf("subscribe %s: %d %s", src, st, b)
		}
	}
	t.Cleanup(func() {
		// Before the WebSockets close (asterisk/asterisk#2170).
		tg.do(t, "DELETE", "/applications/"+sub+"/subscription", url.Values{"eventSource": {"deviceState:"}}, nil)
	})
	if tg.sim != nil {
		for _, tc := range []struct {
			user, body string
			status     int
		}{
			{"nobody", `{"endpoint":"alice","uri":"sip:alice@192.0.2.7","registered":true}`, 401},
			{tg.user, `{"endpoint":"al ice","uri":"sip:a@b","registered":true}`, 400},
			{tg.user, `{"endpoint":"alice","uri":"http://x","registered":true}`, 400},
			{tg.user, `{"endpoint":"alice","uri":"sip:a@b","colour":1}`, 400},
			{tg.user, `{"endpoint":"bob","uri":"sip:bob@b","registered":true}`, 404},
			{tg.user, `{"endpoint":"alice","uri":"sip:nobody@b","registered":false}`, 409},
		} {
			if st := postContact(t, tg, tc.user, tc.body); st != tc.status {
				t.Errorf("%s as %s: %d, want %d", tc.body, tc.user, st, tc.status)
			}
		}
	}
	register()
	c := ev.wait(t, "ContactStatusChange", nil, 3*time.Second)
	ci, _ := c["contact_info"].(map[string]any)
	cep, _ := c["endpoint"].(map[string]any)
	if ci["contact_status"] != "NonQualified" || ci["uri"] != uri || ci["aor"] != "alice" || ci["roundtrip_usec"] != "0" || cep["state"] != "online" {
		t.Errorf("ContactStatusChange %v", c)
	}
	e := ev.wait(t, "EndpointStateChange", nil, 2*time.Second)
	if ep, _ := e["endpoint"].(map[string]any); ep["state"] != "online" || ep["resource"] != "alice" || ep["technology"] != "PJSIP" {
		t.Errorf("EndpointStateChange %v", e)
	}
	p := ev.wait(t, "PeerStatusChange", nil, 2*time.Second)
	if peer, _ := p["peer"].(map[string]any); peer["peer_status"] != "Reachable" {
		t.Errorf("PeerStatusChange %v", p)
	}
	d := ev.wait(t, "DeviceStateChanged", nil, 2*time.Second)
	if ds, _ := d["device_state"].(map[string]any); ds["name"] != "PJSIP/alice" || ds["state"] != "NOT_INUSE" {
		t.Errorf("DeviceStateChanged %v", d)
	}
	sp := loadSpec(t)
	for _, m := range []map[string]any{c, e, p, d} {
		raw, _ := json.Marshal(m)
		if errs := sp.validateEvent(raw); len(errs) > 0 {
			t.Errorf("%s does not match events.json: %v", m["type"], errs)
		}
	}
	// The endpoint's events come in this order; DeviceStateChanged is
	// published by another stasis topic and lands before or after
	// ContactStatusChange on a real Asterisk (both seen on 22.10.1).
	var endpointEvents []string
	for _, typ := range strings.Fields(ev.types()) {
		if typ != "DeviceStateChanged" {
			endpointEvents = append(endpointEvents, typ)
		}
	}
	if got := strings.Join(endpointEvents, " "); got != "EndpointStateChange PeerStatusChange ContactStatusChange" {
		t.Errorf("endpoint events of a registration: %s (all: %s)", got, ev.types())
	}
	unregister()
	ev.wait(t, "PeerStatusChange", func(m map[string]any) bool {
		peer, _ := m["peer"].(map[string]any)
		return peer["peer_status"] == "Unreachable"
	}, 2*time.Second)
	if st, b := tg.do(t, "GET", "/deviceStates/PJSIP%2Falice", nil, nil); st != 200 || !strings.Contains(string(b), "UNAVAILABLE") {
		t.Errorf("device state of an unregistered endpoint: %d %s", st, b)
	}
	if got := other.types(); strings.Contains(got, "Contact") || strings.Contains(got, "Peer") || strings.Contains(got, "DeviceState") {
		t.Errorf("an app subscribed to neither got %s", got)
	}
}

// TestDeviceStateSubscriptions: DeviceStateChanged goes to the apps
// subscribed to the device (deviceState:<name>) or to every device
// (deviceState:), not to others; deleting a custom device sends nothing
// and leaves it UNKNOWN.
// Runs on the real Asterisk with CALLGW_TEST_ARI_URL too.
func TestDeviceStateSubscriptions(t *testing.T) {
	tg := newTarget(t, arisim.Config{SystemName: "pbx1"})
	one, all, none := uniq("one"), uniq("all"), uniq("none")
	evOne, evAll, evNone := tg.listen(t, one, false), tg.listen(t, all, false), tg.listen(t, none, false)
	dev := "Stasis:" + uniq("dev")
	sub := func(app, src string) {
		if st, b := tg.do(t, "POST", "/applications/"+app+"/subscription", url.Values{"eventSource": {src}}, nil); st != 200 {
			t.Fatalf("subscribe %s to %s: %d %s", app, src, st, b)
		}
	}
	sub(one, "deviceState:"+dev)
	sub(all, "deviceState:")
	t.Cleanup(func() {
		// Before the WebSockets close (asterisk/asterisk#2170), and the device.
		tg.do(t, "DELETE", "/applications/"+all+"/subscription", url.Values{"eventSource": {"deviceState:"}}, nil)
		tg.do(t, "DELETE", "/applications/"+one+"/subscription", url.Values{"eventSource": {"deviceState:" + dev}}, nil)
		tg.do(t, "DELETE", "/deviceStates/"+url.PathEscape(dev), nil, nil)
	})
	if st, b := tg.do(t, "PUT", "/deviceStates/"+url.PathEscape(dev), url.Values{"deviceState": {"BUSY"}}, nil); st != 204 {
		t.Fatalf("PUT device state: %d %s", st, b)
	}
	busy := func(m map[string]any) bool {
		d, _ := m["device_state"].(map[string]any)
		return d["name"] == dev && d["state"] == "BUSY"
	}
	evOne.wait(t, "DeviceStateChanged", busy, 3*time.Second)
	evAll.wait(t, "DeviceStateChanged", busy, 3*time.Second)
	if st, b := tg.do(t, "DELETE", "/deviceStates/"+url.PathEscape(dev), nil, nil); st != 204 {
		t.Fatalf("DELETE device state: %d %s", st, b)
	}
	// res_stasis_device_state.c clears the device from the cache and
	// raises UNKNOWN, which reaches no app: Asterisk 22.10 sends nothing.
	evOne.none(t, "DeviceStateChanged", 500*time.Millisecond, func(m map[string]any) bool {
		d, _ := m["device_state"].(map[string]any)
		return d["state"] != "BUSY"
	})
	if m := tg.mustDo(t, 200, "GET", "/deviceStates/"+url.PathEscape(dev), nil, nil); m["state"] != "UNKNOWN" {
		t.Errorf("a deleted device state: %v", m)
	}
	// Deleting what does not exist is no error; a name without a device is.
	tg.mustDo(t, 204, "DELETE", "/deviceStates/"+url.PathEscape(dev), nil, nil)
	if st, b := tg.do(t, "DELETE", "/deviceStates/Stasis:", nil, nil); st != 404 || !strings.Contains(string(b), "Device name is missing") {
		t.Errorf("DELETE Stasis: %d %s", st, b)
	}
	time.Sleep(100 * time.Millisecond)
	if n := evNone.count("DeviceStateChanged"); n != 0 {
		t.Errorf("an app subscribed to no device got %d DeviceStateChanged", n)
	}
}
