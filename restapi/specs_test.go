package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/worker"
)

// nonActionRoutes are the routes that run no command: the service's own
// endpoints, the node registry and the event streams.
var nonActionRoutes = []string{
	"GET /healthz", "GET /readyz", "POST /oauth/token", "GET /v1/openapi.json",
	"GET /v1/docs", "GET /v1/docs/redoc.standalone.js",
	"GET /console", "GET /console/{file}",
	"GET /v1/nodes", "GET /v1/nodes/{id}", "GET /v1/events", "GET /v1/events/ws",
	// webhook subscriptions: served from the gateway's webhook store
	"POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/{id}", "PATCH /v1/webhooks/{id}", "DELETE /v1/webhooks/{id}",
	"POST /v1/webhooks/{id}/pause", "POST /v1/webhooks/{id}/resume", "POST /v1/webhooks/{id}/rotate",
	"POST /v1/webhooks/{id}/ping", "GET /v1/webhooks/{id}/attempts",
}

// TestSpecsWalk walks gateway's action registry against the router and
// openapi.json: every REST route of every Spec is routed and served by a
// handler (none falls back to not_implemented), every routed route is one
// Spec's or a known non-action route, every Spec is reachable from REST or
// says why it is AMQP-only, and openapi.json describes each route with the
// request body of the action's argument type where the route decodes it.
func TestSpecsWalk(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{})
	routed := map[string]bool{}
	err := chi.Walk(s.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	routes, unserved := s.actionRoutes()
	if len(unserved) != 0 {
		t.Errorf("registry routes without a REST handler: %v", unserved)
	}
	owner := map[string]callapi.Action{}
	for _, rt := range routes {
		k := rt.method + " " + rt.path
		if a, dup := owner[k]; dup {
			t.Errorf("route %s belongs to %s and %s", k, a, rt.spec.Action)
		}
		owner[k] = rt.spec.Action
		if !routed[k] {
			t.Errorf("%s: route %s is not routed", rt.spec.Action, k)
		}
	}
	for k := range routed {
		if _, ok := owner[k]; !ok && !slices.Contains(nonActionRoutes, k) {
			t.Errorf("route %s maps to no callapi.Spec and is not a known non-action route", k)
		}
	}
	for _, spec := range callapi.Specs() {
		if len(spec.REST) == 0 && spec.AMQPOnly == "" {
			t.Errorf("%s is neither reachable from REST nor documented AMQP-only", spec.Action)
		}
	}
	for a, hs := range s.actionHandlers() {
		if spec, ok := callapi.SpecOf(a); !ok || len(hs) > len(spec.REST) {
			t.Errorf("%d handlers for %s, which has no Spec or fewer routes", len(hs), a)
		}
	}
	if len(owner) != len(routes) {
		t.Errorf("%d routes for %d owners", len(routes), len(owner))
	}

	// The description matches: each generic route's body is the argument
	// type, members for members.
	doc := decodeOpenAPI(t)
	for _, rt := range routes {
		raw, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s %s (%s) is not in openapi.json", rt.method, rt.path, rt.spec.Action)
			continue
		}
		var op openAPIOperation
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s %s: %v", rt.method, rt.path, err)
		}
		if _, ok := op.Responses["501"]; ok != (rt.spec.Port != callapi.PortPBX) {
			t.Errorf("%s %s: 501 described %v, but %s needs %s", rt.method, rt.path, ok, rt.spec.Action, rt.spec.Port)
		}
		if !rt.generic {
			continue // its own handler; its body: TestBodiesMatchOpenAPI
		}
		if _, ok := op.Responses["204"]; !ok {
			t.Errorf("%s %s: no 204 response described", rt.method, rt.path)
		}
		if rt.spec.Args == reflect.TypeFor[callapi.NoArgs]() {
			if op.RequestBody != nil {
				t.Errorf("%s %s: describes a body, %s takes no arguments", rt.method, rt.path, rt.spec.Action)
			}
			continue
		}
		if op.RequestBody == nil {
			t.Errorf("%s %s: no request body described (%s takes %s)", rt.method, rt.path, rt.spec.Action, rt.spec.Args)
			continue
		}
		ref := op.RequestBody.Content["application/json"].Schema.Ref
		schema, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		if !ok {
			t.Errorf("%s %s: request schema %q not found", rt.method, rt.path, ref)
			continue
		}
		var described []string
		for p := range schema.Properties {
			described = append(described, p)
		}
		sort.Strings(described)
		if want := jsonFields(rt.spec.Args); !slices.Equal(described, want) {
			t.Errorf("%s %s: schema %s has %v, %s has %v", rt.method, rt.path, ref, described, rt.spec.Args, want)
		}
	}
}

