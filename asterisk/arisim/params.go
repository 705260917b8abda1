package arisim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody bounds a request body, as Asterisk's HTTP server bounds its own.
const maxBody = 1 << 20

// params are a request's parameters. Asterisk reads them from the query string and, for any
// operation, also from a JSON object body ("Other keys in the body object are interpreted as query
// parameters"); a body key overrides the query. "variables" in the body sets channel variables.
type params struct {
	q    url.Values
	body map[string]json.RawMessage
	// array is a body that is a JSON array: Asterisk parses it (jansson takes an object or an
	// array) and the operations that look up keys in it find none; PUT …/eventFilter takes it
	// for both of its lists.
	array json.RawMessage
}

var errBody = errors.New("Error parsing request body") //nolint:staticcheck // Asterisk's text

// parseParams reads the query and an optional JSON object body.
func parseParams(r *http.Request) (params, error) {
	p := params{q: r.URL.Query()}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return p, errBody
	}
	body, array, err := decodeBody(b)
	if err != nil {
		return p, err
	}
	p.body, p.array = body, array
	return p, nil
}

// decodeBody decodes a request body: empty, JSON null, a JSON object (body) or a JSON array
// (array).
func decodeBody(b []byte) (body map[string]json.RawMessage, array json.RawMessage, err error) {
	s := strings.TrimSpace(string(b))
	if s == "" || s == "null" {
		return nil, nil, nil
	}
	if s[0] == '[' {
		if !json.Valid([]byte(s)) {
			return nil, nil, errBody
		}
		return nil, json.RawMessage(s), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, nil, errBody
	}
	return m, nil, nil
}

// str returns a parameter as a string; a JSON number or boolean is rendered as text.
func (p params) str(name string) string {
	if raw, ok := p.body[name]; ok {
		if v, ok := rawString(raw); ok {
			return v
		}
	}
	return p.q.Get(name)
}

func rawString(raw json.RawMessage) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !bytes.ContainsAny(raw[1:n-1], `"\\`) {
		return string(raw[1 : n-1]), true // plain string: no escapes to decode
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

// list returns a multi-valued parameter: repeated and comma-separated values.
func (p params) list(name string) []string {
	var vals []string
	if raw, ok := p.body[name]; ok {
		if v, ok := rawString(raw); ok {
			vals = []string{v}
		}
	} else {
		vals = p.q[name]
	}
	var out []string
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// num returns an integer parameter, def when absent; Asterisk's atoi gives 0 for junk.
func (p params) num(name string, def int) int {
	v := p.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		if f, ferr := strconv.ParseFloat(v, 64); ferr == nil {
			return int(f)
		}
		return 0
	}
	return n
}

// boolean reads Asterisk's ast_true values.
func (p params) boolean(name string) bool {
	switch strings.ToLower(p.str(name)) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}

// variables returns the body's "variables" object; Asterisk accepts only string values.
func (p params) variables() (map[string]string, error) {
	raw, ok := p.body["variables"]
	if !ok {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errf(400, "Only string values in the 'variables' object allowed")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, errf(400, "Only string values in the 'variables' object allowed")
		}
		out[k] = s
	}
	return out, nil
}
