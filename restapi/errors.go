package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// ProblemTypePrefix starts the "type" URI of every problem; the code
// follows, e.g. "urn:callgw:problem:not_found" (listed in docs/api.md).
const ProblemTypePrefix = "urn:callgw:problem:"

// ProblemContentType is the media type of error bodies (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is the RFC 9457 error body of every failed request.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     callapi.Code `json:"code"`
	Field    string       `json:"field,omitempty"`
	// Reason refines Code where a client acts on the difference (the
	// webhook target checks: invalid_url, https_required, target_refused, …).
	Reason    string `json:"reason,omitempty"`
	CommandID string `json:"command_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`

	// OAuthError and OAuthDescription are set on POST /oauth/token
	// failures: RFC 6749 §5.2 "error" and "error_description".
	OAuthError       string `json:"error,omitempty"`
	OAuthDescription string `json:"error_description,omitempty"`
}

// statusOf maps the stable gateway codes to HTTP statuses. A code that is
// not here (callapi.CodeInternal, foreign errors) is 500.
var statusOf = map[callapi.Code]int{
	callapi.CodeNotFound:        http.StatusNotFound,
	callapi.CodeInvalidArgument: http.StatusBadRequest,
	callapi.CodeConflict:        http.StatusConflict,
	callapi.CodeNodeUnavailable: http.StatusServiceUnavailable,
	callapi.CodeTimeout:         http.StatusGatewayTimeout,
	callapi.CodePBXError:        http.StatusBadGateway,
	callapi.CodeOutcomeUnknown:  http.StatusBadGateway,
	callapi.CodeForbidden:       http.StatusForbidden,
	callapi.CodeUnauthorized:    http.StatusUnauthorized,
	callapi.CodeRateLimited:     http.StatusTooManyRequests,
	callapi.CodeNotImplemented:  http.StatusNotImplemented,
}

var titleOf = map[callapi.Code]string{
	callapi.CodeNotFound:        "Not found",
	callapi.CodeInvalidArgument: "Invalid argument",
	callapi.CodeConflict:        "Conflict",
	callapi.CodeNodeUnavailable: "Node unavailable",
	callapi.CodeTimeout:         "Timeout",
	callapi.CodePBXError:        "PBX error",
	callapi.CodeOutcomeUnknown:  "Outcome unknown",
	callapi.CodeForbidden:       "Forbidden",
	callapi.CodeUnauthorized:    "Unauthorized",
	callapi.CodeRateLimited:     "Too many requests",
	callapi.CodeNotImplemented:  "Not implemented",
	callapi.CodeInternal:        "Internal error",
}

// Transport-level refusals. They carry callapi.CodeInvalidArgument (or callapi.CodeNotFound) as
// their code and refine the status in httpStatus.
var (
	errUnsupportedMedia = errors.New("restapi: unsupported media type")
	errMethodNotAllowed = errors.New("restapi: method not allowed")
	errBodyTooLarge     = errors.New("restapi: body too large")
)

// statusClientClosed is nginx's conventional status for a request whose
// client went away before the answer; it is only seen in logs and metrics.
const statusClientClosed = 499

// httpStatus is the one place where an error becomes an HTTP status.
func httpStatus(r *http.Request, err error) int {
	switch {
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return statusClientClosed
	}
	if st, ok := statusOf[callapi.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// fail writes err as a problem+json answer. It is the only function that
// turns errors into HTTP answers. The cause is logged only for internal
// errors; other codes are the caller's business.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := httpStatus(r, err)
	code := callapi.ErrorCode(err)
	detail := callapi.ErrorMessage(err)
	switch {
	case st == statusClientClosed:
		s.log.Debug("client went away", zap.String("path", r.URL.Path), zap.Error(err))
		w.WriteHeader(st)
		return
	case st == http.StatusInternalServerError:
		code = callapi.CodeInternal
		detail = "internal error"
		s.log.Error("request failed", zap.String("route", routePattern(r)), zap.String("method", r.Method),
			zap.String("request_id", middleware.GetReqID(r.Context())), zap.Error(err))
	}
	p := Problem{
		Type:      ProblemTypePrefix + string(code),
		Title:     titleOf[code],
		Status:    st,
		Detail:    detail,
		Instance:  r.URL.Path,
		Code:      code,
		Field:     callapi.ErrorField(err),
		Reason:    callapi.ErrorReason(err),
		RequestID: middleware.GetReqID(r.Context()),
	}
	var oe *oauthError
	if errors.As(err, &oe) {
		p.OAuthError, p.OAuthDescription = oe.code, detail
	}
	if info := infoOf(r.Context()); info != nil {
		p.CommandID = info.commandID // recorded by the handler that sent the command
		if code == callapi.CodeTimeout && info.timeoutHint != "" {
			p.Detail += " (" + info.timeoutHint + ")"
		}
	}
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callgw"`)
	}
	var ra *retryAfterError
	switch {
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (ra.after+time.Second-1)/time.Second))))
	case code == callapi.CodeNodeUnavailable:
		// nothing ran: a node down or busy, the gateway starting or
		// shedding load; a second is the usual time of a recovery
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(p)
}

// retryAfterError carries how long the client should wait (the
// Retry-After header of a 429).
type retryAfterError struct {
	after time.Duration
	err   error
}

func retryAfter(d time.Duration, err error) error { return &retryAfterError{after: d, err: err} }

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// writeJSON writes v with status st.
func writeJSON(w http.ResponseWriter, st int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRawJSON is writeJSON for a body that is JSON already (compact,
// with <, > and & escaped, as json.Marshal writes it): the same bytes,
// without another pass over them.
func writeRawJSON(w http.ResponseWriter, st int, body json.RawMessage) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'}) // as json.Encoder ends a value
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
