package client

import (
	"context"
	"net/http"
	"strings"

	"github.com/callgw/callgw/callapi"
)

// Node resources: endpoints, device states (BLF), mailboxes (MWI) and
// global variables of the Asterisk nodes, within the tenant's name
// patterns (an admin token sees every name). OnNode addresses one node.

// EndpointList is the answer of ListEndpoints.
type EndpointList struct {
	Endpoints    []*callapi.Endpoint `json:"endpoints"`
	MissingNodes []string            `json:"missing_nodes"`
}

// DeviceStateList is the answer of ListDeviceStates.
type DeviceStateList struct {
	DeviceStates []*callapi.DeviceState `json:"device_states"`
	MissingNodes []string               `json:"missing_nodes"`
}

// MailboxList is the answer of ListMailboxes.
type MailboxList struct {
	Mailboxes    []*callapi.Mailbox `json:"mailboxes"`
	MissingNodes []string           `json:"missing_nodes"`
}

// ListEndpoints lists the endpoints of every live node, each with its node.
func (c *Client) ListEndpoints(ctx context.Context, opts ...CallOption) (*EndpointList, error) {
	var l EndpointList
	if err := c.call(ctx, http.MethodGet, "/v1/endpoints", nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetEndpoint returns one endpoint, named technology/resource (PJSIP/alice).
func (c *Client) GetEndpoint(ctx context.Context, name string, opts ...CallOption) (*callapi.Endpoint, error) {
	tech, res, ok := strings.Cut(name, "/")
	if !ok || tech == "" || res == "" {
		return nil, callapi.Invalid("name", "%q is not an endpoint name: technology/resource (PJSIP/alice)", name)
	}
	var e callapi.Endpoint
	if err := c.call(ctx, http.MethodGet, "/v1/endpoints/"+esc(tech)+"/"+esc(res), nil, &e, opts); err != nil {
		return nil, err
	}
	return &e, nil
}

// ListDeviceStates lists the device states of every live node.
func (c *Client) ListDeviceStates(ctx context.Context, opts ...CallOption) (*DeviceStateList, error) {
	var l DeviceStateList
	if err := c.call(ctx, http.MethodGet, "/v1/device-states", nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetDeviceState returns a device's state (Stasis:queue-1, PJSIP/alice).
func (c *Client) GetDeviceState(ctx context.Context, name string, opts ...CallOption) (*callapi.DeviceState, error) {
	var d callapi.DeviceState
	if err := c.call(ctx, http.MethodGet, "/v1/device-states/"+esc(name), nil, &d, opts); err != nil {
		return nil, err
	}
	return &d, nil
}

// SetDeviceState sets a custom device's state (Stasis:<name>; one of
// callapi.DeviceStates).
func (c *Client) SetDeviceState(ctx context.Context, name, state string, opts ...CallOption) error {
	return c.call(ctx, http.MethodPut, "/v1/device-states/"+esc(name), map[string]string{"state": state}, nil, opts)
}

// DeleteDeviceState deletes a custom device's state.
func (c *Client) DeleteDeviceState(ctx context.Context, name string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/device-states/"+esc(name), nil, nil, opts)
}

// ListMailboxes lists the mailboxes of every live node.
func (c *Client) ListMailboxes(ctx context.Context, opts ...CallOption) (*MailboxList, error) {
	var l MailboxList
	if err := c.call(ctx, http.MethodGet, "/v1/mailboxes", nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetMailbox returns a mailbox's counts.
func (c *Client) GetMailbox(ctx context.Context, name string, opts ...CallOption) (*callapi.Mailbox, error) {
	var m callapi.Mailbox
	if err := c.call(ctx, http.MethodGet, "/v1/mailboxes/"+esc(name), nil, &m, opts); err != nil {
		return nil, err
	}
	return &m, nil
}

// SetMailbox sets a mailbox's counts (message waiting), creating it.
func (c *Client) SetMailbox(ctx context.Context, name string, oldMessages, newMessages int, opts ...CallOption) error {
	body := map[string]int{"old_messages": oldMessages, "new_messages": newMessages}
	return c.call(ctx, http.MethodPut, "/v1/mailboxes/"+esc(name), body, nil, opts)
}

// DeleteMailbox deletes a mailbox.
func (c *Client) DeleteMailbox(ctx context.Context, name string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/mailboxes/"+esc(name), nil, nil, opts)
}

// GetGlobalVariable reads a global (dialplan) variable ("" when unset).
func (c *Client) GetGlobalVariable(ctx context.Context, name string, opts ...CallOption) (string, error) {
	var v callapi.Variable
	if err := c.call(ctx, http.MethodGet, "/v1/globals/"+esc(name), nil, &v, opts); err != nil {
		return "", err
	}
	return v.Value, nil
}

// SetGlobalVariable sets a global (dialplan) variable.
func (c *Client) SetGlobalVariable(ctx context.Context, name, value string, opts ...CallOption) error {
	return c.call(ctx, http.MethodPut, "/v1/globals/"+esc(name), map[string]string{"value": value}, nil, opts)
}
