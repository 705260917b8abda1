package arisim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Config configures a simulated Asterisk. Zero values take the defaults documented per field.
type Config struct {
	User, Password string // ARI credentials; both required by auth (basic auth or api_key=user:pass)
	AsteriskID     string // "asterisk_id" in events and entity_id in /asterisk/info, default "sim"
	SystemName     string // Asterisk's systemname: prefix of generated channel ids, default "sim"

	PlaybackDuration time.Duration // per media item (sound:, recording:, digits: …), default 200ms
	DTMFInterval     time.Duration // gap between digits the dtmf extension sends, default 350ms (as recorded)
	DialplanStep     time.Duration // delay of the next dialplan application after Answer(), default 500ms (as recorded)
	RingTimeout      time.Duration // originate timeout when the request gives none, default 30s (Asterisk's)
	InboundApp       string        // Stasis app that InboundCall targets, default "callgw"
	InboundContext   string        // dialplan context of inbound calls, default "callgw-in"

	Log *zap.Logger // nil = nop
}

func (c *Config) setDefaults() {
	if c.AsteriskID == "" {
		c.AsteriskID = "sim"
	}
	if c.SystemName == "" {
		c.SystemName = "sim"
	}
	if c.PlaybackDuration <= 0 {
		c.PlaybackDuration = 200 * time.Millisecond
	}
	if c.DTMFInterval <= 0 {
		c.DTMFInterval = 350 * time.Millisecond
	}
	if c.DialplanStep <= 0 {
		c.DialplanStep = 500 * time.Millisecond
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 30 * time.Second
	}
	if c.InboundApp == "" {
		c.InboundApp = "callgw"
	}
	if c.InboundContext == "" {
		c.InboundContext = "callgw-in"
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
}

// Server is one simulated Asterisk. All state sits behind one mutex, so events are produced in one
// total order, as Stasis does per channel.
type Server struct {
	cfg Config
	log *zap.Logger

	mu      sync.Mutex
	closed  bool
	gen     uint64 // bumped by Restart; timers of an older generation do nothing
	started time.Time
	uniq    int // channel uniqueid sequence
	localN  int // Local/…-%08x sequence
	techN   map[string]int

	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string]*playback
	liveRecs  map[string]*liveRec
	extMedia  map[string]*extMedia // external media channels with RTP, by id
	// mediaQueue holds, per channel target, the playbacks and recordings waiting for the
	// channel's control queue: Stasis runs one media operation of a channel at a time.
	mediaQueue map[string][]func()
	stored     map[string]*storedRec
	apps       map[string]*app
	conns      map[*wsConn]struct{}
	endpoints  map[string]*Endpoint // PJSIP/<name> → behaviour
	extensions map[string]Endpoint  // extra extensions of callgw-test
	globals    map[string]string
	devices    map[string]string
	mailboxes  map[string]mailboxJSON
	messages   []TextMessage // sent with PUT /endpoints/{tech}/{resource}/sendMessage

	timers map[*time.Timer]struct{}
	wg     sync.WaitGroup // timer callbacks and websocket goroutines

	faults faults

	handler http.Handler
	router  *router // every ARI path and method (routes.go)
}

// New builds a simulator. It starts no goroutine until it is used; Close releases everything.
func New(cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:        cfg,
		log:        cfg.Log.Named("arisim"),
		started:    time.Now(),
		techN:      map[string]int{},
		channels:   map[string]*channel{},
		bridges:    map[string]*bridge{},
		playbacks:  map[string]*playback{},
		liveRecs:   map[string]*liveRec{},
		extMedia:   map[string]*extMedia{},
		mediaQueue: map[string][]func(){},
		stored:     map[string]*storedRec{},
		apps:       map[string]*app{},
		conns:      map[*wsConn]struct{}{},
		endpoints:  map[string]*Endpoint{},
		extensions: map[string]Endpoint{},
		globals:    map[string]string{},
		devices:    map[string]string{},
		mailboxes:  map[string]mailboxJSON{},
		timers:     map[*time.Timer]struct{}{},
	}
	s.router = s.routes()
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// Handler serves /ari/... (REST and the /ari/events WebSocket).
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops every timer, closes every WebSocket and waits for the simulator's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.timers = map[*time.Timer]struct{}{}
	for _, c := range s.channels {
		s.stopExtMedia(c)
	}
	conns := s.dropConnsLocked()
	s.faults.closeSlow()
	s.mu.Unlock()
	for _, c := range conns {
		c.wait()
	}
	s.wg.Wait()
}

// after runs fn under s.mu after d, unless the server closed or restarted in the meantime.
// The caller holds s.mu.
func (s *Server) after(d time.Duration, fn func()) {
	if s.closed {
		return
	}
	gen := s.gen
	var t *time.Timer
	s.wg.Add(1)
	t = time.AfterFunc(d, func() {
		defer s.wg.Done() // runs only when Close's Stop failed or never happened
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, t)
		if s.closed || s.gen != gen {
			return
		}
		fn()
	})
	s.timers[t] = struct{}{}
}

// serveHTTP is the entry point: faults, auth, then routing.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.faults.refusing() {
		refuse(w)
		return
	}
	if st, ok := s.faults.match(r.Method, r.URL.Path); ok {
		writeError(w, st, http.StatusText(st))
		return
	}
	if d := s.faults.delay(r.Method, r.URL.Path); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-s.faults.closedCh():
			return
		}
	}
	if r.URL.Path == InboundPath || r.URL.Path == ContactsPath {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
			writeError(w, http.StatusUnauthorized, "Authentication required")
			return
		}
		if r.URL.Path == ContactsPath {
			s.serveContacts(w, r)
			return
		}
		s.serveInbound(w, r)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.EscapedPath(), "/ari/")
	if !ok {
		writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeError(w, http.StatusUnauthorized, "Authentication required")
		return
	}
	p, err := parseParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.router.route(w, r, rel, p)
}

func (s *Server) authorized(r *http.Request) bool {
	u, pw, ok := r.BasicAuth()
	if !ok {
		key := r.URL.Query().Get("api_key")
		u, pw, ok = strings.Cut(key, ":")
	}
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.User)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pw), []byte(s.cfg.Password)) == 1
}

// refuse hijacks the connection and closes it without an answer, as a refused or reset connection.
func refuse(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
}

// response helpers: Asterisk answers JSON with {"message": …} on errors and an empty 204 otherwise.

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorJSON{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error"}`)
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// apiError is a handler's failure with Asterisk's status and message.
type apiError struct {
	status int
	msg    string
	key    string // JSON key of msg: "message", or "error" for res_ari's canned out-of-memory answer
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, msg string) error { return &apiError{status: status, msg: msg} }

var (
	errChannelNotFound = errf(404, "Channel not found")
	errNotInStasis     = errf(409, "Channel not in Stasis application")
	errInvalidState    = errf(412, "Channel in invalid state")
	errBridgeNotFound  = errf(404, "Bridge not found")
	// errAllocFailed is ast_ari_response_alloc_failed: res_ari's canned {"error": "Allocation failed"}
	// (not {"message": …}), which resource_channels.c also answers when ast_dial_prerun fails.
	errAllocFailed = &apiError{status: 500, msg: "Allocation failed", key: "error"}
)

// reply writes v (200, or 204 when v is nil) or the error.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			if ae.key != "" {
				writeJSON(w, ae.status, map[string]string{ae.key: ae.msg})
				return
			}
			writeError(w, ae.status, ae.msg)
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if v == nil {
		noContent(w)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
