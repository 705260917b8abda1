package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/callgw/callgw/callapi"
)

// Error is an error answer of the gateway: its RFC 9457 problem+json body
// with the HTTP status.
type Error struct {
	Status    int          `json:"status"`
	Code      callapi.Code `json:"code"`
	Type      string       `json:"type,omitempty"`
	Title     string       `json:"title,omitempty"`
	Detail    string       `json:"detail,omitempty"`
	Field     string       `json:"field,omitempty"`      // the request member at fault (invalid_argument)
	Reason    string       `json:"reason,omitempty"`     // a stable refinement of Code (callapi.Reason*)
	CommandID string       `json:"command_id,omitempty"` // the command the error is about, when one was sent
	RequestID string       `json:"request_id,omitempty"` // quote it when reporting a problem
	// OAuth2 error members (POST /oauth/token).
	OAuthError       string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("callapi: ")
	b.WriteString(string(e.Code))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	} else if e.ErrorDescription != "" {
		b.WriteString(": ")
		b.WriteString(e.ErrorDescription)
	} else if e.Title != "" {
		b.WriteString(": ")
		b.WriteString(e.Title)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later: the node
// was unavailable, the command timed out, or a proxy in front of the
// gateway failed.
func (e *Error) Temporary() bool {
	switch e.Code {
	case callapi.CodeNodeUnavailable, callapi.CodeTimeout:
		return true
	}
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// NotAnsweredError is Originate's (and Dial's) error when it waited for the
// answer (callapi.WaitAnswered) and the call ended unanswered: busy, no
// answer, rejected, unreachable. The request itself succeeded: Call is the
// ended call, its Hangup says how it ended (Cause, CauseText and the dial
// status BUSY, NOANSWER, CONGESTION, CHANUNAVAIL where Asterisk knows it).
// ErrorCode gives callapi.CodeConflict: the call is not in the state asked
// for.
type NotAnsweredError struct {
	Call *callapi.Call
}

func (e *NotAnsweredError) Error() string {
	s := "callapi: call " + string(e.Call.ID) + " was not answered"
	if h := e.Call.Hangup; h != nil {
		s += ": " + h.CauseText
		if h.DialStatus != "" {
			s += " (" + h.DialStatus + ")"
		}
	}
	return s
}

// ErrorCode returns the Code of err when it is (or wraps) an *Error,
// CodeConflict for a *NotAnsweredError, "" for nil and CodeInternal for
// any other error.
func ErrorCode(err error) callapi.Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var na *NotAnsweredError
	if errors.As(err, &na) {
		return callapi.CodeConflict
	}
	return callapi.CodeInternal
}

// problemOf decodes an error answer. A body that is not problem+json
// (a proxy's error page) still gives an *Error with the status and a code
// derived from it.
func problemOf(resp *http.Response, raw []byte) *Error {
	e := &Error{}
	if len(raw) > 0 && json.Unmarshal(raw, e) == nil && (e.Code != "" || e.OAuthError != "") {
		e.Status = resp.StatusCode
		if e.Code == "" {
			e.Code = callapi.CodeUnauthorized
		}
		return e
	}
	e = &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(raw))}
	if len(e.Detail) > 200 {
		e.Detail = e.Detail[:200]
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		e.Code = callapi.CodeNotFound
	case resp.StatusCode == http.StatusUnauthorized:
		e.Code = callapi.CodeUnauthorized
	case resp.StatusCode == http.StatusForbidden:
		e.Code = callapi.CodeForbidden
	case resp.StatusCode == http.StatusConflict:
		e.Code = callapi.CodeConflict
	case resp.StatusCode == http.StatusGatewayTimeout:
		e.Code = callapi.CodeTimeout
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway:
		e.Code = callapi.CodeNodeUnavailable
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		e.Code = callapi.CodeInvalidArgument
	default:
		e.Code = callapi.CodeInternal
	}
	return e
}
