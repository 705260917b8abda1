package callapi

import (
	"encoding/json"
	"sort"
)

// Node resource events: what Asterisk tells of endpoints and device states
// (ARI EndpointStateChange, ContactStatusChange, PeerStatusChange,
// DeviceStateChanged), and the mailbox changes callgw makes (Asterisk has
// no mailbox event). Their subject, the last word of the routing key, is
// the resource's name (PJSIP/alice, Stasis:queue-1, 1000@default). Their
// tenant is decided by name: each tenant whose NameScope holds the name
// gets its own copy (TenantScopes.Matching); a name no tenant holds goes to
// the node's operator tenant only.
const (
	EvEndpointState      EventType = "endpoint.state"       // the endpoint went online or offline
	EvEndpointContact    EventType = "endpoint.contact"     // a contact (a registered phone) became reachable, unreachable, was added or removed
	EvEndpointPeer       EventType = "endpoint.peer"        // the endpoint's peer status (Reachable, Unreachable, …)
	EvDeviceStateChanged EventType = "device_state.changed" // a device's state (BLF)
	EvMailboxChanged     EventType = "mailbox.changed"      // a mailbox's counts were set (MWI)
	EvMailboxDeleted     EventType = "mailbox.deleted"      // a mailbox was deleted
)

// KindOfEvent is the NameScope kind of a node resource event type ("" for
// the others).
func KindOfEvent(t EventType) string {
	switch t.Resource() {
	case "endpoint":
		return KindEndpoint
	case "device_state":
		return KindDeviceState
	case "mailbox":
		return KindMailbox
	}
	return ""
}

// EndpointStateData is the data of endpoint.state: the endpoint as GET
// /v1/endpoints/{tech}/{resource} shows it.
type EndpointStateData struct {
	Endpoint
}

// ContactData is the data of endpoint.contact (ARI ContactStatusChange).
type ContactData struct {
	Endpoint string `json:"endpoint"` // Technology/resource
	URI      string `json:"uri"`      // where the contact is: sip:alice@192.0.2.7:5060
	AOR      string `json:"aor"`      // the address of record it belongs to
	// Status is Asterisk's: Reachable, Unreachable, Unknown, NonQualified
	// (registered, not qualified), Removed (unregistered or expired).
	Status        string `json:"status"`
	RoundtripUsec string `json:"roundtrip_usec,omitempty"`
}

// PeerData is the data of endpoint.peer (ARI PeerStatusChange).
type PeerData struct {
	Endpoint string `json:"endpoint"`
	Status   string `json:"status"` // Reachable, Unreachable, … (per technology)
	Cause    string `json:"cause,omitempty"`
	Address  string `json:"address,omitempty"`
	Port     string `json:"port,omitempty"`
}

// DeviceStateData is the data of device_state.changed.
type DeviceStateData struct {
	DeviceState
}

// MailboxData is the data of mailbox.changed and mailbox.deleted (the
// counts are zero on deletion).
type MailboxData struct {
	Mailbox
}

// nodeResourceName is the name a node resource event is about.
func nodeResourceName(e *Event) string {
	var d struct {
		Name     string `json:"name"`
		Endpoint string `json:"endpoint"`
	}
	_ = json.Unmarshal(e.Data, &d)
	if d.Endpoint != "" {
		return d.Endpoint
	}
	return d.Name
}

// TenantScopes are the node resources of each tenant: tenant → its
// NameScope, as the operator configures them (CALLGW_TENANTS_FILE). A
// tenant without an entry holds no node resource.
type TenantScopes map[string]NameScope

// Validate checks every tenant's name and scope.
func (ts TenantScopes) Validate() error {
	for t, s := range ts {
		if !ValidTenant(t) {
			return Invalid("tenant", "%q is not a valid tenant", t)
		}
		if s.All {
			return Invalid("tenant", "%s: \"all\" is an admin's, not a tenant's", t)
		}
		if err := s.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Of returns the scope of tenant (nil when it holds none).
func (ts TenantScopes) Of(tenant string) *NameScope {
	s, ok := ts[tenant]
	if !ok {
		return nil
	}
	return &s
}

// Matching returns, sorted, the tenants whose scope holds name of kind.
func (ts TenantScopes) Matching(kind, name string) []string {
	var out []string
	for t, s := range ts {
		if s.Allows(kind, name) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Scoped is implemented by the arguments of the node resource actions: the
// gateway puts the caller's NameScope into them.
type Scoped interface {
	SetScope(*NameScope)
}

func (a *NodeListArgs) SetScope(s *NameScope)    { a.Scope = s }
func (a *NodeNameArgs) SetScope(s *NameScope)    { a.Scope = s }
func (a *DeviceStateArgs) SetScope(s *NameScope) { a.Scope = s }
func (a *MailboxArgs) SetScope(s *NameScope)     { a.Scope = s }
func (a *GlobalVarArgs) SetScope(s *NameScope)   { a.Scope = s }
