package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/internal/retry"
)

// Client calls one gateway (or a load balancer in front of several). It is
// safe for concurrent use.
type Client struct {
	base       *url.URL
	hc         *http.Client
	retries    int
	backoffMin time.Duration
	backoffMax time.Duration
	userAgent  string

	mu    sync.Mutex
	token string
	creds *credentials // when set, tokens are fetched and renewed
	exp   time.Time
}

type credentials struct{ id, secret, scope string }

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer tok" on every request.
func WithToken(tok string) Option { return func(c *Client) { c.token = tok } }

// WithClientCredentials makes the client get its token from POST
// /oauth/token with this client id and secret (scope may be empty: every
// scope the client is allowed), and get a new one shortly before it
// expires.
func WithClientCredentials(id, secret, scope string) Option {
	return func(c *Client) { c.creds = &credentials{id: id, secret: secret, scope: scope} }
}

// WithHTTPClient replaces http.DefaultClient. Its Timeout, if any, bounds
// every request including event streams: prefer contexts.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times a retryable failure is retried (default
// 2, so three attempts) and the backoff bounds between attempts.
func WithRetries(n int, lo, hi time.Duration) Option {
	return func(c *Client) { c.retries, c.backoffMin, c.backoffMax = n, lo, hi }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the gateway at baseURL (http://host:8080).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("callapi: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("callapi: base URL %q: want http(s)://host[:port]", baseURL)
	}
	c := &Client{base: u, hc: http.DefaultClient, retries: 2, backoffMin: 200 * time.Millisecond, backoffMax: 3 * time.Second, userAgent: "callgw-callapi-go"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the gateway's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// CallOption adjusts one request.
type CallOption func(*request)

// WithTimeout sets the command's deadline on the gateway (the `timeout`
// query parameter: how long the gateway waits for the worker's reply;
// default 5s, or for an Originate with WaitAnswered its ring time plus 5s;
// at most 90s by default). The context bounds the whole call client-side.
func WithTimeout(d time.Duration) CallOption {
	return func(r *request) { r.query.Set("timeout", d.String()) }
}

// WithIdempotencyKey sets the command's Idempotency-Key instead of a
// generated one: the same key (per tenant) never acts twice, across
// processes and restarts.
func WithIdempotencyKey(k string) CallOption { return func(r *request) { r.idemKey = k } }

// OnNode addresses a node resource operation (endpoints, device states,
// mailboxes, globals) to one node: the ?node= query parameter. Without it
// a listing covers every live node, a read answers from the first node
// that has the name, a change is made on every live node.
func OnNode(node string) CallOption { return func(r *request) { r.query.Set("node", node) } }

// request is one API request, kept whole so that it can be sent again.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	idemKey      string
	command      bool // a write: retried only with an idempotency key
	header       http.Header
}

func (c *Client) newRequest(method, path string, body any, opts []CallOption) (*request, error) {
	r := &request{method: method, path: path, query: url.Values{}, header: http.Header{}}
	r.command = method != http.MethodGet
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("callapi: encoding %s %s: %w", method, path, err)
		}
		r.body = b
	}
	for _, o := range opts {
		o(r)
	}
	if r.command && r.idemKey == "" {
		r.idemKey = uuid.NewString()
	}
	return r, nil
}

// do sends r (retrying as the package doc says) and decodes a 2xx body
// into out when out is not nil. It returns the final status.
func (c *Client) do(ctx context.Context, r *request, out any) (int, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		status, retryable, err := c.once(ctx, r, out)
		if err == nil {
			return status, nil
		}
		lastErr = err
		if !retryable || attempt >= c.retries || ctx.Err() != nil {
			return status, lastErr
		}
		if !retry.Sleep(ctx, retry.Backoff(attempt, c.backoffMin, c.backoffMax)) {
			return status, lastErr
		}
	}
}

// once sends r once. retryable says whether sending it again is safe and
// may help.
func (c *Client) once(ctx context.Context, r *request, out any) (int, bool, error) {
	u := *c.base
	if p, err := url.PathUnescape(r.path); err == nil && p != r.path {
		// An escaped path segment (a device name PJSIP%2Falice) stays one.
		u.RawPath = u.EscapedPath() + r.path
		u.Path += p
	} else {
		u.Path += r.path
	}
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return 0, false, fmt.Errorf("callapi: %s %s: %w", r.method, r.path, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}
	tok, err := c.bearer(ctx)
	if err != nil {
		return 0, false, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return c.send(req, !r.command || r.idemKey != "", out)
}

// send sends req once and decodes a 2xx body into out. safe says whether
// the request may be sent again (a read, or a keyed command); retryable is
// true when it is safe and a retry may help.
func (c *Client) send(req *http.Request, safe bool, out any) (status int, retryable bool, err error) {
	ctx := req.Context()
	what := req.Method + " " + req.URL.Path
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, safe && ctx.Err() == nil, fmt.Errorf("callapi: %s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, safe && ctx.Err() == nil, fmt.Errorf("callapi: %s: reading the answer: %w", what, err)
	}
	if resp.StatusCode >= 300 {
		e := problemOf(resp, raw)
		return resp.StatusCode, safe && e.Temporary(), e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, false, fmt.Errorf("callapi: %s: decoding the answer: %w", what, err)
		}
	}
	return resp.StatusCode, false, nil
}

// bearer returns the token to send, getting one first when the client
// has credentials and no valid token.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil || (c.token != "" && time.Until(c.exp) > 30*time.Second) {
		return c.token, nil
	}
	tok, err := c.fetchToken(ctx, c.creds.id, c.creds.secret, c.creds.scope)
	if err != nil {
		return "", err
	}
	c.token, c.exp = tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return c.token, nil
}

// errNoBody is returned when a 2xx answer that must carry a body had none.
var errNoBody = errors.New("callapi: the gateway answered without a body")
