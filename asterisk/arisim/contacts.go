package arisim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ---- Contacts: a phone registering to a PJSIP endpoint, and the events
// Asterisk 22 sends for it (res_pjsip's persistent endpoint and contact
// status, main/stasis_endpoints.c, res_stasis_device_state.c):
//
//   register (the first contact of an offline endpoint): EndpointStateChange
//   (online), PeerStatusChange (peer_status Reachable), ContactStatusChange
//   (contact_status NonQualified: a registration without qualify; its
//   endpoint already online), then DeviceStateChanged (PJSIP/<name>
//   NOT_INUSE);
//   unregister (its last contact): EndpointStateChange (offline),
//   PeerStatusChange (Unreachable), ContactStatusChange (Removed), then
//   DeviceStateChanged (UNAVAILABLE);
//   another contact of an endpoint that stays online: ContactStatusChange
//   only. This is the order of a real Asterisk 22.10.1 (sipp registering).
//
// The endpoint events go to apps subscribed to the endpoint or its
// technology (endpoint:PJSIP/<name>, endpoint:PJSIP), the device state to
// apps subscribed to the device or to all devices (deviceState:).

// ErrNoEndpoint is returned for a contact of an endpoint not configured
// (AddEndpoint).
var ErrNoEndpoint = errors.New("arisim: no such PJSIP endpoint")

// RegisterContact registers a contact (uri, e.g. sip:alice@192.0.2.7:5060)
// on PJSIP/<name>, as a phone's REGISTER would; the endpoint goes online
// if it was offline. Registering a known contact again changes nothing.
func (s *Server) RegisterContact(name, uri string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[name]
	if ep == nil {
		return fmt.Errorf("%w: %s", ErrNoEndpoint, name)
	}
	if ep.contacts == nil {
		ep.contacts = map[string]bool{}
	}
	if ep.contacts[uri] {
		return nil
	}
	ep.contacts[uri] = true
	if !ep.Offline {
		s.contactEvent(name, ep, uri, "NonQualified")
		return nil
	}
	ep.Offline = false
	s.endpointStateEvents(name, ep, "Reachable")
	s.contactEvent(name, ep, uri, "NonQualified")
	s.emitDeviceState("PJSIP/"+name, "NOT_INUSE")
	return nil
}

// UnregisterContact removes a contact of PJSIP/<name>, as an expiry or a
// REGISTER with Expires: 0 would; the endpoint goes offline with its last
// contact.
func (s *Server) UnregisterContact(name, uri string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[name]
	if ep == nil {
		return fmt.Errorf("%w: %s", ErrNoEndpoint, name)
	}
	if !ep.contacts[uri] {
		return fmt.Errorf("arisim: PJSIP/%s has no contact %s", name, uri)
	}
	delete(ep.contacts, uri)
	if len(ep.contacts) != 0 || ep.Offline {
		s.contactEvent(name, ep, uri, "Removed")
		return nil
	}
	ep.Offline = true
	s.endpointStateEvents(name, ep, "Unreachable")
	s.contactEvent(name, ep, uri, "Removed")
	s.emitDeviceState("PJSIP/"+name, "UNAVAILABLE")
	return nil
}

// contactEvent emits ContactStatusChange. Caller holds s.mu.
func (s *Server) contactEvent(name string, ep *Endpoint, uri, status string) {
	aor := name
	s.emit(&event{typ: "ContactStatusChange", endpoints: []string{"PJSIP/" + name}, body: map[string]any{
		"endpoint":     s.endpointJSON(name, ep),
		"contact_info": map[string]any{"uri": uri, "contact_status": status, "aor": aor, "roundtrip_usec": "0"},
	}})
}

// endpointStateEvents emits the endpoint events of a state change.
// Caller holds s.mu.
func (s *Server) endpointStateEvents(name string, ep *Endpoint, peer string) {
	subj := []string{"PJSIP/" + name}
	s.emit(&event{typ: "EndpointStateChange", endpoints: subj, body: map[string]any{"endpoint": s.endpointJSON(name, ep)}})
	s.emit(&event{typ: "PeerStatusChange", endpoints: subj, body: map[string]any{
		"endpoint": s.endpointJSON(name, ep), "peer": map[string]any{"peer_status": peer}}})
}

// endpointChanged emits EndpointStateChange for a change of the
// endpoint's snapshot that is not its state (a channel on it came or
// went): res/stasis/app.c sends it on every snapshot update. Caller holds
// s.mu.
func (s *Server) endpointChanged(name string, ep *Endpoint) {
	s.emit(&event{typ: "EndpointStateChange", endpoints: []string{"PJSIP/" + name}, body: map[string]any{"endpoint": s.endpointJSON(name, ep)}})
}

// emitDeviceState emits DeviceStateChanged to the apps subscribed to the
// device or to all devices. Caller holds s.mu.
func (s *Server) emitDeviceState(name, state string) {
	s.emit(&event{typ: "DeviceStateChanged", devices: []string{name}, body: map[string]any{"device_state": deviceStateJSON{Name: name, State: state}}})
}

// ContactsPath is the simulator's own route (not ARI) that registers or
// unregisters a contact, as a phone would: POST
// {"endpoint":"alice","uri":"sip:alice@192.0.2.7:5060","registered":true}.
// It takes the ARI user's Basic credentials.
const ContactsPath = "/ari-sim/contacts"

// ContactRequest is the body of POST /ari-sim/contacts.
type ContactRequest struct {
	Endpoint   string `json:"endpoint"`   // the PJSIP endpoint's name: alice
	URI        string `json:"uri"`        // the contact: sip:alice@192.0.2.7:5060
	Registered bool   `json:"registered"` // true: register; false: unregister
}

func (s *Server) serveContacts(w http.ResponseWriter, r *http.Request) {
	var req ContactRequest
	if !decodeControl(w, r, &req) {
		return
	}
	if !simWord.MatchString(req.Endpoint) || !strings.HasPrefix(req.URI, "sip:") || len(req.URI) > 256 || strings.ContainsAny(req.URI, " \r\n\t") {
		writeError(w, http.StatusBadRequest, "endpoint is 1-64 of [A-Za-z0-9_+*#.-]; uri a sip: URI without spaces (256 at most)")
		return
	}
	var err error
	if req.Registered {
		err = s.RegisterContact(req.Endpoint, req.URI)
	} else {
		err = s.UnregisterContact(req.Endpoint, req.URI)
	}
	switch {
	case errors.Is(err, ErrNoEndpoint):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
