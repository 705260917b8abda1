package asterisk

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callgw/callgw/callapi"
)

// restClient issues ARI REST calls. It is the one place where callgw works
// around the CyCoreSystems/ari/v5 v5.3.1 native client (client/native), whose
// request path cannot be used as it is:
//
//   - no context and no timeout: Client.makeRequest calls http.NewRequest
//     without a ctx and the package-level RequestTimeout is never read, so a
//     hung Asterisk blocks the caller forever;
//   - the connection pool cannot be sized: Client.httpClient is an unexported
//     zero http.Client, i.e. http.DefaultTransport with 2 idle connections
//     per host (MaxIdleConnections is declared and unused), which costs about
//     a third of the originate throughput at 64 calls in flight;
//   - status codes are lost: makeRequest decodes the body before it looks at
//     the status, and Channel.Data wraps the RequestError with eris around an
//     errDataGet whose Cause() errors.As cannot see, so a 404 cannot be told
//     from a 500;
//   - query values are not escaped (Channel.Hangup formats "reason=%s") and
//     some options are dropped (Bridge.AddChannel ignores its options).
//
// So restClient speaks ARI's HTTP itself, with a ctx-aware, pooled
// http.Client, and keeps ari/v5's wire models where they are right (the
// originate body is ari.OriginateRequest, /asterisk/info decodes into
// ari.AsteriskInfo). Every call is bounded by its ctx and, when the ctx has
// no deadline, by Config.RequestTimeout. Calls given up because their ctx
// ended are counted (Stats.RequestsAbandoned).
type restClient struct {
	base      string // http://host:8088/ari, no trailing slash
	user      string
	password  string
	hc        *http.Client
	sync      *syncTransport // hc's transport when it is one
	host      string         // base's host, for syncTransport's requests
	basePath  string         // base's path (/ari), idem
	auth      []string       // the Authorization header
	timeout   time.Duration
	abandoned atomic.Int64
	// observe, when set, is told of each request (Config.Observer).
	observe func(method, route string, status int, d time.Duration)
}

// ariRoute is path with its ids replaced by {id}, a bounded metric label:
// /channels/4f7c…/play → /channels/{id}/play,
// /recordings/stored/kept → /recordings/stored/{id}.
func ariRoute(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	id := -1
	switch seg[0] {
	case "channels", "bridges", "playbacks", "applications", "deviceStates", "mailboxes", "sounds":
		id = 1
	case "recordings", "endpoints":
		id = 2
	}
	if id >= 0 && id < len(seg) && !(seg[0] == "channels" && seg[1] == "create") {
		seg[id] = "{id}"
	}
	if seg[0] == "endpoints" && len(seg) > 1 && len(seg[1]) > 16 {
		seg[1] = "{tech}"
	}
	return "/" + strings.Join(seg, "/")
}

func newRESTClient(base, user, password string, timeout time.Duration, maxConns int) *restClient {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       0,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	var rt http.RoundTripper = tr
	var st *syncTransport
	bu, err := url.Parse(base)
	if err != nil {
		bu = &url.URL{}
	}
	if u := bu; err == nil && u.Scheme == "http" {
		if pu, perr := tr.Proxy(&http.Request{URL: u}); perr == nil && pu == nil {
			st = &syncTransport{host: u.Host, addr: hostPort(u), dial: tr.DialContext, maxIdle: maxConns, idleTimeout: syncIdleTimeout, fallback: tr}
			rt = st
		}
	}
	return &restClient{
		base:     strings.TrimRight(base, "/"),
		user:     user,
		password: password,
		hc:       &http.Client{Transport: rt},
		sync:     st,
		host:     bu.Host,
		basePath: strings.TrimRight(bu.EscapedPath(), "/"),
		auth:     []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))},
		timeout:  timeout,
	}
}

