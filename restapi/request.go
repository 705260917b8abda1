package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// options builds the gateway options of a request: tenant (from the
// authenticated principal, or the default tenant when auth is off),
// Idempotency-Key and Prefer: respond-async (when async is allowed).
func (s *Server) options(r *http.Request, asyncOK bool) (gateway.Options, error) {
	o := gateway.Options{Tenant: principalOf(r.Context()).Tenant}
	if o.Tenant == "" {
		o.Tenant = callapi.DefaultTenant
	}
	if vs := r.Header.Values("Idempotency-Key"); len(vs) > 0 {
		if len(vs) > 1 {
			return o, callapi.Invalid("Idempotency-Key", "sent more than once")
		}
		if err := validIdempotencyKey(vs[0]); err != nil {
			return o, err
		}
		o.IdempotencyKey = vs[0]
	}
	if asyncOK && prefersAsync(r.Header) {
		o.Async = true
	}
	if info := infoOf(r.Context()); info != nil {
		info.tenant = o.Tenant
		if o.IdempotencyKey != "" {
			info.commandID = callapi.CommandID(o.Tenant, o.IdempotencyKey)
		}
	}
	return o, nil
}

// validIdempotencyKey accepts 1–255 visible ASCII characters (0x21–0x7E),
// which covers UUIDs, ULIDs and base64 tokens.
func validIdempotencyKey(k string) error {
	if k == "" {
		return callapi.Invalid("Idempotency-Key", "empty")
	}
	if len(k) > MaxIdempotencyKeyLen {
		return callapi.Invalid("Idempotency-Key", "longer than %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return callapi.Invalid("Idempotency-Key", "character %d is not visible ASCII (allowed: 0x21-0x7E)", i+1)
		}
	}
	return nil
}

// prefersAsync reports whether a Prefer header (RFC 7240) asks for
// respond-async.
func prefersAsync(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			tok, _, _ := strings.Cut(pref, ";")
			tok, _, _ = strings.Cut(tok, "=")
			if strings.EqualFold(strings.TrimSpace(tok), "respond-async") {
				return true
			}
		}
	}
	return false
}

// withDeadline derives the context passed to the service: the "timeout"
// query ("5s", "1500ms", or seconds as a number) or DefaultTimeout, at most
// MaxTimeout. A timeout then says which deadline passed and how to ask for
// another.
func (s *Server) withDeadline(r *http.Request) (context.Context, context.CancelFunc, error) {
	d, err := parseTimeout(r.URL.Query(), s.cfg.DefaultTimeout, s.cfg.MaxTimeout)
	if err != nil {
		return nil, nil, err
	}
	hint := fmt.Sprintf("the request's deadline was %s; ask for a longer one with the timeout query parameter (at most %s)", secs(d), secs(s.cfg.MaxTimeout))
	if d >= s.cfg.MaxTimeout {
		hint = fmt.Sprintf("the request's deadline was %s, the longest this gateway allows", secs(d))
	}
	return s.deadlineCtx(r, d, hint)
}

// originateDeadline is withDeadline for an originate. One that waits for
// the answer and names no deadline gets one that covers its ring time
// (gateway.RingTime) plus DefaultTimeout; when that is beyond MaxTimeout
// it is refused before a call is placed.
func (s *Server) originateDeadline(r *http.Request, a callapi.OriginateArgs) (context.Context, context.CancelFunc, error) {
	if a.Wait != callapi.WaitAnswered {
		return s.withDeadline(r)
	}
	ring := gateway.RingTime(a)
	need := ring + s.cfg.DefaultTimeout
	fits := need <= s.cfg.MaxTimeout
	longest := (s.cfg.MaxTimeout - s.cfg.DefaultTimeout) / time.Second
	if _, named := r.URL.Query()["timeout"]; named {
		d, err := parseTimeout(r.URL.Query(), s.cfg.DefaultTimeout, s.cfg.MaxTimeout)
		if err != nil {
			return nil, nil, err
		}
		hint := fmt.Sprintf("the request's deadline was %s and the call rings for up to %s: leave out the timeout query parameter, or set it to at least %s", secs(d), secs(ring), secs(need))
		if !fits {
			hint = fmt.Sprintf("the request's deadline was %s and the call rings for up to %s: ring at most %d s, or originate without wait and follow the call's events", secs(d), secs(ring), longest)
		}
		return s.deadlineCtx(r, d, hint)
	}
	if !fits {
		return nil, nil, callapi.Invalid("timeout", "a ring timeout of %s with wait=answered needs a deadline of %s, beyond the longest this gateway allows (%s): ring at most %d s, or originate without wait and follow the call's events", secs(ring), secs(need), secs(s.cfg.MaxTimeout), longest)
	}
	hint := fmt.Sprintf("the request's deadline was %s: the call's ring time (%s) plus %s; ask for a longer one with the timeout query parameter (at most %s)", secs(need), secs(ring), secs(s.cfg.DefaultTimeout), secs(s.cfg.MaxTimeout))
	return s.deadlineCtx(r, need, hint)
}