// TestNotImplemented501: on a cluster whose PBX lacks the capability an
// action needs, every route of that action answers not_implemented, which
// is 501 (not 400, nor the 404 of a locate no node could answer, nor a 200
// listing with every node missing). The workers are real executors, behind
// Request and Gather alike.
func TestNotImplemented501(t *testing.T) {
	run := func(node callapi.NodeID, cmd *callapi.Command) *callapi.Reply {
		x := &worker.Executor{Node: node, PBX: corePBX{}}
		c := *cmd
		return x.Handle(context.Background(), &c)
	}
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			var reps []*callapi.Reply
			for _, n := range expect {
				reps = append(reps, run(n, cmd))
			}
			return reps, nil
		},
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			return run(callapi.NodeID(target), cmd), nil
		},
	}
	h := serviceServer(t, bus, Config{})
	play, rec := `{"media":["tone:ring"]}`, `{"name":"r1"}`
	cases := map[string]string{ // route → body
		"POST /v1/calls/{id}/answer": "", "POST /v1/calls/{id}/ring": "", "POST /v1/calls/{id}/ring/stop": "",
		"POST /v1/calls/{id}/hold": "", "POST /v1/calls/{id}/unhold": "", "POST /v1/calls/{id}/mute": "{}",
		"POST /v1/calls/{id}/unmute": "{}", "POST /v1/calls/{id}/dtmf": `{"digits":"1"}`,
		"POST /v1/calls/{id}/play": play, "POST /v1/calls/{id}/record": rec,
		"POST /v1/calls/{id}/redirect": `{"endpoint":"PJSIP/sip:b@pbx.example.com"}`,
		"POST /v1/calls/{id}/continue": `{"context":"default","extension":"s","priority":1}`,
		"POST /v1/calls/{id}/snoop":    "{}", "GET /v1/calls/{id}/variables/{name}": "",
		"PUT /v1/calls/{id}/variables/{name}": `{"value":"x"}`, "POST /v1/calls/{id}/moh": "{}",
		"DELETE /v1/calls/{id}/moh": "",
		"POST /v1/bridges":          "{}", "GET /v1/bridges": "", "GET /v1/bridges/{id}": "",
		"DELETE /v1/bridges/{id}": "", "POST /v1/bridges/{id}/calls": `{"call_id":"c1"}`,
		"DELETE /v1/bridges/{id}/calls/{call_id}": "", "POST /v1/bridges/{id}/play": play,
		"POST /v1/bridges/{id}/record": rec, "POST /v1/transfers": `{"transferee":"c1","target":"c2","transferer":"c3"}`,
		"GET /v1/playbacks/{id}": "", "DELETE /v1/playbacks/{id}": "",
		"GET /v1/recordings/live/{name}": "", "POST /v1/recordings/live/{name}/stop": "",
		"GET /v1/recordings/stored": "", "GET /v1/recordings/stored/{name}": "",
		"DELETE /v1/recordings/stored/{name}": "",
		"POST /v1/calls/create":               `{"to":"PJSIP/alice"}`, "POST /v1/calls/{id}/dial": "{}",
		"POST /v1/messages": `{"to":"PJSIP/alice","from":"sip:a@b"}`,
		"GET /v1/endpoints": "", "GET /v1/endpoints/{tech}/{resource}": "",
		"GET /v1/device-states": "", "GET /v1/device-states/{name}": "",
		"PUT /v1/device-states/{name}": `{"state":"BUSY"}`, "DELETE /v1/device-states/{name}": "",
		"GET /v1/mailboxes": "", "GET /v1/mailboxes/{name}": "",
		"PUT /v1/mailboxes/{name}": `{"new_messages":1}`, "DELETE /v1/mailboxes/{name}": "",
		"GET /v1/globals/{name}": "", "PUT /v1/globals/{name}": `{"value":"x"}`,
		"POST /v1/playbacks/{id}/control": `{"operation":"pause"}`, "POST /v1/recordings/live/{name}/pause": "",
		"DELETE /v1/recordings/live/{name}/pause": "", "POST /v1/recordings/live/{name}/mute": "",
		"DELETE /v1/recordings/live/{name}/mute": "",
	}
	fill := strings.NewReplacer("/v1/device-states/{name}", "/v1/device-states/Stasis:FOO", "{tech}", "PJSIP", "{resource}", "alice",
		"{id}", "x1", "{name}", "FOO", "{call_id}", "c1")
	for _, spec := range callapi.Specs() {
		if spec.Port == callapi.PortPBX {
			continue
		}
		for _, route := range spec.REST {
			body, ok := cases[route]
			if !ok {
				t.Errorf("%s: no case for %s", spec.Action, route)
				continue
			}
			method, path, _ := strings.Cut(route, " ")
			rec := do(t, h.Handler(), method, fill.Replace(path), body)
			if rec.Code != http.StatusNotImplemented {
				t.Errorf("%s (%s): status %d, want 501; body %s", route, spec.Action, rec.Code, rec.Body)
				continue
			}
			checkProblem(t, http.StatusNotImplemented, rec.Body.Bytes(), rec.Header().Get("Content-Type"), fill.Replace(path), "")
		}
	}
}

