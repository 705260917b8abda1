package callapi

import (
	"context"
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The values are part of the
// public protocol (REST problem+json "code" and AMQP reply "error.code").
type Code string

// The stable error codes.
const (
	CodeNotFound        Code = "not_found"
	CodeInvalidArgument Code = "invalid_argument"
	CodeConflict        Code = "conflict"
	CodeNodeUnavailable Code = "node_unavailable"
	CodeTimeout         Code = "timeout"
	CodePBXError        Code = "pbx_error"
	CodeForbidden       Code = "forbidden"
	CodeUnauthorized    Code = "unauthorized"
	CodeRateLimited     Code = "rate_limited" // too many requests: retry later (HTTP 429 with Retry-After)
	CodeInternal        Code = "internal"
	// CodeNotImplemented: the node's PBX adapter lacks the optional port
	// (call control, bridges, playback and recording control) an action
	// needs (HTTP 501).
	CodeNotImplemented Code = "not_implemented"
	// CodeOutcomeUnknown: the command reached the broker but the connection
	// was lost before the broker confirmed it or before its reply came,
	// so it may have run. Retrying with the same command id (REST: the
	// same Idempotency-Key) is safe; without one it may run twice.
	CodeOutcomeUnknown Code = "outcome_unknown"
)

// Error is callgw's error type. Msg is safe to show to API callers; Err is
// the cause, for logs only.
type Error struct {
	Code  Code
	Op    string // e.g. "asterisk.Hangup"
	Msg   string
	Field string // for CodeInvalidArgument: the offending field, when known
	// Reason refines Code with a stable, machine-readable word where a
	// client acts differently on it (the webhook target checks:
	// ReasonInvalidURL, ReasonHTTPSRequired, ReasonTargetRefused, …).
	Reason string
	Err    error
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error around a cause.
func Wrap(code Code, op string, err error, msg string) *Error {
	return &Error{Code: code, Op: op, Msg: msg, Err: err}
}

// Invalid reports a bad value in one named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err: the first *Error in its chain, CodeTimeout
// for context deadlines, "" for nil and CodeInternal for anything else.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CodeTimeout
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	return "internal error"
}

// InvalidBecause is Invalid with a stable Reason.
func InvalidBecause(field, reason, format string, args ...any) *Error {
	e := Invalid(field, format, args...)
	e.Reason = reason
	return e
}

// ErrorReason returns the Reason of err's first *Error, if any.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorField returns the offending field of an CodeInvalidArgument error, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
