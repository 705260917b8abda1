package arisim

import (
	"net/http"
	"net/url"
	"strings"
)

// The router finds a request's handler the way res_ari.c's ast_ari_invoke does. The path picks a
// resource: a literal segment wins over a {wildcard} sibling. The method then picks the resource's
// callback. This gives four answers:
//
//   - A path that names no resource: 404 "Resource not found".
//   - A resource without that method: 405 "Invalid method", with "Allow: OPTIONS,<methods>".
//   - OPTIONS: 204, with the same Allow header.
//   - A path that ends with "/": 404 "ARI URLs do not end with a slash. Try /ari/<path>"
//     (ast_ari_callback). The path ends at its first empty segment, as strsep's loop does.
//
// net/http's ServeMux does the matching. Each resource is registered once, without a method.
// Literal and wildcard siblings (/channels/create, /channels/{channelId}) therefore never conflict,
// and ServeMux's own 405 answer is never used.

// handlerFunc serves one ARI operation. Unless registered with handleWebSocket, it runs under s.mu.
type handlerFunc func(w http.ResponseWriter, q *request)

// request is what a handler gets: the parameters (query and JSON body) and the routed request,
// whose PathValue gives the path's {wildcards}.
type request struct {
	params
	r *http.Request
}

// path returns the {name} segment of the request's path.
func (q *request) path(name string) string { return q.r.PathValue(name) }

// onResource adapts a handler of the resource that the path's {name} segment names: find looks it
// up (under s.mu), and a missing one is answered notFound before any parameter is checked, as
// Asterisk's resource_*.c do.
func onResource[T any](name string, find func(id string) *T, notFound error, fn func(http.ResponseWriter, *request, *T)) handlerFunc {
	return func(w http.ResponseWriter, q *request) {
		v := find(q.path(name))
		if v == nil {
			reply(w, nil, notFound)
			return
		}
		fn(w, q, v)
	}
}

var (
	errNoVariableName   = errf(400, "Variable name is required")
	errVariableNotFound = errf(404, "Provided variable was not found")
)

// getVariable serves GET …/variable: the "variable" parameter is required, and get reads it.
func getVariable(w http.ResponseWriter, q *request, get func(name string) (string, error)) {
	name := q.str("variable")
	if name == "" {
		reply(w, nil, errNoVariableName)
		return
	}
	v, err := get(name)
	if err != nil {
		reply(w, nil, err)
		return
	}
	reply(w, map[string]string{"value": v}, nil)
}

// setVariable serves POST …/variable: the "variable" parameter is required, and set sets it to
// "value".
func setVariable(w http.ResponseWriter, q *request, set func(name, value string) error) {
	name := q.str("variable")
	if name == "" {
		reply(w, nil, errNoVariableName)
		return
	}
	reply(w, nil, set(name, q.str("value")))
}

// methodOrder is Asterisk's enum ast_http_method order, which its Allow header follows.
var methodOrder = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

type operation struct {
	h         handlerFunc
	websocket bool
}

// resource is one ARI path with its operations by method.
type resource struct {
	s     *Server
	ops   map[string]operation
	allow string
}

type router struct {
	s         *Server
	mux       *http.ServeMux
	resources map[string]*resource
}

// routedWriter carries a request's parameters through ServeMux to its resource (cheaper than a
// context value); handlers get the writer it wraps, so WebSocket upgrades can hijack it.
type routedWriter struct {
	http.ResponseWriter
	p params
}

func newRouter(s *Server) *router {
	m := &router{s: s, mux: http.NewServeMux(), resources: map[string]*resource{}}
	m.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Resource not found")
	})
	// The root is a resource without callbacks: Asterisk answers it 405 with "Allow: OPTIONS".
	m.resource("/{$}")
	return m
}

// handle registers "METHOD /path" (a ServeMux pattern) to run under s.mu.
func (m *router) handle(pattern string, h handlerFunc) { m.add(pattern, operation{h: h}) }

