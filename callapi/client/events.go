package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/dedupe"
	"github.com/callgw/callgw/internal/retry"
)

// EventFilter narrows an event stream; its members combine with AND.
// Types are event types, the Ev… constants of package callapi
// (callapi.EvCallHangup, callapi.EvCallDTMF, …), or prefixes of them
// ("call.", "call.playback.*"): an event matches when it matches any of
// them.
type EventFilter struct {
	Types  []callapi.EventType
	Node   callapi.NodeID
	CallID callapi.CallID
	Tag    string
}

func (f EventFilter) query() url.Values {
	q := url.Values{}
	if len(f.Types) > 0 {
		types := make([]string, len(f.Types))
		for i, t := range f.Types {
			types[i] = string(t)
		}
		q.Set("type", strings.Join(types, ","))
	}
	for k, v := range map[string]string{"node": string(f.Node), "call_id": string(f.CallID), "tag": f.Tag} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// query is the stream's query: the filter and, until an event came,
// since.
func (s *EventStream) query() url.Values {
	q := s.filter.query()
	if !s.opt.Since.IsZero() && s.LastEventID() == "" {
		q.Set("since", s.opt.Since.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// StreamNotice is a message the gateway sends before it ends a stream:
// code "shutdown" (the gateway stops) or "slow_consumer" (the client did
// not keep up), after which the stream reconnects; NoticeTokenExpired or
// NoticeRevoked when the stream's token lost its authority.
type StreamNotice struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Notices of a stream whose token lost its authority. After
// NoticeRevoked (the token's client was removed or disabled) Next returns
// an *Error with code unauthorized; after NoticeTokenExpired too, unless
// the client has client credentials: it then reconnects with a new token.
const (
	NoticeTokenExpired = "token_expired"
	NoticeRevoked      = "revoked"
)

// StreamOptions tune an EventStream.
type StreamOptions struct {
	// LastEventID resumes after this event (from an earlier stream): its
	// cursor (Event.Cursor), which any gateway resumes from, or its id.
	LastEventID string
	// Since, when set and LastEventID is empty, replays the events the
	// gateways keep from this time on before the live ones (a client
	// that was away). Once an event came, reconnects resume after it.
	Since time.Time
	// MaxReconnects bounds the reconnects in a row that fail before Next
	// gives up (0: retry until the context ends). A connection that
	// delivered anything resets the count.
	MaxReconnects int
	// OnConnect, when set, is called each time the stream is connected
	// (the gateway subscribed it: events from now on are delivered).
	OnConnect func()
	// OnReconnect, when set, is called before each reconnect with the
	// reason (a notice, a read error) and the attempt number.
	OnReconnect func(err error, attempt int)
	// OnResumeGap, when set, is called (from Next) when the gateway could
	// not resume after lastEventID: events may have been missed, so
	// resynchronise. Without it Next returns a *ResumeGapError instead.
	OnResumeGap func(lastEventID string)
}

// EventStream reads events from GET /v1/events (Server-Sent Events). Next
// returns them one by one; the stream reconnects by itself with
// Last-Event-ID. It is meant for one reading goroutine; Close may be
// called from any.
type EventStream struct {
	c      *Client
	filter EventFilter
	opt    StreamOptions
	ctx    context.Context
	cancel context.CancelFunc
	ws     bool            // GET /v1/events/ws instead of SSE
	conn   *websocket.Conn // the WebSocket, when ws and connected

	mu     sync.Mutex
	lastID string
	body   io.ReadCloser
	rd     *bufio.Reader
	fails  int
	seen   *dedupe.Ring[string]
}

// Events opens an event stream and returns once the gateway subscribed
// it: every event published from then on is delivered, so a call placed
// after Events returned cannot lose its first events. A connection that
// fails is retried as Next retries it (StreamOptions.MaxReconnects, until
// ctx ends); a filter or a token the gateway refuses is returned at once
// (an *Error). The stream ends when ctx ends or Close is called.
//
// To follow one call, prefer Client.Dial (subscribes, then originates) or
// CallHandle.Events.
func (c *Client) Events(ctx context.Context, f EventFilter, opt StreamOptions) (*EventStream, error) {
	return c.openStream(ctx, f, opt, false)
}

// EventsWS is Events over the WebSocket stream (GET /v1/events/ws): the
// same events, filters, reconnects and resume (last_event_id), for
// networks where long-lived HTTP responses are cut but WebSockets pass.
func (c *Client) EventsWS(ctx context.Context, f EventFilter, opt StreamOptions) (*EventStream, error) {
	return c.openStream(ctx, f, opt, true)
}

func (c *Client) openStream(ctx context.Context, f EventFilter, opt StreamOptions, ws bool) (*EventStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	s := &EventStream{c: c, filter: f, opt: opt, ctx: sctx, cancel: cancel, ws: ws, lastID: opt.LastEventID, seen: dedupe.NewRing[string](1024)}
	if err := s.ensureConnected(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// LastEventID is the resume point of the last event Next returned: its
// cursor when the gateway gave one, else its id.
func (s *EventStream) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Close ends the stream; a blocked Next returns.
func (s *EventStream) Close() error {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		// No close handshake: it can wait 5 s on a server that is not
		// reading, and the gateway treats a dropped stream the same.
		err := s.conn.CloseNow()
		s.conn = nil
		return err
	}
	if s.body != nil {
		err := s.body.Close()
		s.body = nil
		return err
	}
	return nil
}

// All iterates over the events until the stream ends; the error, if any,
// is the last value.
func (s *EventStream) All() iter.Seq2[*callapi.Event, error] {
	return func(yield func(*callapi.Event, error) bool) {
		for {
			e, err := s.Next()
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// errPermanent marks a connect failure that reconnecting cannot cure (a
// refused filter, a missing scope).
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// permanentAuth marks a failed token request final unless it may succeed
// later: a client the gateway refuses (removed, disabled, wrong secret)
// gains nothing from reconnecting.
func permanentAuth(err error) error {
	var e *Error
	if errors.As(err, &e) && !e.Temporary() {
		return errPermanent{err}
	}
	return err
}

// Next returns the next event, reconnecting as needed. It returns an
// error when the stream's context ended (ctx.Err()), when the gateway
// refuses the stream (an *Error: bad filter, no permission) or after
// MaxReconnects failed reconnects.
func (s *EventStream) Next() (*callapi.Event, error) {
	for {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.ensureConnected(); err != nil {
			return nil, err
		}
		e, notice, err := s.read()
		if err == nil && notice == nil {
			s.fails = 0
			if !s.seen.Add(e.ID) {
				continue
			}
			s.mu.Lock()
			s.lastID = e.ID
			if e.Cursor != "" {
				s.lastID = e.Cursor // where any gateway resumes
			}
			s.mu.Unlock()
			return e, nil
		}
		if notice != nil && notice.Code == NoticeResumeGap {
			if gap := s.resumeGap(notice); gap != nil {
				return nil, gap
			}
			continue
		}
		s.drop()
		if notice != nil {
			if final := s.finalNotice(notice); final != nil {
				return nil, final
			}
			err = fmt.Errorf("callapi: the gateway ended the stream: %s: %s", notice.Code, notice.Message)
		}
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		if err := s.retry(err); err != nil {
			return nil, err
		}
	}
}

// ensureConnected connects the stream unless it is, retrying failed
// connects; it returns an error when the stream's context ended, the
// gateway refused the stream or MaxReconnects connects failed.
func (s *EventStream) ensureConnected() error {
	for !s.connected() {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		err := s.connect()
		if err == nil {
			return nil
		}
		var p errPermanent
		if errors.As(err, &p) {
			return p.err
		}
		if err := s.retry(err); err != nil {
			return err
		}
	}
	return nil
}

// finalNotice is the error that ends the stream for good after notice,
// nil when reconnecting may help. A token the gateway no longer accepts
// ("revoked": its client was removed or disabled) is final; so is an
// expired token unless the client can get a new one (client credentials).
func (s *EventStream) finalNotice(n *StreamNotice) error {
	switch {
	case n.Code == NoticeRevoked, n.Code == NoticeTokenExpired && s.c.creds == nil:
		return &Error{Status: http.StatusUnauthorized, Code: callapi.CodeUnauthorized, Detail: n.Message}
	}
	return nil
}

func (s *EventStream) retry(cause error) error {
	s.fails++
	if s.opt.MaxReconnects > 0 && s.fails > s.opt.MaxReconnects {
		return fmt.Errorf("callapi: event stream: %d reconnects failed: %w", s.opt.MaxReconnects, cause)
	}
	if s.opt.OnReconnect != nil {
		s.opt.OnReconnect(cause, s.fails)
	}
	if !retry.Sleep(s.ctx, retry.Backoff(s.fails-1, s.c.backoffMin, 5*time.Second)) {
		return s.ctx.Err()
	}
	return nil
}

func (s *EventStream) connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rd != nil || s.conn != nil
}

func (s *EventStream) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		_ = s.conn.CloseNow()
		s.conn = nil
	}
	if s.body != nil {
		_ = s.body.Close()
		s.body = nil
	}
	s.rd = nil
}

func (s *EventStream) connect() error {
	if s.ws {
		return s.connectWS()
	}
	u := *s.c.base
	u.Path += "/v1/events"
	u.RawQuery = s.query().Encode()
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return errPermanent{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", s.c.userAgent)
	if id := s.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	tok, err := s.c.bearer(s.ctx)
	if err != nil {
		return permanentAuth(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("callapi: event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		e := problemOf(resp, raw)
		if e.Temporary() {
			return e
		}
		return errPermanent{e}
	}
	s.mu.Lock()
	s.body, s.rd = resp.Body, bufio.NewReaderSize(resp.Body, 64<<10)
	s.mu.Unlock()
	if s.opt.OnConnect != nil {
		s.opt.OnConnect()
	}
	return nil
}

// read reads one SSE message: an event, or a notice (event: shutdown or
// error). Comments and retry lines are skipped.
func (s *EventStream) read() (*callapi.Event, *StreamNotice, error) {
	if s.ws {
		return s.readWS()
	}
	var kind, data string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("callapi: event stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if data == "" {
				kind = ""
				continue
			}
			break
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			kind = value
		case "data":
			if data != "" {
				data += "\n"
			}
			data += value
		}
	}
	if kind != "" {
		var n StreamNotice
		if err := json.Unmarshal([]byte(data), &n); err != nil {
			n = StreamNotice{Code: kind, Message: data}
		}
		return nil, &n, nil
	}
	var e callapi.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		return nil, nil, fmt.Errorf("callapi: event stream: undecodable event: %w", err)
	}
	return &e, nil, nil
}
