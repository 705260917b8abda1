package restapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/callgw/callgw/callapi"
)

// CORS: browsers on the origins of Config.CORSOrigins may call the API
// and open the SSE stream (EventSource); the WebSocket stream checks the
// same origins (plus WSOriginPatterns). Tokens travel in the Authorization
// header (or access_token for EventSource), never in cookies, so
// credentials are not allowed.

// corsAllowHeaders are the request headers a browser may send.
const corsAllowHeaders = "Authorization, Content-Type, Idempotency-Key, Prefer, Last-Event-ID"

// corsExposeHeaders are the response headers a page may read.
const corsExposeHeaders = "X-Request-Id, Location, Allow"

// corsAllowed reports whether origin may call the API: listed exactly
// (scheme://host[:port]) or the list holds "*".
func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// cors answers preflight requests and adds the CORS headers to the
// answers of allowed origins. Requests without an Origin header pass
// untouched; so do requests from origins not allowed (the browser blocks
// the page from reading the answer), except preflights, which get 403.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		h.Add("Vary", "Origin")
		if !s.corsAllowed(origin) {
			if preflight {
				s.fail(w, r, callapi.Errorf(callapi.CodeForbidden, "origin %s is not allowed (CALLGW_CORS_ORIGINS)", origin))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if !preflight {
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(600))
		w.WriteHeader(http.StatusNoContent)
	})
}

// wsOriginPatterns are the host patterns the WebSocket stream accepts:
// WSOriginPatterns, and the hosts of the CORS origins.
func (s *Server) wsOriginPatterns() []string {
	out := append([]string(nil), s.cfg.WSOriginPatterns...)
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" {
			return append(out, "*")
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		}
	}
	return out
}
