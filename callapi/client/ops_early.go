package client

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// CreateCall creates a call without dialling it (state down): set it up,
// then DialCall. req.Node empty: any live node.
func (c *Client) CreateCall(ctx context.Context, req callapi.CreateRequest, opts ...CallOption) (*callapi.Call, error) {
	var call callapi.Call
	if err := c.call(ctx, http.MethodPost, "/v1/calls/create", req, &call, opts); err != nil {
		return nil, err
	}
	return &call, nil
}

// DialCall dials a call made by CreateCall.
func (c *Client) DialCall(ctx context.Context, id callapi.CallID, req callapi.DialArgs, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "dial", req, opts)
}

// SendMessage sends a text message to an endpoint of the tenant; messages
// endpoints send arrive as message.received events.
func (c *Client) SendMessage(ctx context.Context, req callapi.MessageRequest, opts ...CallOption) (*callapi.MessageSent, error) {
	var out callapi.MessageSent
	if err := c.call(ctx, http.MethodPost, "/v1/messages", req, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