// hostPort is u's host with its port (80 when it has none).
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// rawRequest is the HTTP/1.1 request for syncTransport: what
// http.Request.Write would write for it (Host, User-Agent, Authorization,
// and the body's type and length; a POST or PUT without a body states a
// length of 0 as net/http does). path is escaped already (seg) and query
// encoded, so the request line holds no space or control character.
func (c *restClient) rawRequest(method, path, query string, body []byte, hasBody bool) []byte {
	b := make([]byte, 0, 192+len(c.basePath)+len(path)+len(query)+len(c.host)+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, c.basePath...)
	b = append(b, path...)
	if query != "" {
		b = append(b, '?')
		b = append(b, query...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nUser-Agent: callgw\r\nAuthorization: "...)
	b = append(b, c.auth[0]...)
	b = append(b, "\r\n"...)
	if hasBody {
		b = append(b, "Content-Type: application/json\r\n"...)
	}
	if hasBody || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// jsonType is the Content-Type of a request body.
var jsonType = []string{"application/json"}

// close releases the idle connections of the pool.
func (c *restClient) close() { c.hc.CloseIdleConnections() }

// ariError is a non-2xx answer of ARI, with Asterisk's {"message": …}.
type ariError struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *ariError) Error() string {
	return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// do runs one request. path is already escaped (use seg for ids); q and body
// may be nil; out, when not nil, receives the decoded 2xx JSON answer.
func (c *restClient) do(ctx context.Context, method, path string, q url.Values, body, out any) (err error) {
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var query string
	if len(q) > 0 {
		query = q.Encode()
	}
	var bb []byte
	if body != nil {
		if bb, err = json.Marshal(body); err != nil {
			return fmt.Errorf("ari %s %s: encode body: %w", method, path, err)
		}
	}
	status := 0 // 0: no answer
	if c.observe != nil {
		start := time.Now()
		defer func() { c.observe(method, ariRoute(path), status, time.Since(start)) }()
	}
	var resp *http.Response
	if c.sync != nil {
		// Straight to the transport, with the request written here: ARI
		// does not redirect (http.Client copies each request for
		// redirects), and the request's head is a few known lines.
		resp, err = c.sync.request(ctx, method, c.rawRequest(method, path, query, bb, body != nil))
	} else {
		u := c.base + path
		if query != "" {
			u += "?" + query
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(bb)
		}
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, method, u, rd); err != nil {
			return fmt.Errorf("ari %s %s: %w", method, path, err)
		}
		req.Header = http.Header{"Authorization": c.auth}
		if body != nil {
			req.Header["Content-Type"] = jsonType
		}
		resp, err = c.hc.Do(req)
	}
	if err == nil {
		status = resp.StatusCode
	}
	if err != nil {
		if ctx.Err() != nil {
			c.abandoned.Add(1)
			return fmt.Errorf("ari %s %s: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("ari %s %s: %w", method, path, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only body
	var b []byte
	if ab, ok := resp.Body.(*answerBody); ok {
		b = ab.b // read whole by syncTransport
	} else {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	}
	if err != nil {
		if ctx.Err() != nil {
			c.abandoned.Add(1)
			return fmt.Errorf("ari %s %s: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("ari %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &ariError{Method: method, Path: path, Status: resp.StatusCode}
		// Asterisk answers {"message": …}, except res_ari's canned answer to a
		// failed allocation (an originate to an unknown endpoint among them):
		// {"error": "Allocation failed"}.
		var m struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		switch {
		case json.Unmarshal(b, &m) != nil:
			e.Message = http.StatusText(resp.StatusCode)
		case m.Message != "":
			e.Message = m.Message
		case m.Error != "":
			e.Message = m.Error
		default:
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("ari %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// seg escapes one path segment (ids are validated by callapi.ValidID, but
// an inbound channel id is Asterisk's and is escaped all the same).
func seg(s string) string { return url.PathEscape(s) }

// ariStatus returns the HTTP status of an ARI error in err's chain, or 0.
func ariStatus(err error) int {
	var e *ariError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// mapErr turns an ARI or transport error into a typed gateway error:
// 404→not_found, 400/422→invalid_argument, 409→conflict, ctx deadline→timeout,
// 5xx, other statuses and transport failures→pbx_error. what describes the
// subject for the caller ("call 4f7c…"); conflict says what 409 means for op.
func mapErr(op string, err error, what, conflict string) error {
	if err == nil {
		return nil
	}
	var e *ariError
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusNotFound:
			return callapi.Wrap(callapi.CodeNotFound, op, err, what+" not found")
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			return callapi.Wrap(callapi.CodeInvalidArgument, op, err, "asterisk rejected the request: "+e.Message)
		case http.StatusConflict:
			return callapi.Wrap(callapi.CodeConflict, op, err, conflict)
		}
		return callapi.Wrap(callapi.CodePBXError, op, err, fmt.Sprintf("asterisk answered %d", e.Status))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return callapi.Wrap(callapi.CodeTimeout, op, err, "asterisk did not answer in time")
	}
	if errors.Is(err, context.Canceled) {
		return callapi.Wrap(callapi.CodeTimeout, op, err, "request cancelled")
	}
	return callapi.Wrap(callapi.CodePBXError, op, err, "asterisk unreachable")
}

// notInStasis is the conflict message of channel operations.
const notInStasis = "call is not under callgw's control (its channel is not in the Stasis application)"

// ctlErr maps the error of an operation on a channel or bridge in the
// Stasis app. ARI answers 409 both for "not in Stasis" (then the message is
// stasisMsg) and for other conflicts (a recording of that name in progress,
// a channel already bridged: Asterisk's text is passed on), and 412 for a
// channel whose state refuses the operation (not answered yet): all are
// callapi.CodeConflict. Other statuses map as in mapErr.
func ctlErr(op string, err error, what, stasisMsg string) error {
	var e *ariError
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusConflict:
			if strings.Contains(strings.ToLower(e.Message), "stasis") {
				return callapi.Wrap(callapi.CodeConflict, op, err, what+": "+stasisMsg)
			}
			return callapi.Wrap(callapi.CodeConflict, op, err, what+": "+e.Message)
		case http.StatusPreconditionFailed:
			return callapi.Wrap(callapi.CodeConflict, op, err, what+" is not in a state that allows this (asterisk: "+e.Message+")")
		}
	}
	return mapErr(op, err, what, stasisMsg)
}
