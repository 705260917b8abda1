package client

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// CreateBridge creates a bridge, with calls in it if given.
func (c *Client) CreateBridge(ctx context.Context, req callapi.BridgeCreateRequest, opts ...CallOption) (*callapi.Bridge, error) {
	var b callapi.Bridge
	if err := c.call(ctx, http.MethodPost, "/v1/bridges", req, &b, opts); err != nil {
		return nil, err
	}
	return &b, nil
}

// ListBridges lists the tenant's bridges across all nodes.
func (c *Client) ListBridges(ctx context.Context, opts ...CallOption) (*BridgeList, error) {
	var l BridgeList
	if err := c.call(ctx, http.MethodGet, "/v1/bridges", nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetBridge returns one bridge.
func (c *Client) GetBridge(ctx context.Context, id callapi.BridgeID, opts ...CallOption) (*callapi.Bridge, error) {
	var b callapi.Bridge
	if err := c.call(ctx, http.MethodGet, "/v1/bridges/"+esc(string(id)), nil, &b, opts); err != nil {
		return nil, err
	}
	return &b, nil
}

// DestroyBridge destroys a bridge (its calls stay up).
func (c *Client) DestroyBridge(ctx context.Context, id callapi.BridgeID, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/bridges/"+esc(string(id)), nil, nil, opts)
}

// AddToBridge puts a call into a bridge.
func (c *Client) AddToBridge(ctx context.Context, bridgeID callapi.BridgeID, callID callapi.CallID, opts ...CallOption) error {
	return c.call(ctx, http.MethodPost, "/v1/bridges/"+esc(string(bridgeID))+"/calls", BridgeCallRequest{CallID: callID}, nil, opts)
}

// RemoveFromBridge takes a call out of a bridge.
func (c *Client) RemoveFromBridge(ctx context.Context, bridgeID callapi.BridgeID, callID callapi.CallID, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/bridges/"+esc(string(bridgeID))+"/calls/"+esc(string(callID)), nil, nil, opts)
}

// PlayOnBridge plays media to every call in a bridge.
func (c *Client) PlayOnBridge(ctx context.Context, id callapi.BridgeID, req PlayRequest, opts ...CallOption) (*callapi.Playback, error) {
	var p callapi.Playback
	if err := c.call(ctx, http.MethodPost, "/v1/bridges/"+esc(string(id))+"/play", req, &p, opts); err != nil {
		return nil, err
	}
	return &p, nil
}

// RecordBridge records the mix of a bridge.
func (c *Client) RecordBridge(ctx context.Context, id callapi.BridgeID, req RecordRequest, opts ...CallOption) (*callapi.Recording, error) {
	var rec callapi.Recording
	if err := c.call(ctx, http.MethodPost, "/v1/bridges/"+esc(string(id))+"/record", req, &rec, opts); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Transfer connects the transferee with the target and hangs up the
// transferer (attended transfer).
func (c *Client) Transfer(ctx context.Context, req TransferRequest, opts ...CallOption) (*callapi.Bridge, error) {
	var b callapi.Bridge
	if err := c.call(ctx, http.MethodPost, "/v1/transfers", req, &b, opts); err != nil {
		return nil, err
	}
	return &b, nil
}

// GetPlayback returns a playback.
func (c *Client) GetPlayback(ctx context.Context, id string, opts ...CallOption) (*callapi.Playback, error) {
	var p callapi.Playback
	if err := c.call(ctx, http.MethodGet, "/v1/playbacks/"+esc(id), nil, &p, opts); err != nil {
		return nil, err
	}
	return &p, nil
}

// StopPlayback stops a playback.
func (c *Client) StopPlayback(ctx context.Context, id string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/playbacks/"+esc(id), nil, nil, opts)
}

// GetLiveRecording returns a recording in progress.
func (c *Client) GetLiveRecording(ctx context.Context, name string, opts ...CallOption) (*callapi.Recording, error) {
	var r callapi.Recording
	if err := c.call(ctx, http.MethodGet, "/v1/recordings/live/"+esc(name), nil, &r, opts); err != nil {
		return nil, err
	}
	return &r, nil
}

// StopRecording stops a recording in progress.
func (c *Client) StopRecording(ctx context.Context, name string, opts ...CallOption) error {
	return c.call(ctx, http.MethodPost, "/v1/recordings/live/"+esc(name)+"/stop", nil, nil, opts)
}

// ListStoredRecordings lists the finished recordings across all nodes.
func (c *Client) ListStoredRecordings(ctx context.Context, opts ...CallOption) (*RecordingList, error) {
	var l RecordingList
	if err := c.call(ctx, http.MethodGet, "/v1/recordings/stored", nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetStoredRecording returns a finished recording.
func (c *Client) GetStoredRecording(ctx context.Context, name string, opts ...CallOption) (*callapi.Recording, error) {
	var r callapi.Recording
	if err := c.call(ctx, http.MethodGet, "/v1/recordings/stored/"+esc(name), nil, &r, opts); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteStoredRecording deletes a finished recording.
func (c *Client) DeleteStoredRecording(ctx context.Context, name string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/recordings/stored/"+esc(name), nil, nil, opts)
}

// ListNodes lists the Asterisk nodes the gateway knows, with their state.
func (c *Client) ListNodes(ctx context.Context, opts ...CallOption) ([]callapi.Node, error) {
	var l struct {
		Nodes []callapi.Node `json:"nodes"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/nodes", nil, &l, opts); err != nil {
		return nil, err
	}
	return l.Nodes, nil
}

// GetNode returns one node.
func (c *Client) GetNode(ctx context.Context, id callapi.NodeID, opts ...CallOption) (*callapi.Node, error) {
	var n callapi.Node
	if err := c.call(ctx, http.MethodGet, "/v1/nodes/"+esc(string(id)), nil, &n, opts); err != nil {
		return nil, err
	}
	return &n, nil
}

// Ready reports whether the gateway is ready (GET /readyz): nil, or the
// *Error saying why not.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// OpenAPI returns the gateway's OpenAPI description.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var raw jsonRaw
	if err := c.call(ctx, http.MethodGet, "/v1/openapi.json", nil, &raw, nil); err != nil {
		return nil, err
	}
	return raw, nil
}

type jsonRaw []byte

func (j *jsonRaw) UnmarshalJSON(b []byte) error { *j = append((*j)[:0], b...); return nil }