// corePBX implements only the mandatory port.
type corePBX struct{}

func (corePBX) Originate(context.Context, string, callapi.CallID, callapi.OriginateArgs) (*callapi.Call, error) {
	return nil, callapi.Errorf(callapi.CodeInternal, "not in this test")
}
func (corePBX) Call(_ context.Context, _ string, id callapi.CallID) (*callapi.Call, error) {
	return &callapi.Call{ID: id, Node: "pbx1"}, nil
}
func (corePBX) Calls(context.Context, string) ([]*callapi.Call, error)       { return nil, nil }
func (corePBX) Hangup(context.Context, string, callapi.CallID, string) error { return nil }
func (corePBX) Info(context.Context) (callapi.PBXInfo, error)                { return callapi.PBXInfo{}, nil }

// TestRoutesNeedTheirPortsService: every action route answers 503
// node_unavailable when the service its Spec's port needs is missing
// (no calls at all; calls without Bridges and Media), and no route whose
// service is there answers so; the node routes need the node registry.
func TestRoutesNeedTheirPortsService(t *testing.T) {
	for _, tc := range []struct {
		name    string
		calls   Calls
		missing func(callapi.Port) bool
	}{
		{"no calls", nil, func(callapi.Port) bool { return true }},
		{"calls only", struct{ callsOnly }{refusingCalls{}}, func(p callapi.Port) bool {
			return p == callapi.PortBridges || p == callapi.PortMedia || p == callapi.PortNodeRes
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustNewServer(t, Config{}, deps{calls: tc.calls})
			routes, _ := s.actionRoutes()
			for _, rt := range routes {
				path := strings.NewReplacer("{id}", "x1", "{name}", "r1", "{call_id}", "c1").Replace(rt.path)
				rec := do(t, s.Handler(), rt.method, path, "")
				unavailable := rec.Code == http.StatusServiceUnavailable && strings.Contains(rec.Body.String(), "is not configured")
				if unavailable != tc.missing(rt.spec.Port) {
					t.Errorf("%s %s (%s, port %s): %d %s", rt.method, rt.path, rt.spec.Action, rt.spec.Port, rec.Code, rec.Body)
				}
			}
			if rec := do(t, s.Handler(), "GET", "/v1/nodes", ""); rec.Code != http.StatusServiceUnavailable {
				t.Errorf("GET /v1/nodes without a registry: %d", rec.Code)
			}
		})
	}
}

// refusingCalls answers every call with an error (not 503).
type refusingCalls struct{}

var errRefusing = callapi.Errorf(callapi.CodeConflict, "refusing")

func (refusingCalls) Originate(context.Context, gateway.Options, callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
	return nil, nil, errRefusing
}
func (refusingCalls) Call(context.Context, gateway.Options, callapi.CallID) (json.RawMessage, error) {
	return nil, errRefusing
}
func (refusingCalls) Calls(context.Context, gateway.Options, gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
	return nil, nil, errRefusing
}
func (refusingCalls) Hangup(context.Context, gateway.Options, callapi.CallID, string) (*callapi.Accepted, error) {
	return nil, errRefusing
}
func (refusingCalls) CallAction(context.Context, gateway.Options, callapi.CallID, callapi.Action, any, any) (*callapi.Accepted, error) {
	return nil, errRefusing
}
func (refusingCalls) Play(context.Context, gateway.Options, callapi.CallID, callapi.PlayArgs) (*callapi.Playback, *callapi.Accepted, error) {
	return nil, nil, errRefusing
}
func (refusingCalls) Record(context.Context, gateway.Options, callapi.CallID, callapi.RecordArgs) (*callapi.Recording, *callapi.Accepted, error) {
	return nil, nil, errRefusing
}
func (refusingCalls) Snoop(context.Context, gateway.Options, callapi.CallID, callapi.SnoopArgs) (*callapi.Call, *callapi.Accepted, error) {
	return nil, nil, errRefusing
}

// openAPIDoc is the part of openapi.json the tests walk: operations by path
// and method, and the schemas' properties.
type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

// openAPIOperation is the part of one operation the tests read.
type openAPIOperation struct {
	Parameters []struct {
		Name   string          `json:"name"`
		Ref    string          `json:"$ref"`
		Schema json.RawMessage `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// bodyRefs are the schema references of the operation's request body, one
// per content type (none without a body).
func (op openAPIOperation) bodyRefs() []string {
	if op.RequestBody == nil {
		return nil
	}
	var refs []string
	for _, c := range op.RequestBody.Content {
		refs = append(refs, c.Schema.Ref)
	}
	return refs
}

func decodeOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
