package arisim

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"
)

// sendQueue is how many events a WebSocket may lag behind before it is disconnected as a slow
// consumer (counted and logged, never dropped silently).
const sendQueue = 8192

// app is a registered Stasis application and its subscriptions.
type app struct {
	name     string
	conn     *wsConn
	channels map[string]bool
	bridges  map[string]bool // explicit subscriptions (applications/{app}/subscription)
	// bridgeRefs counts the app's channels in each bridge: Stasis subscribes the app to a bridge
	// while one of its channels is in it (app_subscribe_bridge / app_unsubscribe_bridge).
	bridgeRefs map[string]int
	endpoints  map[string]bool
	devices    map[string]bool
	// allowed, disallowed: the app's event filter (filter.go); nil is an empty list.
	allowed, disallowed *eventFilter
}

func (a *app) json() applicationJSON {
	return applicationJSON{
		Name:             a.name,
		ChannelIDs:       sortedKeys(a.channels),
		BridgeIDs:        sortedKeys(a.bridges),
		EndpointIDs:      sortedKeys(a.endpoints),
		DeviceNames:      sortedKeys(a.devices),
		EventsAllowed:    a.allowed.json(),
		EventsDisallowed: a.disallowed.json(),
	}
}

// sortedKeys returns m's keys in order, never nil (a JSON list, not null).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newApp(name string) *app {
	return &app{name: name, channels: map[string]bool{}, bridges: map[string]bool{}, bridgeRefs: map[string]int{}, endpoints: map[string]bool{}, devices: map[string]bool{}}
}

// wsConn is one events WebSocket.
type wsConn struct {
	app    string
	all    bool
	send   chan []byte
	quit   chan struct{} // closed to stop the writer
	closed bool          // under Server.mu
	// replaced: another WebSocket took the app over. Asterisk 22 sends ApplicationReplaced
	// and then nothing more for the app, but keeps the socket open (ari_websockets.c
	// drops the app from the session); so does the simulator.
	replaced bool
	done     chan struct{} // closed when the handler returned
}

func (c *wsConn) stop() {
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
}

func (c *wsConn) wait() { <-c.done }

// serveEvents upgrades /ari/events?app=…[&subscribeAll=true].
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	names := splitList(q.Get("app"))
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, "Missing param 'app'")
		return
	}
	if !websocketUpgrade(r) {
		writeError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Warn("websocket accept failed", zap.Error(err))
		return
	}
	ws.SetReadLimit(1 << 20)
	all := strings.EqualFold(q.Get("subscribeAll"), "true") || q.Get("subscribeAll") == "1"
	conns := make([]*wsConn, 0, len(names))

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close(websocket.StatusGoingAway, "shutting down")
		return
	}
	for _, name := range names {
		c := &wsConn{app: name, all: all, send: make(chan []byte, sendQueue), quit: make(chan struct{}), done: make(chan struct{})}
		a := s.apps[name]
		if a == nil {
			a = newApp(name)
			s.apps[name] = a
		} else if a.conn != nil && !a.conn.closed {
			// Asterisk: a second connection for the same app replaces the first.
			// app_update sends ApplicationReplaced through the app's handler, so the app's
			// event filter applies to it too (filter.go).
			old := a.conn
			if a.allows("ApplicationReplaced") {
				s.deliverLocked(old, &event{typ: "ApplicationReplaced", body: map[string]any{"timestamp": stamp(time.Now())}})
			}
			old.replaced = true
		}
		a.conn = c
		s.conns[c] = struct{}{}
		conns = append(conns, c)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	s.log.Debug("websocket connected", zap.Strings("apps", names), zap.Bool("subscribe_all", all))
	s.pump(r.Context(), ws, conns)
}

