package restapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/restapi/console"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 description served at /v1/openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// routes builds the router. Middleware order: closing connections after
// a Transfer-Encoding (closeAfterTransferEncoding), request id, access log (and
// metrics), recoverer, CORS (cors.go: a preflight needs no token); then
// per group authentication and scopes.
//
// Metrics are not served here: the API port may face the internet, and
// /metrics would tell anyone the traffic of every tenant. They belong on
// the ops address (MetricsHandler; callgw serves them on
// CALLGW_METRICS_ADDR), so /metrics on the API port answers 404.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(closeAfterTransferEncoding, requestID, s.accessLog, s.recoverer, s.cors)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console/" && r.Method == http.MethodGet {
			// the console's modules are relative to /console
			w.Header().Set("Location", "../console")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		s.fail(w, r, callapi.Errorf(callapi.CodeNotFound, "no such resource: %s", r.URL.Path))
	})
	mux := r
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if mux.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.fail(w, r, callapi.Wrap(callapi.CodeInvalidArgument, "", errMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path))
	})

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Post("/oauth/token", s.handleToken)
	r.Get("/v1/openapi.json", s.handleOpenAPI)
	r.Get("/v1/docs", s.handleReference)
	r.Get("/v1/docs/redoc.standalone.js", s.handleRedocBundle)
	// The operator console (package console): static files, no token; the
	// page signs in and calls the routes below like any client.
	page := http.StripPrefix("/console", console.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, callapi.Errorf(callapi.CodeNotFound, "no such resource: %s", r.URL.Path))
	}))).ServeHTTP
	r.Get("/console", page)
	r.Get("/console/{file}", page)

	r.Group(func(r chi.Router) {
		r.Use(s.startGate)
		r.Use(s.authenticate)
		s.registerActions(r)
		nodes := r.With(s.needNodes, s.require(ScopeNodesRead))
		nodes.Get("/v1/nodes", s.handleListNodes)
		nodes.Get("/v1/nodes/{id}", s.handleGetNode)
		r.With(s.require(ScopeEventsRead)).Get("/v1/events", s.handleSSE)
		r.With(s.require(ScopeEventsRead)).Get("/v1/events/ws", s.handleWS)
		s.registerWebhooks(r)
	})
	return r
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}

// status is the body of /healthz and /readyz.
type status struct {
	Status string `json:"status"`
}

// handleHealthz answers 200 while the process serves.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, status{Status: "ok"})
}

// handleReadyz answers 200 when Health.Ready is nil, else 503.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.health == nil {
		s.fail(w, r, callapi.Errorf(callapi.CodeNodeUnavailable, "not ready: no health check configured"))
		return
	}
	if err := s.health.Ready(); err != nil {
		s.fail(w, r, retryAfter(time.Second, callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "not ready: "+readyReason(err))))
		return
	}
	if rr, ok := s.health.(ReadyReporter); ok {
		writeJSON(w, http.StatusOK, rr.Readiness())
		return
	}
	writeJSON(w, http.StatusOK, status{Status: "ready"})
}

// startGate holds API requests until cfg.StartGate is closed, up to
// cfg.StartGateWait, then answers 503 node_unavailable with Retry-After.
func (s *Server) startGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := s.cfg.StartGate; g != nil {
			select {
			case <-g:
			default:
				t := time.NewTimer(s.cfg.StartGateWait)
				select {
				case <-g:
					t.Stop()
				case <-t.C:
					s.fail(w, r, retryAfter(time.Second, callapi.Errorf(callapi.CodeNodeUnavailable, "the gateway is starting: still learning the nodes")))
					return
				case <-r.Context().Done():
					t.Stop()
					s.fail(w, r, callapi.Wrap(callapi.CodeNodeUnavailable, "", r.Context().Err(), "the gateway is starting"))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readyReason is the caller-safe text of a readiness error: the message of
// a gateway error, or the error text (health checks report operational
// state such as "broker not connected", not secrets).
func readyReason(err error) string {
	if callapi.ErrorCode(err) != callapi.CodeInternal {
		return callapi.ErrorMessage(err)
	}
	return err.Error()
}

// nodeList is the body of GET /v1/nodes: each node as nodeJSON shows it.
type nodeList struct {
	Nodes []json.RawMessage `json:"nodes"`
}

func (s *Server) handleListNodes(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principalOf(r.Context())
	out := nodeList{Nodes: []json.RawMessage{}}
	for _, n := range s.nodes.List(s.now()) {
		out.Nodes = append(out.Nodes, nodeJSON(n, p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetNode(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if err := callapi.CheckNodeID("id", callapi.NodeID(id)); err != nil {
		s.fail(w, r, err)
		return
	}
	n, ok := s.nodes.Get(callapi.NodeID(id), s.now())
	if !ok {
		s.fail(w, r, callapi.Errorf(callapi.CodeNotFound, "node %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, nodeJSON(n, principalOf(r.Context())))
}

// needNodes answers 503 on the node routes when NewServer was given no
// node registry.
func (s *Server) needNodes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.nodes == nil {
			s.fail(w, r, callapi.Errorf(callapi.CodeNodeUnavailable, "no node registry configured"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
