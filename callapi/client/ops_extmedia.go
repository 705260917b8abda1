package client

import (
	"context"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// ExternalMediaRequest is the body of StartExternalMedia: where the call's
// audio goes (host:port, or a websocket_client connection id with
// transport websocket) and how. The host must be on the tenant's
// allow-list (a *Error with code forbidden otherwise).
type ExternalMediaRequest struct {
	Host          string `json:"host"`
	Encapsulation string `json:"encapsulation,omitempty"` // rtp (default), audiosocket, none
	Transport     string `json:"transport,omitempty"`     // udp, tcp, websocket
	Format        string `json:"format,omitempty"`        // ulaw (default), slin16, …
}

// StartExternalMedia sends a call's audio to an outside service (a voice
// bot) and plays what it sends back into the call. For rtp, the result
// names the local address and port to send the audio back to.
func (c *Client) StartExternalMedia(ctx context.Context, id callapi.CallID, req ExternalMediaRequest, opts ...CallOption) (*callapi.ExternalMedia, error) {
	var m callapi.ExternalMedia
	if err := c.call(ctx, http.MethodPost, "/v1/calls/"+esc(string(id))+"/external-media", req, &m, opts); err != nil {
		return nil, err
	}
	return &m, nil
}

// StopExternalMedia stops external media of a call.
func (c *Client) StopExternalMedia(ctx context.Context, id callapi.CallID, mediaID string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/calls/"+esc(string(id))+"/external-media/"+esc(mediaID), nil, nil, opts)
}
