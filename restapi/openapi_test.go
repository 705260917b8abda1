package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
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

// jsonFields returns the JSON member names of a struct type.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...) // its members are the body's
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestBodiesMatchOpenAPI: the request and response schemas of
// openapi.json list exactly the JSON members of the Go types behind them,
// and request bodies refuse additional properties as the decoders do.
func TestBodiesMatchOpenAPI(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				AdditionalProperties *bool                      `json:"additionalProperties"`
				Properties           map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema  string
		v       any
		request bool
	}{
		{"OriginateRequest", callapi.OriginateRequest{}, true},
		{"RingRequest", callapi.RingArgs{}, true},
		{"MuteRequest", callapi.MuteArgs{}, true},
		{"DTMFRequest", callapi.DTMFArgs{}, true},
		{"PlayRequest", playBody{}, true},
		{"RecordRequest", callapi.RecordArgs{}, true},
		{"RedirectRequest", callapi.RedirectArgs{}, true},
		{"ContinueRequest", callapi.ContinueArgs{}, true},
		{"SnoopRequest", snoopBody{}, true},
		{"MOHRequest", callapi.MOHArgs{}, true},
		{"VariableRequest", variableBody{}, true},
		{"BridgeRequest", callapi.BridgeCreateRequest{}, true},
		{"BridgeCallRequest", callapi.BridgeCallArgs{}, true},
		{"TransferRequest", transferBody{}, true},
		{"Call", callapi.Call{}, false},
		{"CallList", callList{}, false},
		{"Accepted", callapi.Accepted{}, false},
		{"Variable", callapi.Variable{}, false},
		{"Bridge", callapi.Bridge{}, false},
		{"BridgeList", bridgeList{}, false},
		{"Playback", callapi.Playback{}, false},
		{"Recording", callapi.Recording{}, false},
		{"RecordingList", recordingList{}, false},
		{"DeviceStateRequest", deviceStateBody{}, true},
		{"MailboxRequest", mailboxBody{}, true},
		{"Endpoint", callapi.Endpoint{}, false},
		{"DeviceState", callapi.DeviceState{}, false},
		{"Mailbox", callapi.Mailbox{}, false},
	} {
		s, ok := doc.Components.Schemas[tc.schema]
		if !ok {
			t.Errorf("schema %s missing", tc.schema)
			continue
		}
		var described []string
		for p := range s.Properties {
			described = append(described, p)
		}
		sort.Strings(described)
		if want := jsonFields(reflect.TypeOf(tc.v)); !slices.Equal(described, want) {
			t.Errorf("schema %s has %v, %T has %v", tc.schema, described, tc.v, want)
		}
		if tc.request && (s.AdditionalProperties == nil || *s.AdditionalProperties) {
			t.Errorf("schema %s: additionalProperties must be false (unknown fields are refused)", tc.schema)
		}
	}
}

// TestOpenAPIScopes: the scope openapi.json names for each call, bridge
// and media operation is the one the router enforces: a token without it
// gets 403, a token with it does not.
func TestOpenAPIScopes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	down := func() error { return callapi.Errorf(callapi.CodeNodeUnavailable, "no bus in this test") }
	bus := &fakeBus{
		RequestFn: func(context.Context, callapi.Target, *callapi.Command) (*callapi.Reply, error) { return nil, down() },
		GatherFn: func(context.Context, *callapi.Command, []callapi.NodeID) ([]*callapi.Reply, error) {
			return nil, down()
		},
		SendFn: func(context.Context, callapi.Target, *callapi.Command) error { return down() },
	}
	reg := gateway.NewRegistry()
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{calls: gateway.NewService(bus, reg, gateway.NewLocations(0)), nodes: reg})
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, s.Handler(), map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	reader, writer := tok("reader", "r"), tok("acme-app", "s3cret") // calls:read; calls:read+write
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Security []map[string][]string `json:"security"`
			}
			if method == "parameters" || json.Unmarshal(raw, &op) != nil || len(op.Security) == 0 {
				continue
			}
			scope := op.Security[0]["oauth2"][0]
			if scope != ScopeCallsRead && scope != ScopeCallsWrite {
				continue
			}
			n++
			target := param.ReplaceAllString(path, "x1")
			m := strings.ToUpper(method)
			if rec := do(t, s.Handler(), m, target, "", "Authorization", writer); rec.Code == 403 || rec.Code == 401 {
				t.Errorf("%s %s with calls:read+write: %d", m, path, rec.Code)
			}
			rec := do(t, s.Handler(), m, target, "", "Authorization", reader)
			if want403 := scope == ScopeCallsWrite; (rec.Code == 403) != want403 || rec.Code == 401 {
				t.Errorf("%s %s is described with %s; a calls:read token gets %d", m, path, scope, rec.Code)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d operations checked", n)
	}
}