// deadlineCtx bounds r's context by d and records hint, which a timeout
// answer adds to its detail (fail).
func (s *Server) deadlineCtx(r *http.Request, d time.Duration, hint string) (context.Context, context.CancelFunc, error) {
	if info := infoOf(r.Context()); info != nil {
		info.timeoutHint = hint
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

// secs spells d as people read a deadline: "35s", "1500ms".
func secs(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

func parseTimeout(q url.Values, def, max time.Duration) (time.Duration, error) {
	vs, ok := q["timeout"]
	if !ok {
		return def, nil
	}
	if len(vs) != 1 {
		return 0, callapi.Invalid("timeout", "given more than once")
	}
	v := strings.TrimSpace(vs[0])
	var d time.Duration
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f != f || f > max.Seconds()+1 || f < -1 { // NaN or far out of range: avoid overflow
			return 0, callapi.Invalid("timeout", "%q is out of range (0 < timeout <= %s)", vs[0], max)
		}
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, callapi.Invalid("timeout", "%q is neither a duration such as 5s or 1500ms nor a number of seconds", vs[0])
	}
	if d <= 0 || d > max {
		return 0, callapi.Invalid("timeout", "%q is out of range (0 < timeout <= %s)", vs[0], max)
	}
	return d, nil
}

// checkQuery refuses query parameters that the route does not know, so
// that a misspelt filter is an error instead of being silently ignored.
func checkQuery(q url.Values, allowed ...string) error {
	for k := range q {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			if k == "" { // "?=x": no name to blame
				return callapi.Invalid("query", "a query parameter without a name")
			}
			return callapi.Invalid(k, "unknown query parameter (allowed: %s)", strings.Join(allowed, ", "))
		}
	}
	for _, a := range allowed {
		if len(q[a]) > 1 {
			return callapi.Invalid(a, "given more than once")
		}
	}
	return nil
}

// decodeOriginate decodes the body of an originate, which is
// callapi.OriginateRequest itself, unchecked: the service checks it
// (callapi.OriginateRequest.Validate).
func decodeOriginate(body io.Reader) (callapi.OriginateRequest, error) {
	var req callapi.OriginateRequest
	if err := decodeJSON(body, &req); err != nil {
		return callapi.OriginateRequest{}, err
	}
	return req, nil
}

// checkContentType accepts application/json (any parameters) or no
// Content-Type at all.
func checkContentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return callapi.Wrap(callapi.CodeInvalidArgument, "", errUnsupportedMedia, "Content-Type must be "+want+", not "+strconv.Quote(ct))
	}
	return nil
}

// decodeJSON decodes exactly one JSON object into v, refusing unknown
// fields and trailing data, with messages that name the field.
func decodeJSON(body io.Reader, v any) error { return decodeObject(body, v, false) }

// decodeObject is decodeJSON; with optional, an empty body is no error and
// leaves v as it is.
func decodeObject(body io.Reader, v any, optional bool) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			typ.Field = bodyMember(reflect.TypeOf(v), typ.Field)
		}
		return jsonError(err)
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return callapi.Invalid("body", "unexpected data after the JSON object")
	}
	return nil
}

// bodyMember is the member of a body of type t that a decoding error's path
// names: encoding/json puts the Go name of an embedded struct in the path
// ("OriginateArgs.timeout" for callapi.OriginateRequest), though its members
// are the body's own ("timeout").
func bodyMember(t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return path
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if rest, ok := strings.CutPrefix(path, f.Name+"."); ok && f.Anonymous && f.Tag.Get("json") == "" {
			return bodyMember(f.Type, rest)
		}
	}
	return path
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return callapi.Wrap(callapi.CodeInvalidArgument, "", errBodyTooLarge, "request body larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.Is(err, io.EOF):
		return callapi.Invalid("body", "required (a JSON object)")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return callapi.Invalid("body", "truncated JSON")
	case errors.As(err, &syn):
		return callapi.Invalid("body", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return callapi.Invalid("body", "must be a JSON object, not %s", typ.Value)
		}
		return callapi.Invalid(typ.Field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, _ := strconv.Unquote(f)
		if name == "" {
			name = f
		}
		return callapi.Invalid(name, "unknown field")
	}
	return callapi.Invalid("body", "undecodable JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	}
	return "a " + k
}

// limitBody caps the request body; reading past the limit fails with
// *http.MaxBytesError.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) io.Reader {
	return http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
}

// readForm reads a small url-encoded or JSON body into key/value pairs
// (POST /oauth/token accepts both).
func readForm(r io.Reader, contentType string) (url.Values, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, jsonError(err)
	}
	switch mt {
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, callapi.Invalid("body", "malformed form encoding")
		}
		return v, nil
	case "application/json":
		m := map[string]string{}
		if err := decodeJSON(bytes.NewReader(b), &m); err != nil {
			return nil, err
		}
		v := url.Values{}
		for k, s := range m {
			v.Set(k, s)
		}
		return v, nil
	}
	return nil, callapi.Wrap(callapi.CodeInvalidArgument, "", errUnsupportedMedia, "Content-Type must be application/x-www-form-urlencoded or application/json")
}
