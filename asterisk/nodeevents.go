package asterisk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Node resource events: ARI's EndpointStateChange, ContactStatusChange,
// PeerStatusChange and DeviceStateChanged become endpoint.state,
// endpoint.contact, endpoint.peer and device_state.changed; the mailbox
// changes made through SetMailbox and DeleteMailbox become mailbox.changed
// and mailbox.deleted (Asterisk has no mailbox event). Asterisk sends the
// endpoint events to apps subscribed to the endpoint or its technology
// (endpoint:PJSIP, subscribed on connect for MessageTechs) and the device
// states to apps subscribed to the device or to all (deviceState:,
// subscribed on connect). The endpoint events carry no raw ARI event (its
// channel ids may be other tenants' calls). Each event goes to every tenant whose name
// patterns hold the resource (Config.ResourceTenants), else to Tenant.

// nodeEventTypes are the ARI events mapped here.
var nodeEventTypes = map[string]bool{
	"EndpointStateChange": true, "ContactStatusChange": true, "PeerStatusChange": true, "DeviceStateChanged": true,
}

// ariNodeEvent is the part of those events read here.
type ariNodeEvent struct {
	Timestamp   string       `json:"timestamp"`
	Endpoint    *ariEndpoint `json:"endpoint"`
	ContactInfo *struct {
		URI           string `json:"uri"`
		ContactStatus string `json:"contact_status"`
		AOR           string `json:"aor"`
		RoundtripUsec string `json:"roundtrip_usec"`
	} `json:"contact_info"`
	Peer *struct {
		PeerStatus string `json:"peer_status"`
		Cause      string `json:"cause"`
		Address    string `json:"address"`
		Port       string `json:"port"`
	} `json:"peer"`
	DeviceState *struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"device_state"`
}

// resourceTenants are the tenants a node resource's events go to.
func (p *PBX) resourceTenants(kind, name string) []string {
	if p.cfg.ResourceTenants != nil {
		if ts := p.cfg.ResourceTenants(kind, name); len(ts) > 0 {
			return ts
		}
	}
	return []string{p.cfg.Tenant}
}

// nodeResourceEvents builds typ's events about name, one per tenant.
func (p *PBX) nodeResourceEvents(typ callapi.EventType, name string, at time.Time, data any, raw []byte) []*callapi.Event {
	b, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	var out []*callapi.Event
	for _, t := range p.resourceTenants(callapi.KindOfEvent(typ), name) {
		out = append(out, &callapi.Event{ID: uuid.NewString(), Type: typ, Time: at, Node: p.cfg.Node, Tenant: t, Data: b, ARI: publicARI(raw)})
	}
	return out
}

// nodeEvent maps one ARI node resource event (typ) to its CallAPI events.
func (p *PBX) nodeEvent(typ string, raw []byte) []*callapi.Event {
	var ev ariNodeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		p.log.Warn("undecodable node event", zap.String("type", typ), zap.Error(err))
		return nil
	}
	at := parseTime(ev.Timestamp)
	if typ == "DeviceStateChanged" {
		if ev.DeviceState == nil || ev.DeviceState.Name == "" {
			return nil
		}
		d := callapi.DeviceStateData{DeviceState: callapi.DeviceState{Name: ev.DeviceState.Name, Node: p.cfg.Node, State: ev.DeviceState.State}}
		return p.nodeResourceEvents(callapi.EvDeviceStateChanged, d.Name, at, d, raw)
	}
	if ev.Endpoint == nil || ev.Endpoint.Technology == "" {
		return nil
	}
	e := ev.Endpoint.endpoint()
	e.Node = p.cfg.Node
	// The raw event is not passed on: its channel_ids may be another
	// tenant's calls (Endpoint shows a count only).
	raw = nil
	switch typ {
	case "EndpointStateChange":
		// Asterisk sends it on every change of the endpoint's snapshot
		// (a channel on it too); endpoint.state is for its state.
		p.nodeMu.Lock()
		last, seen := p.endpointStates[e.Name]
		p.endpointStates[e.Name] = e.State
		p.nodeMu.Unlock()
		if seen && last == e.State {
			return nil
		}
		return p.nodeResourceEvents(callapi.EvEndpointState, e.Name, at, callapi.EndpointStateData{Endpoint: *e}, raw)
	case "ContactStatusChange":
		if ev.ContactInfo == nil {
			return nil
		}
		c := ev.ContactInfo
		d := callapi.ContactData{Endpoint: e.Name, URI: c.URI, AOR: c.AOR, Status: c.ContactStatus, RoundtripUsec: c.RoundtripUsec}
		return p.nodeResourceEvents(callapi.EvEndpointContact, e.Name, at, d, raw)
	case "PeerStatusChange":
		if ev.Peer == nil {
			return nil
		}
		d := callapi.PeerData{Endpoint: e.Name, Status: ev.Peer.PeerStatus, Cause: ev.Peer.Cause, Address: ev.Peer.Address, Port: ev.Peer.Port}
		return p.nodeResourceEvents(callapi.EvEndpointPeer, e.Name, at, d, raw)
	}
	return nil
}

// publishMailbox announces a mailbox change made through the API.
func (p *PBX) publishMailbox(ctx context.Context, typ callapi.EventType, m callapi.Mailbox) {
	m.Node = p.cfg.Node
	for _, e := range p.nodeResourceEvents(typ, m.Name, time.Now().UTC(), callapi.MailboxData{Mailbox: m}, nil) {
		p.publish(context.WithoutCancel(ctx), e)
	}
}

// subscribeDeviceStates subscribes the app to every device's state
// (eventSource deviceState: with no name, res_stasis_device_state.c's
// DEVICE_STATE_ALL). A failure is logged: calls still work.
func (p *PBX) subscribeDeviceStates(ctx context.Context) {
	q := url.Values{"eventSource": {"deviceState:"}}
	if err := p.rest.do(ctx, http.MethodPost, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
		p.log.Warn("subscribing to device states failed: device_state.changed will not be published", zap.Error(err))
	}
}

// unsubscribeDeviceStates drops the subscription to every device's state
// before a graceful stop closes the WebSocket: Asterisk 22 can deadlock its
// ARI when a WebSocket whose app is subscribed to all device states closes
// while a device state is dispatched to it (asterisk/asterisk#2170).
func (p *PBX) unsubscribeDeviceStates() {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
	defer cancel()
	q := url.Values{"eventSource": {"deviceState:"}}
	if err := p.rest.do(ctx, http.MethodDelete, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
		p.log.Debug("dropping the device state subscription failed", zap.Error(err))
	}
}
