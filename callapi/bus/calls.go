package bus

import (
	"context"
	"encoding/json"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
	"github.com/callgw/callgw/gateway"
)

// Originate places a call (client.Client.Originate): on req.Node, or on
// any free node. With callapi.WaitAnswered it returns once the call was
// answered, or a *client.NotAnsweredError holding the ended call.
func (c *Client) Originate(ctx context.Context, req callapi.OriginateRequest, opts ...CallOption) (*callapi.Call, error) {
	def := c.cfg.Timeout
	if req.Wait == callapi.WaitAnswered {
		def += gateway.RingTime(req.OriginateArgs)
	}
	ctx, cancel, o := c.prepare(ctx, def, opts)
	defer cancel()
	call, _, err := c.svc.Originate(ctx, o, req)
	if err != nil {
		return nil, fail(err)
	}
	if req.Wait == callapi.WaitAnswered && call.State != callapi.StateUp {
		return call, &client.NotAnsweredError{Call: call}
	}
	return call, nil
}

// GetCall returns one call (client.Client.GetCall).
func (c *Client) GetCall(ctx context.Context, id callapi.CallID, opts ...CallOption) (*callapi.Call, error) {
	ctx, cancel, o := c.prepare(ctx, c.cfg.Timeout, opts)
	defer cancel()
	raw, err := c.svc.Call(ctx, o, id)
	if err != nil {
		return nil, fail(err)
	}
	var call callapi.Call
	if err := json.Unmarshal(raw, &call); err != nil {
		return nil, fail(callapi.Wrap(callapi.CodeInternal, "bus.GetCall", err, "undecodable call"))
	}
	return &call, nil
}

// ListCalls lists the tenant's live calls across all live nodes (or on
// f.Node): client.Client.ListCalls without pages (Limit and Cursor are
// ignored).
func (c *Client) ListCalls(ctx context.Context, f client.ListCallsFilter, opts ...CallOption) (*client.CallList, error) {
	ctx, cancel, o := c.prepare(ctx, c.cfg.Timeout, opts)
	defer cancel()
	calls, missing, err := c.svc.Calls(ctx, o, gateway.ListRequest{Node: f.Node, ListArgs: callapi.ListArgs{State: f.State, Tag: f.Tag}})
	if err != nil {
		return nil, fail(err)
	}
	l := &client.CallList{Calls: calls, MissingNodes: []string{}}
	for _, n := range missing {
		l.MissingNodes = append(l.MissingNodes, string(n))
	}
	return l, nil
}

// Hangup ends a call; reason is a hangup reason or "" for normal.
func (c *Client) Hangup(ctx context.Context, id callapi.CallID, reason string, opts ...CallOption) error {
	ctx, cancel, o := c.prepare(ctx, c.cfg.Timeout, opts)
	defer cancel()
	_, err := c.svc.Hangup(ctx, o, id, reason)
	return fail(err)
}

// Do runs any call action of the registry (callapi/specs.go) on call id
// with its arguments (the Spec's type, or nil) and decodes its result into
// out (nil to drop it): the typed methods are Do with their action.
func (c *Client) Do(ctx context.Context, id callapi.CallID, a callapi.Action, args, out any, opts ...CallOption) error {
	ctx, cancel, o := c.prepare(ctx, c.cfg.Timeout, opts)
	defer cancel()
	_, err := c.svc.CallAction(ctx, o, id, a, args, out)
	return fail(err)
}

// Answer answers a ringing inbound call.
func (c *Client) Answer(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.Do(ctx, id, callapi.ActCallAnswer, nil, nil, opts...)
}

// Hold puts a call on hold.
func (c *Client) Hold(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.Do(ctx, id, callapi.ActCallHold, nil, nil, opts...)
}

// Unhold takes a call off hold.
func (c *Client) Unhold(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.Do(ctx, id, callapi.ActCallUnhold, nil, nil, opts...)
}

// SendDTMF sends digits to a call.
func (c *Client) SendDTMF(ctx context.Context, id callapi.CallID, req client.DTMFRequest, opts ...CallOption) error {
	args := callapi.DTMFArgs(req)
	return c.Do(ctx, id, callapi.ActCallDTMF, &args, nil, opts...)
}

// GetVariable reads a channel variable of a call.
func (c *Client) GetVariable(ctx context.Context, id callapi.CallID, name string, opts ...CallOption) (*callapi.Variable, error) {
	var v callapi.Variable
	if err := c.Do(ctx, id, callapi.ActCallVarGet, &callapi.VariableArgs{Name: name}, &v, opts...); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetVariable sets a channel variable of a call.
func (c *Client) SetVariable(ctx context.Context, id callapi.CallID, name, value string, opts ...CallOption) error {
	return c.Do(ctx, id, callapi.ActCallVarSet, &callapi.VariableArgs{Name: name, Value: value}, nil, opts...)
}
