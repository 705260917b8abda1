package restapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestOpenAPIMatchesRouter: every route in the router is described, every
// described path and method is routed, and docs/openapi.json is the same
// document.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			described[strings.ToUpper(m)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	s := MustNewServer(t, Config{}, deps{})
	err := chi.Walk(s.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range sortedKeys(routed) {
		if !described[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range sortedKeys(described) {
		if !routed[k] {
			t.Errorf("openapi.json describes %s, which is not routed", k)
		}
	}
	docs, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPI) {
		t.Error("docs/openapi.json differs from restapi/openapi.json: cp restapi/openapi.json docs/")
	}
	rec := do(t, s.Handler(), "GET", "/v1/openapi.json", "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), openAPI) {
		t.Errorf("GET /v1/openapi.json: %d", rec.Code)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
