package callapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Webhook headers: every POST carries the signature, the delivery id (the
// event id, the same on every retry: receivers drop duplicates by it) and
// the subscription id.
const (
	WebhookSignatureHeader    = "Callgw-Signature"
	WebhookIDHeader           = "Callgw-Webhook-Id"
	WebhookSubscriptionHeader = "Callgw-Subscription"
	// WebhookTolerance is the replay window VerifyWebhook accepts by
	// default: a signature older or newer than this is refused.
	WebhookTolerance = 5 * time.Minute
)

// Webhook signature errors.
var (
	ErrWebhookSignature = errors.New("callapi: webhook signature does not match")
	ErrWebhookTimestamp = errors.New("callapi: webhook timestamp outside the replay window")
	ErrWebhookHeader    = errors.New("callapi: webhook signature header malformed")
)

// Webhook is a webhook subscription as the API shows it. Secret is set
// only in the answers of create and rotate.
type Webhook struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	URL         string    `json:"url"`
	Types       []string  `json:"types,omitempty"`
	Node        NodeID    `json:"node,omitempty"`
	Tag         string    `json:"tag,omitempty"`
	CallID      CallID    `json:"call_id,omitempty"`
	Description string    `json:"description,omitempty"`
	State       string    `json:"state"` // active, paused
	Secret      string    `json:"secret,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	// Queue counts, when the broker answered: deliveries waiting for their
	// turn, waiting for a retry, and dead-lettered after the last retry.
	Pending  *int `json:"pending,omitempty"`
	Retrying *int `json:"retrying,omitempty"`
	Dead     *int `json:"dead,omitempty"`
}

// WebhookRequest creates or updates a subscription. On update, absent
// fields keep their value.
type WebhookRequest struct {
	URL         *string   `json:"url,omitempty"`
	Types       *[]string `json:"types,omitempty"`
	Node        *NodeID   `json:"node,omitempty"`
	Tag         *string   `json:"tag,omitempty"`
	CallID      *CallID   `json:"call_id,omitempty"`
	Description *string   `json:"description,omitempty"`
}

// WebhookRotateRequest is the optional body of a secret rotation.
// OverlapSeconds is how long the previous secret keeps signing next to the
// new one (every delivery then carries both signatures): absent, the
// default WebhookRotateOverlap; 0 revokes it at once (a leaked secret); at
// most WebhookMaxRotateOverlap.
type WebhookRotateRequest struct {
	OverlapSeconds *int `json:"overlap_seconds,omitempty"`
}

// Rotation overlap: the default, and the longest a request may ask for.
const (
	WebhookRotateOverlap    = 24 * time.Hour
	WebhookMaxRotateOverlap = 7 * 24 * time.Hour
)

// WebhookList is the body of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []*Webhook `json:"webhooks"`
}

// WebhookAttemptList is the body of GET /v1/webhooks/{id}/attempts: the
// latest attempts, newest first.
type WebhookAttemptList struct {
	Attempts []WebhookAttempt `json:"attempts"`
}

// WebhookLogDepth is how many attempts per subscription the delivery log
// keeps.
const WebhookLogDepth = 50

// Reasons of the invalid_argument errors of webhook requests (the
// problem's "reason" member).
const (
	ReasonInvalidURL       = "invalid_url"        // not an absolute http(s) URL, or carries credentials or a fragment
	ReasonHTTPSRequired    = "https_required"     // http:// to a host that is not loopback, outside dev
	ReasonTargetRefused    = "target_refused"     // loopback, private, link-local, shared or metadata address not allowed
	ReasonUnresolvableHost = "unresolvable_host"  // the host name does not resolve
	ReasonUnknownEventType = "unknown_event_type" // a types entry that matches no event type
	ReasonInvalidFilter    = "invalid_filter"     // a malformed node, tag or call id filter
)

// WebhookAttempt is one entry of a subscription's delivery log.
type WebhookAttempt struct {
	Time      time.Time `json:"time"`
	EventID   string    `json:"event_id"`
	EventType EventType `json:"event_type"`
	Attempt   int       `json:"attempt"`
	Status    int       `json:"status,omitempty"` // HTTP status; 0 when none came
	LatencyMS float64   `json:"latency_ms"`
	Outcome   string    `json:"outcome"` // delivered, retry, dead
	Error     string    `json:"error,omitempty"`
}

// SignWebhook returns the value of the Callgw-Signature header for body sent
// at t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", with one
// v1 per secret (two while a rotated secret overlaps the new one).
func SignWebhook(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + webhookMAC(s, ts, body))
	}
	return b.String()
}

func webhookMAC(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a Callgw-Signature header against the raw body: one
// v1 signature must match one of the secrets, and the timestamp must lie
// within tolerance of now (WebhookTolerance when tolerance is 0).
func VerifyWebhook(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...string) error {
	if tolerance <= 0 {
		tolerance = WebhookTolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrWebhookHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookHeader
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrWebhookTimestamp
	}
	for _, s := range secrets {
		want := webhookMAC(s, ts, body)
		for _, got := range sigs {
			if hmac.Equal([]byte(want), []byte(got)) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}
