package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/callgw/callgw/callapi"
)

// Webhook subscriptions (/v1/webhooks): the tenant's URLs that receive its
// events as signed POSTs. The receiver checks each POST with
// callapi.VerifyWebhook. Another tenant's subscription is not_found.

// CreateWebhook subscribes req.URL to the events req's filters select. The
// answer's Secret is shown this once: keep it to verify the signatures.
func (c *Client) CreateWebhook(ctx context.Context, req callapi.WebhookRequest, opts ...CallOption) (*callapi.Webhook, error) {
	var w callapi.Webhook
	if err := c.call(ctx, http.MethodPost, "/v1/webhooks", req, &w, opts); err != nil {
		return nil, err
	}
	return &w, nil
}

// ListWebhooks returns the tenant's subscriptions, oldest first.
func (c *Client) ListWebhooks(ctx context.Context, opts ...CallOption) ([]*callapi.Webhook, error) {
	var l callapi.WebhookList
	if err := c.call(ctx, http.MethodGet, "/v1/webhooks", nil, &l, opts); err != nil {
		return nil, err
	}
	return l.Webhooks, nil
}

// GetWebhook returns one subscription with its queue counts (pending,
// retrying, dead).
func (c *Client) GetWebhook(ctx context.Context, id string, opts ...CallOption) (*callapi.Webhook, error) {
	var w callapi.Webhook
	if err := c.call(ctx, http.MethodGet, "/v1/webhooks/"+esc(id), nil, &w, opts); err != nil {
		return nil, err
	}
	return &w, nil
}

// UpdateWebhook changes the members req sets (nil: unchanged; an empty
// value clears a filter).
func (c *Client) UpdateWebhook(ctx context.Context, id string, req callapi.WebhookRequest, opts ...CallOption) (*callapi.Webhook, error) {
	var w callapi.Webhook
	if err := c.call(ctx, http.MethodPatch, "/v1/webhooks/"+esc(id), req, &w, opts); err != nil {
		return nil, err
	}
	return &w, nil
}

// DeleteWebhook deletes a subscription and the deliveries still pending.
func (c *Client) DeleteWebhook(ctx context.Context, id string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/webhooks/"+esc(id), nil, nil, opts)
}

// PauseWebhook stops deliveries; events keep queueing until ResumeWebhook.
func (c *Client) PauseWebhook(ctx context.Context, id string, opts ...CallOption) (*callapi.Webhook, error) {
	return c.webhookOp(ctx, id, "pause", nil, opts)
}

// ResumeWebhook resumes the deliveries of a paused subscription.
func (c *Client) ResumeWebhook(ctx context.Context, id string, opts ...CallOption) (*callapi.Webhook, error) {
	return c.webhookOp(ctx, id, "resume", nil, opts)
}

// RotateWebhookSecret makes a new secret, returned in the answer's Secret.
// The previous one keeps signing for overlapSeconds (nil: the gateway's
// default, callapi.WebhookRotateOverlap; 0: revoked at once).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, overlapSeconds *int, opts ...CallOption) (*callapi.Webhook, error) {
	return c.webhookOp(ctx, id, "rotate", callapi.WebhookRotateRequest{OverlapSeconds: overlapSeconds}, opts)
}

func (c *Client) webhookOp(ctx context.Context, id, op string, body any, opts []CallOption) (*callapi.Webhook, error) {
	var w callapi.Webhook
	if err := c.call(ctx, http.MethodPost, "/v1/webhooks/"+esc(id)+"/"+op, body, &w, opts); err != nil {
		return nil, err
	}
	return &w, nil
}

// PingWebhook POSTs a webhook.ping to the subscription's URL now and
// returns the attempt (a failed ping is an attempt with Outcome "failed",
// not an error).
func (c *Client) PingWebhook(ctx context.Context, id string, opts ...CallOption) (*callapi.WebhookAttempt, error) {
	var a callapi.WebhookAttempt
	if err := c.call(ctx, http.MethodPost, "/v1/webhooks/"+esc(id)+"/ping", nil, &a, opts); err != nil {
		return nil, err
	}
	return &a, nil
}

// WebhookAttempts returns the delivery log: the latest attempts, newest
// first, at most limit (0: all kept, callapi.WebhookLogDepth).
func (c *Client) WebhookAttempts(ctx context.Context, id string, limit int, opts ...CallOption) ([]callapi.WebhookAttempt, error) {
	var l callapi.WebhookAttemptList
	q := ""
	if limit > 0 {
		q = strconv.Itoa(limit)
	}
	if err := c.call(ctx, http.MethodGet, "/v1/webhooks/"+esc(id)+"/attempts", nil, &l, opts, "limit", q); err != nil {
		return nil, err
	}
	return l.Attempts, nil
}
