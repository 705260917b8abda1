package asterisk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Node resources over ARI: /endpoints, /deviceStates, /mailboxes and
// /asterisk/variable. Tenancy is the action's (callapi.NameScope); these
// methods see the whole node.

var _ callapi.NodeControl = (*PBX)(nil)

// ariEndpoint is ARI's Endpoint.
type ariEndpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

func (e *ariEndpoint) endpoint() *callapi.Endpoint {
	st := e.State
	if st == "" {
		st = "unknown"
	}
	return &callapi.Endpoint{Name: e.Technology + "/" + e.Resource, Technology: e.Technology,
		Resource: e.Resource, State: st, Calls: len(e.ChannelIDs), ChannelIDs: e.ChannelIDs}
}

// Endpoints lists the node's endpoints.
func (p *PBX) Endpoints(ctx context.Context) ([]*callapi.Endpoint, error) {
	var all []ariEndpoint
	if err := p.rest.do(ctx, http.MethodGet, "/endpoints", nil, nil, &all); err != nil {
		return nil, mapErr("asterisk.Endpoints", err, "endpoints", "")
	}
	out := make([]*callapi.Endpoint, 0, len(all))
	for i := range all {
		out = append(out, all[i].endpoint())
	}
	return out, nil
}

// Endpoint returns one endpoint, named technology/resource.
func (p *PBX) Endpoint(ctx context.Context, name string) (*callapi.Endpoint, error) {
	tech, res, _ := strings.Cut(name, "/")
	var e ariEndpoint
	if err := p.rest.do(ctx, http.MethodGet, "/endpoints/"+seg(tech)+"/"+seg(res), nil, nil, &e); err != nil {
		return nil, mapErr("asterisk.Endpoint", err, "endpoint "+name, "")
	}
	return e.endpoint(), nil
}

// DeviceStates lists the device states Asterisk knows.
func (p *PBX) DeviceStates(ctx context.Context) ([]*callapi.DeviceState, error) {
	var out []*callapi.DeviceState
	if err := p.rest.do(ctx, http.MethodGet, "/deviceStates", nil, nil, &out); err != nil {
		return nil, mapErr("asterisk.DeviceStates", err, "device states", "")
	}
	return out, nil
}

// DeviceState returns the state of one device (UNKNOWN for a device
// Asterisk does not know, as ARI answers).
func (p *PBX) DeviceState(ctx context.Context, name string) (*callapi.DeviceState, error) {
	var d callapi.DeviceState
	if err := p.rest.do(ctx, http.MethodGet, "/deviceStates/"+seg(name), nil, nil, &d); err != nil {
		return nil, mapErr("asterisk.DeviceState", err, "device state "+name, "")
	}
	return &d, nil
}

const uncontrolledDevice = "only custom devices (Stasis:<name>) can be changed"

// SetDeviceState sets a custom device state (Stasis:<name>).
func (p *PBX) SetDeviceState(ctx context.Context, name, state string) error {
	err := p.rest.do(ctx, http.MethodPut, "/deviceStates/"+seg(name), url.Values{"deviceState": {state}}, nil, nil)
	if err == nil {
		p.log.Debug("device state set", zap.String("device", name), zap.String("state", state))
	}
	return mapErr("asterisk.SetDeviceState", err, "device state "+name, uncontrolledDevice)
}

// DeleteDeviceState deletes a custom device state and publishes
// device_state.changed UNKNOWN: Asterisk 22.10 raises UNKNOWN on the
// delete but forwards it to no app.
func (p *PBX) DeleteDeviceState(ctx context.Context, name string) error {
	err := p.rest.do(ctx, http.MethodDelete, "/deviceStates/"+seg(name), nil, nil, nil)
	if err == nil {
		d := callapi.DeviceStateData{DeviceState: callapi.DeviceState{Name: name, Node: p.cfg.Node, State: "UNKNOWN"}}
		for _, e := range p.nodeResourceEvents(callapi.EvDeviceStateChanged, name, time.Now().UTC(), d, nil) {
			p.publish(context.WithoutCancel(ctx), e)
		}
	}
	return mapErr("asterisk.DeleteDeviceState", err, "device state "+name, uncontrolledDevice)
}

// Mailboxes lists the mailboxes whose counts were set over ARI.
func (p *PBX) Mailboxes(ctx context.Context) ([]*callapi.Mailbox, error) {
	var out []*callapi.Mailbox
	if err := p.rest.do(ctx, http.MethodGet, "/mailboxes", nil, nil, &out); err != nil {
		return nil, mapErr("asterisk.Mailboxes", err, "mailboxes", "")
	}
	return out, nil
}

// Mailbox returns one mailbox's counts.
func (p *PBX) Mailbox(ctx context.Context, name string) (*callapi.Mailbox, error) {
	var m callapi.Mailbox
	if err := p.rest.do(ctx, http.MethodGet, "/mailboxes/"+seg(name), nil, nil, &m); err != nil {
		return nil, mapErr("asterisk.Mailbox", err, "mailbox "+name, "")
	}
	return &m, nil
}

// SetMailbox sets a mailbox's counts (creating it) and publishes
// mailbox.changed: Asterisk has no mailbox event.
func (p *PBX) SetMailbox(ctx context.Context, m callapi.Mailbox) error {
	q := url.Values{"oldMessages": {strconv.Itoa(m.OldMessages)}, "newMessages": {strconv.Itoa(m.NewMessages)}}
	err := p.rest.do(ctx, http.MethodPut, "/mailboxes/"+seg(m.Name), q, nil, nil)
	if err == nil {
		p.publishMailbox(ctx, callapi.EvMailboxChanged, m)
	}
	return mapErr("asterisk.SetMailbox", err, "mailbox "+m.Name, "")
}

// DeleteMailbox deletes a mailbox and publishes mailbox.deleted.
func (p *PBX) DeleteMailbox(ctx context.Context, name string) error {
	err := p.rest.do(ctx, http.MethodDelete, "/mailboxes/"+seg(name), nil, nil, nil)
	if err == nil {
		p.publishMailbox(ctx, callapi.EvMailboxDeleted, callapi.Mailbox{Name: name})
	}
	return mapErr("asterisk.DeleteMailbox", err, "mailbox "+name, "")
}

// GlobalVariable reads a global variable ("" when it is not set, as
// Asterisk answers).
func (p *PBX) GlobalVariable(ctx context.Context, name string) (string, error) {
	var out struct {
		Value string `json:"value"`
	}
	err := p.rest.do(ctx, http.MethodGet, "/asterisk/variable", url.Values{"variable": {name}}, nil, &out)
	return out.Value, mapErr("asterisk.GlobalVariable", err, "variable "+name, "")
}

// SetGlobalVariable sets a global variable.
func (p *PBX) SetGlobalVariable(ctx context.Context, name, value string) error {
	err := p.rest.do(ctx, http.MethodPost, "/asterisk/variable", url.Values{"variable": {name}, "value": {value}}, nil, nil)
	return mapErr("asterisk.SetGlobalVariable", err, "variable "+name, "")
}
