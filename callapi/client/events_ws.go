package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/callapi"
)

// connectWS opens the WebSocket stream, resuming with last_event_id.
func (s *EventStream) connectWS() error {
	u := *s.c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/v1/events/ws"
	q := s.query()
	if id := s.LastEventID(); id != "" {
		q.Set("last_event_id", id)
	}
	u.RawQuery = q.Encode()
	h := http.Header{"User-Agent": {s.c.userAgent}}
	tok, err := s.c.bearer(s.ctx)
	if err != nil {
		return permanentAuth(err)
	}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	conn, resp, err := websocket.Dial(s.ctx, u.String(), &websocket.DialOptions{HTTPClient: s.c.hc, HTTPHeader: h})
	if err != nil {
		switch {
		case resp != nil && resp.StatusCode >= 400:
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			e := problemOf(resp, raw)
			if e.Temporary() {
				return e
			}
			return errPermanent{e}
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			// Something answered that does not speak WebSocket here.
			return errPermanent{fmt.Errorf("callapi: event stream: %s answered %s, not a WebSocket: %w", u.Redacted(), resp.Status, err)}
		}
		return fmt.Errorf("callapi: event stream: %w", err)
	}
	conn.SetReadLimit(4 << 20)
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	if s.opt.OnConnect != nil {
		s.opt.OnConnect()
	}
	return nil
}

// readWS reads one WebSocket message: an event, or the server's
// stream.error notice before it closes.
func (s *EventStream) readWS() (*callapi.Event, *StreamNotice, error) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return nil, nil, errors.New("callapi: event stream closed")
	}
	_, b, err := conn.Read(s.ctx)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) && (ce.Code == 4401 || ce.Code == 4403) {
			code := map[websocket.StatusCode]string{4401: NoticeTokenExpired, 4403: NoticeRevoked}[ce.Code]
			return nil, &StreamNotice{Code: code, Message: "the gateway closed the stream: " + ce.Reason}, nil
		}
		return nil, nil, fmt.Errorf("callapi: event stream: %w", err)
	}
	var m struct {
		Type  string        `json:"type"`
		Error *StreamNotice `json:"error"`
	}
	if json.Unmarshal(b, &m) == nil && m.Type == "stream.error" && m.Error != nil {
		return nil, m.Error, nil
	}
	var n struct {
		Type   string        `json:"type"`
		Notice *StreamNotice `json:"notice"`
	}
	if json.Unmarshal(b, &n) == nil && n.Type == "stream.notice" && n.Notice != nil {
		return nil, n.Notice, nil
	}
	var e callapi.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, nil, fmt.Errorf("callapi: event stream: undecodable event: %w", err)
	}
	return &e, nil, nil
}
