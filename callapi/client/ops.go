package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// RingRequest is the body of POST /v1/calls/{id}/ring.
type RingRequest struct {
	On *bool `json:"on,omitempty"`
}

// MuteRequest is the body of POST /v1/calls/{id}/mute and /unmute.
type MuteRequest struct {
	Direction string `json:"direction,omitempty"` // both (default), in, out
}

// DTMFRequest is the body of POST /v1/calls/{id}/dtmf.
type DTMFRequest struct {
	Digits     string `json:"digits"`
	BetweenMS  int    `json:"between_ms,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

// PlayRequest is the body of POST /v1/calls/{id}/play and /v1/bridges/{id}/play.
type PlayRequest struct {
	Media []string `json:"media"` // sound:hello-world, tone:ring, …
	Lang  string   `json:"lang,omitempty"`
}

// RecordRequest is the body of POST /v1/calls/{id}/record and /v1/bridges/{id}/record.
type RecordRequest struct {
	Name               string `json:"name"`
	Format             string `json:"format,omitempty"`
	MaxDurationSeconds int    `json:"max_duration_seconds,omitempty"`
	MaxSilenceSeconds  int    `json:"max_silence_seconds,omitempty"`
	Beep               bool   `json:"beep,omitempty"`
	IfExists           string `json:"if_exists,omitempty"`
	TerminateOn        string `json:"terminate_on,omitempty"`
}

// RedirectRequest is the body of POST /v1/calls/{id}/redirect.
type RedirectRequest struct {
	Endpoint string `json:"endpoint"`
}

// ContinueRequest is the body of POST /v1/calls/{id}/continue.
type ContinueRequest struct {
	Context   string `json:"context,omitempty"`
	Extension string `json:"extension,omitempty"`
	Priority  int    `json:"priority,omitempty"`
	Label     string `json:"label,omitempty"`
}

// SnoopRequest is the body of POST /v1/calls/{id}/snoop.
type SnoopRequest struct {
	Spy     string `json:"spy,omitempty"`
	Whisper string `json:"whisper,omitempty"`
}

// MOHRequest is the body of POST /v1/calls/{id}/moh.
type MOHRequest struct {
	Class string `json:"class,omitempty"`
}

// VariableRequest is the body of PUT /v1/calls/{id}/variables/{name}.
type VariableRequest struct {
	Value string `json:"value"`
}

// BridgeCallRequest is the body of POST /v1/bridges/{id}/calls.
type BridgeCallRequest struct {
	CallID callapi.CallID `json:"call_id"`
}

// TransferRequest is the body of POST /v1/transfers.
type TransferRequest struct {
	Transferee callapi.CallID `json:"transferee"`
	Target     callapi.CallID `json:"target"`
	Transferer callapi.CallID `json:"transferer"`
}

// CallList is the answer of GET /v1/calls: the calls, and the nodes that
// did not answer in time (their calls are missing from the list).
type CallList struct {
	Calls        []*callapi.Call `json:"calls"`
	MissingNodes []string        `json:"missing_nodes"`
	// NextCursor is set when a Limit cut the list: pass it as Cursor.
	NextCursor string `json:"next_cursor,omitempty"`
}

// BridgeList is the answer of GET /v1/bridges.
type BridgeList struct {
	Bridges      []*callapi.Bridge `json:"bridges"`
	MissingNodes []string          `json:"missing_nodes"`
}

// RecordingList is the answer of GET /v1/recordings/stored.
type RecordingList struct {
	Recordings   []*callapi.Recording `json:"recordings"`
	MissingNodes []string             `json:"missing_nodes"`
}

// Token is the answer of POST /oauth/token.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// ListCallsFilter narrows GET /v1/calls.
type ListCallsFilter struct {
	Node  callapi.NodeID
	State callapi.CallState // "ended": the calls that ended recently (call records)
	Tag   string
	// Limit cuts the list into pages (1-1000; 0: everything); Cursor is
	// the NextCursor of the previous page.
	Limit  int
	Cursor string
}

func esc(s string) string { return url.PathEscape(s) }

// call sends method path with body and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, body, out any, opts []CallOption, query ...string) error {
	r, err := c.newRequest(method, path, body, opts)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(query); i += 2 {
		if query[i+1] != "" {
			r.query.Set(query[i], query[i+1])
		}
	}
	_, err = c.do(ctx, r, out)
	return err
}

// Token exchanges a client id and secret for a token (POST /oauth/token,
// client credentials). scope may be empty: every scope the client has.
func (c *Client) Token(ctx context.Context, clientID, secret, scope string) (*Token, error) {
	return c.fetchToken(ctx, clientID, secret, scope)
}

func (c *Client) fetchToken(ctx context.Context, id, secret, scope string) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	if scope != "" {
		form.Set("scope", scope)
	}
	u := *c.base
	u.Path += "/oauth/token"
	var tok Token
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, again, err := c.send(req, true, &tok)
		if err == nil {
			if tok.AccessToken == "" {
				return nil, errNoBody
			}
			return &tok, nil
		}
		if !again || attempt >= c.retries || ctx.Err() != nil {
			return nil, err
		}
		if !retry.Sleep(ctx, retry.Backoff(attempt, c.backoffMin, c.backoffMax)) {
			return nil, err
		}
	}
}

// Originate places a call (POST /v1/calls) and returns it. With Wait:
// WaitAnswered the answer comes once the callee answered (state up), or
// once the call ended unanswered (busy, no answer, rejected, …): Originate
// then returns the ended call, its Hangup saying why, together with a
// *NotAnsweredError. The gateway holds a waiting request for the ring
// time (Timeout, 30 s when 0) plus 5 s unless WithTimeout names a
// deadline, so ctx must allow that long. req is the body as the gateway
// decodes it (callapi.OriginateRequest):
//
//	call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/100", Wait: callapi.WaitAnswered}})
//	var na *client.NotAnsweredError
//	if errors.As(err, &na) { fmt.Println(na.Call.Hangup.DialStatus) } // BUSY, NOANSWER, …
//
// Dial does the same and returns a handle whose event subscription
// cannot miss the call's first events.
func (c *Client) Originate(ctx context.Context, req callapi.OriginateRequest, opts ...CallOption) (*callapi.Call, error) {
	var call callapi.Call
	if err := c.call(ctx, http.MethodPost, "/v1/calls", req, &call, opts); err != nil {
		return nil, err
	}
	if req.Wait == callapi.WaitAnswered && call.State != callapi.StateUp {
		return &call, &NotAnsweredError{Call: &call}
	}
	return &call, nil
}

// OriginateAsync places a call without waiting for the worker (Prefer:
// respond-async): the answer is the command id; the outcome arrives as a
// command.completed event.
func (c *Client) OriginateAsync(ctx context.Context, req callapi.OriginateRequest, opts ...CallOption) (*callapi.Accepted, error) {
	var acc callapi.Accepted
	opts = append(opts, func(r *request) { r.header.Set("Prefer", "respond-async") })
	if err := c.call(ctx, http.MethodPost, "/v1/calls", req, &acc, opts); err != nil {
		return nil, err
	}
	return &acc, nil
}

// ListCalls lists the tenant's live calls across all nodes (GET /v1/calls).
func (c *Client) ListCalls(ctx context.Context, f ListCallsFilter, opts ...CallOption) (*CallList, error) {
	var l CallList
	limit := ""
	if f.Limit > 0 {
		limit = strconv.Itoa(f.Limit)
	}
	err := c.call(ctx, http.MethodGet, "/v1/calls", nil, &l, opts, "node", string(f.Node), "state", string(f.State), "tag", f.Tag, "limit", limit, "cursor", f.Cursor)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// AllCalls iterates over every call of the listing, fetching it a page of
// f.Limit (100 when 0) at a time; the nodes missing from any page are
// reported by missing when it is not nil. The error, if any, is the last
// value.
func (c *Client) AllCalls(ctx context.Context, f ListCallsFilter, missing func([]string), opts ...CallOption) iter.Seq2[*callapi.Call, error] {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return func(yield func(*callapi.Call, error) bool) {
		for {
			l, err := c.ListCalls(ctx, f, opts...)
			if err != nil {
				yield(nil, err)
				return
			}
			if missing != nil && len(l.MissingNodes) > 0 {
				missing(l.MissingNodes)
			}
			for _, call := range l.Calls {
				if !yield(call, nil) {
					return
				}
			}
			if l.NextCursor == "" {
				return
			}
			f.Cursor = l.NextCursor
		}
	}
}

// GetCall returns one call (GET /v1/calls/{id}).
func (c *Client) GetCall(ctx context.Context, id callapi.CallID, opts ...CallOption) (*callapi.Call, error) {
	var call callapi.Call
	if err := c.call(ctx, http.MethodGet, "/v1/calls/"+esc(string(id)), nil, &call, opts); err != nil {
		return nil, err
	}
	return &call, nil
}

// Hangup ends a call (DELETE /v1/calls/{id}); reason is a hangup reason
// (normal, busy, …) or "" for normal.
func (c *Client) Hangup(ctx context.Context, id callapi.CallID, reason string, opts ...CallOption) error {
	return c.call(ctx, http.MethodDelete, "/v1/calls/"+esc(string(id)), nil, nil, opts, "reason", reason)
}

func (c *Client) callAction(ctx context.Context, method string, id callapi.CallID, action string, body any, opts []CallOption) error {
	return c.call(ctx, method, "/v1/calls/"+esc(string(id))+"/"+action, body, nil, opts)
}

// Answer answers an inbound call.
func (c *Client) Answer(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "answer", nil, opts)
}

// Ring indicates ringing to the caller of an inbound call.
func (c *Client) Ring(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "ring", nil, opts)
}

// RingStop stops indicating ringing.
func (c *Client) RingStop(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "ring/stop", nil, opts)
}

// Hold puts a call on hold.
func (c *Client) Hold(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "hold", nil, opts)
}

// Unhold takes a call off hold.
func (c *Client) Unhold(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "unhold", nil, opts)
}

// Mute mutes a call in direction (both, in, out; "" for both).
func (c *Client) Mute(ctx context.Context, id callapi.CallID, direction string, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "mute", MuteRequest{Direction: direction}, opts)
}

// Unmute unmutes a call in direction.
func (c *Client) Unmute(ctx context.Context, id callapi.CallID, direction string, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "unmute", MuteRequest{Direction: direction}, opts)
}

// SendDTMF sends digits to a call.
func (c *Client) SendDTMF(ctx context.Context, id callapi.CallID, req DTMFRequest, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "dtmf", req, opts)
}

// Redirect moves a call to another endpoint.
func (c *Client) Redirect(ctx context.Context, id callapi.CallID, endpoint string, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "redirect", RedirectRequest{Endpoint: endpoint}, opts)
}

// Continue hands a call back to the dialplan.
func (c *Client) Continue(ctx context.Context, id callapi.CallID, req ContinueRequest, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "continue", req, opts)
}

// StartMOH plays music on hold to a call (class "" for the default).
func (c *Client) StartMOH(ctx context.Context, id callapi.CallID, class string, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodPost, id, "moh", MOHRequest{Class: class}, opts)
}

// StopMOH stops music on hold.
func (c *Client) StopMOH(ctx context.Context, id callapi.CallID, opts ...CallOption) error {
	return c.callAction(ctx, http.MethodDelete, id, "moh", nil, opts)
}

// Play plays media to a call; the playback ends with a
// call.playback.finished event.
func (c *Client) Play(ctx context.Context, id callapi.CallID, req PlayRequest, opts ...CallOption) (*callapi.Playback, error) {
	var p callapi.Playback
	if err := c.call(ctx, http.MethodPost, "/v1/calls/"+esc(string(id))+"/play", req, &p, opts); err != nil {
		return nil, err
	}
	return &p, nil
}

// Record records a call.
func (c *Client) Record(ctx context.Context, id callapi.CallID, req RecordRequest, opts ...CallOption) (*callapi.Recording, error) {
	var rec callapi.Recording
	if err := c.call(ctx, http.MethodPost, "/v1/calls/"+esc(string(id))+"/record", req, &rec, opts); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Snoop creates a call that listens to (spy) or speaks into (whisper) a call.
func (c *Client) Snoop(ctx context.Context, id callapi.CallID, req SnoopRequest, opts ...CallOption) (*callapi.Call, error) {
	var call callapi.Call
	if err := c.call(ctx, http.MethodPost, "/v1/calls/"+esc(string(id))+"/snoop", req, &call, opts); err != nil {
		return nil, err
	}
	return &call, nil
}

// GetVariable reads a channel variable of a call.
func (c *Client) GetVariable(ctx context.Context, id callapi.CallID, name string, opts ...CallOption) (*callapi.Variable, error) {
	var v callapi.Variable
	if err := c.call(ctx, http.MethodGet, "/v1/calls/"+esc(string(id))+"/variables/"+esc(name), nil, &v, opts); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetVariable sets a channel variable of a call.
func (c *Client) SetVariable(ctx context.Context, id callapi.CallID, name, value string, opts ...CallOption) error {
	return c.call(ctx, http.MethodPut, "/v1/calls/"+esc(string(id))+"/variables/"+esc(name), VariableRequest{Value: value}, nil, opts)
}