// pump writes the events of conns to ws until one of them stops or the peer goes away.
func (s *Server) pump(ctx context.Context, ws *websocket.Conn, conns []*wsConn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readDone := make(chan struct{})
	go func() { // reads (and discards) client frames so that close frames and pings are handled
		defer close(readDone)
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				s.log.Debug("websocket read ended", zap.Error(err))
				cancel()
				return
			}
		}
	}()
	defer func() {
		cancel()
		_ = ws.CloseNow()
		<-readDone
		s.mu.Lock()
		for _, c := range conns {
			c.stop()
			delete(s.conns, c)
			if a := s.apps[c.app]; a != nil && a.conn == c {
				a.unregister()
			}
		}
		s.mu.Unlock()
		for _, c := range conns {
			close(c.done)
		}
	}()
	// Merge the per-app queues (one per app named in ?app=a,b).
	for {
		for _, c := range conns {
			select {
			case b := <-c.send:
				if err := s.write(ctx, ws, b); err != nil {
					return
				}
				continue
			default:
			}
		}
		if len(conns) == 1 {
			c := conns[0]
			select {
			case b := <-c.send:
				if err := s.write(ctx, ws, b); err != nil {
					s.log.Debug("websocket write failed", zap.String("app", c.app), zap.Error(err))
					return
				}
			case <-c.quit:
				s.flush(ctx, ws, c)
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		// Several apps on one socket: poll (rare; only for ?app=a,b).
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
		for _, c := range conns {
			select {
			case <-c.quit:
				return
			default:
			}
		}
	}
}

// flush writes what was queued before a replacement (ApplicationReplaced) and closes.
func (s *Server) flush(ctx context.Context, ws *websocket.Conn, c *wsConn) {
	for {
		select {
		case b := <-c.send:
			if s.write(ctx, ws, b) != nil {
				return
			}
		default:
			_ = ws.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

func (s *Server) write(ctx context.Context, ws *websocket.Conn, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return ws.Write(wctx, websocket.MessageText, b)
}

func websocketUpgrade(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dropConnsLocked stops every WebSocket and returns them so the caller can wait outside the lock.
func (s *Server) dropConnsLocked() []*wsConn {
	out := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		c.stop()
		out = append(out, c)
	}
	s.conns = map[*wsConn]struct{}{}
	for _, a := range s.apps {
		a.unregister()
	}
	return out
}

// emit sends e to every connection that should see it. Caller holds s.mu.
func (s *Server) emit(e *event) {
	if e.body == nil {
		e.body = map[string]any{}
	}
	if _, ok := e.body["timestamp"]; !ok {
		e.body["timestamp"] = stamp(time.Now())
	}
	for c := range s.conns {
		if c.closed || c.replaced || !s.wants(c, e) || !s.allowedBy(c, e) {
			continue
		}
		s.deliverLocked(c, e)
	}
}

func (s *Server) wants(c *wsConn, e *event) bool {
	if e.toApp != "" {
		return c.app == e.toApp
	}
	if c.all {
		return true
	}
	if e.allOnly {
		return false
	}
	a := s.apps[c.app]
	if a == nil {
		return false
	}
	if len(e.channels) > 0 && a.channels[""] || len(e.bridges) > 0 && a.bridges[""] {
		return true
	}
	for _, id := range e.channels {
		if a.channels[id] {
			return true
		}
	}
	for _, id := range e.bridges {
		if a.bridges[id] || a.bridgeRefs[id] > 0 {
			return true
		}
	}
	for _, id := range e.endpoints {
		tech, _, _ := strings.Cut(id, "/")
		if a.endpoints[id] || a.endpoints[tech] {
			return true
		}
	}
	for _, d := range e.devices {
		if a.devices[""] || a.devices[d] {
			return true
		}
	}
	return false
}

// allowedBy applies the event filter of c's app (ari_websocket_send_event's
// stasis_app_event_allowed).
func (s *Server) allowedBy(c *wsConn, e *event) bool {
	a := s.apps[c.app]
	return a != nil && a.allows(e.typ)
}

func (s *Server) deliverLocked(c *wsConn, e *event) {
	if e.body == nil {
		e.body = map[string]any{"timestamp": stamp(time.Now())}
	}
	b, err := e.encode(c.app, s.cfg.AsteriskID)
	if err != nil {
		s.log.Error("encode event", zap.String("type", e.typ), zap.Error(err))
		return
	}
	select {
	case c.send <- b:
	default:
		s.log.Warn("slow websocket consumer disconnected", zap.String("app", c.app), zap.Int("queued", len(c.send)))
		c.stop()
		delete(s.conns, c)
	}
}

// DropWebSockets closes every events WebSocket, as a network failure or an Asterisk restart would.
func (s *Server) DropWebSockets() {
	s.mu.Lock()
	conns := s.dropConnsLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.wait()
	}
}
