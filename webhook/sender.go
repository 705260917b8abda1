package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Sender POSTs signed bodies to targets under a Policy, with bounded time
// and response size, and never follows redirects.
type Sender struct {
	client      *http.Client
	maxResponse int64
	now         func() time.Time
}

// NewSender returns a sender whose attempts last at most timeout and read
// at most maxResponse bytes of the answer.
func NewSender(p Policy, timeout time.Duration, maxResponse int64) *Sender {
	d := &net.Dialer{Timeout: timeout, Control: p.control}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout, ForceAttemptHTTP2: true}
	return &Sender{
		client: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		maxResponse: maxResponse,
		now:         time.Now,
	}
}

// Result is the outcome of one POST.
type Result struct {
	Status  int
	Latency time.Duration
	Err     error // nil when the receiver answered 2xx
}

// Post sends body to target signed with secrets.
func (s *Sender) Post(ctx context.Context, target, subID, eventID string, body []byte, secrets []string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Result{Err: err}
	}
	start := s.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callgw-webhooks")
	req.Header.Set(callapi.WebhookSignatureHeader, callapi.SignWebhook(start, body, secrets...))
	req.Header.Set(callapi.WebhookIDHeader, eventID)
	req.Header.Set(callapi.WebhookSubscriptionHeader, subID)
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Latency: time.Since(start), Err: err}
	}
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, s.maxResponse))
	_ = resp.Body.Close()
	r := Result{Status: resp.StatusCode, Latency: time.Since(start)}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		r.Err = fmt.Errorf("redirect to %q not followed", resp.Header.Get("Location"))
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		r.Err = fmt.Errorf("receiver answered %s", resp.Status)
	case rerr != nil && !errors.Is(rerr, io.EOF):
		r.Err = fmt.Errorf("reading the answer: %w", rerr)
	}
	return r
}