// handleWebSocket registers a WebSocket upgrade (GET /events): its handler takes s.mu itself,
// and, as in Asterisk where it is a ws_server and not a callback, it is not listed in Allow
// (observed on 22.10.1: POST /ari/events answers 405 with "Allow: OPTIONS").
func (m *router) handleWebSocket(pattern string, h handlerFunc) {
	m.add(pattern, operation{h: h, websocket: true})
}

// notSimulated registers operations of Asterisk's API that the simulator does not implement: they
// answer 501, so a client sees a clear refusal rather than a 404 that suggests a wrong path.
func (m *router) notSimulated(patterns ...string) {
	for _, p := range patterns {
		msg := p + " is not simulated"
		m.handle(p, func(w http.ResponseWriter, _ *request) { reply(w, nil, errf(http.StatusNotImplemented, msg)) })
	}
}

func (m *router) add(pattern string, op operation) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		panic("arisim: route pattern must be \"METHOD /path\": " + pattern)
	}
	r := m.resource(path)
	if _, dup := r.ops[method]; dup {
		panic("arisim: route registered twice: " + pattern)
	}
	r.ops[method] = op
	allow := "OPTIONS"
	for _, m := range methodOrder {
		if op, ok := r.ops[m]; ok && !op.websocket {
			allow += "," + m
		}
	}
	r.allow = allow
}

func (m *router) resource(path string) *resource {
	if r := m.resources[path]; r != nil {
		return r
	}
	r := &resource{s: m.s, ops: map[string]operation{}, allow: "OPTIONS"}
	m.resources[path] = r
	m.mux.Handle(path, r)
	return r
}

// patterns lists every registered "METHOD /path", for tests that hold the table against the spec.
func (m *router) patterns() []string {
	var out []string
	for path, r := range m.resources {
		for method := range r.ops {
			out = append(out, method+" "+path)
		}
	}
	return out
}

func (r *resource) ServeHTTP(rw http.ResponseWriter, hr *http.Request) {
	w, q := rw, &request{r: hr}
	if x, ok := rw.(*routedWriter); ok {
		w, q.params = x.ResponseWriter, x.p
	}
	if hr.Method == http.MethodOptions {
		w.Header().Set("Allow", r.allow)
		noContent(w)
		return
	}
	op, ok := r.ops[hr.Method]
	if !ok {
		w.Header().Set("Allow", r.allow)
		writeError(w, http.StatusMethodNotAllowed, "Invalid method")
		return
	}
	if op.websocket {
		op.h(w, q)
		return
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	op.h(w, q)
}

// route serves an authorized request for rel, the escaped path after "/ari/".
func (m *router) route(w http.ResponseWriter, r *http.Request, rel string, p params) {
	if strings.HasSuffix(rel, "/") {
		writeError(w, http.StatusNotFound, "ARI URLs do not end with a slash. Try /ari/"+strings.TrimSuffix(rel, "/"))
		return
	}
	if strings.Contains(rel, "//") || strings.HasPrefix(rel, "/") || strings.Contains("/"+rel+"/", "/.") {
		rel = asteriskPath(rel)
	}
	u := *r.URL
	u.Path, u.RawPath = "/"+rel, ""
	if strings.Contains(rel, "%") {
		path, err := url.PathUnescape(rel)
		if err != nil {
			writeError(w, http.StatusNotFound, "Resource not found")
			return
		}
		u.Path, u.RawPath = "/"+path, "/"+rel
	}
	rq := *r
	rq.URL = &u
	m.mux.ServeHTTP(&routedWriter{ResponseWriter: w, p: p}, &rq)
}

// asteriskPath rewrites an escaped path the way Asterisk reads it: the path ends at its first empty
// segment (strsep's loop), and "." or ".." is an id, escaped so that ServeMux does not clean it.
func asteriskPath(rel string) string {
	segs := strings.Split(rel, "/")
	for i, seg := range segs {
		if seg == "" {
			segs = segs[:i]
			break
		}
		if seg == "." || seg == ".." {
			segs[i] = strings.Repeat("%2E", len(seg))
		}
	}
	return strings.Join(segs, "/")
}
