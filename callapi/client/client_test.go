package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

func mustClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := New(url, append([]Option{WithRetries(2, time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "code": code, "detail": detail, "request_id": "r1"})
}

// TestRetries: which failures are retried, how often, and that a retried
// command carries the same idempotency key on every attempt.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     func(w http.ResponseWriter) // the answer to the first attempts
		failures int
		call     func(c *Client) error
		attempts int
		code     callapi.Code
	}{
		{"originate after node_unavailable", func(w http.ResponseWriter) { problem(w, 503, "node_unavailable", "pbx1 down") }, 2,
			func(c *Client) error {
				_, err := c.Originate(context.Background(), callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/1"}})
				return err
			}, 3, ""},
		{"gives up after the retries", func(w http.ResponseWriter) { problem(w, 503, "node_unavailable", "pbx1 down") }, 5,
			func(c *Client) error {
				_, err := c.Originate(context.Background(), callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "PJSIP/1"}})
				return err
			}, 3, callapi.CodeNodeUnavailable},
		{"invalid is final", func(w http.ResponseWriter) { problem(w, 400, "invalid_argument", "to: required") }, 5,
			func(c *Client) error {
				_, err := c.Originate(context.Background(), callapi.OriginateRequest{})
				return err
			}, 1, callapi.CodeInvalidArgument},
		{"not found is final", func(w http.ResponseWriter) { problem(w, 404, "not_found", "no call") }, 5,
			func(c *Client) error { return c.Hangup(context.Background(), "x1", "") }, 1, callapi.CodeNotFound},
		{"read after a proxy's 502", func(w http.ResponseWriter) { w.WriteHeader(502); _, _ = io.WriteString(w, "<html>bad gateway</html>") }, 1,
			func(c *Client) error { _, err := c.ListCalls(context.Background(), ListCallsFilter{}); return err }, 2, ""},
		{"command timeout is retried with its key", func(w http.ResponseWriter) { problem(w, 504, "timeout", "no reply") }, 1,
			func(c *Client) error { return c.Hold(context.Background(), "x1") }, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				n := len(keys)
				mu.Unlock()
				if n <= tc.failures {
					tc.fail(w)
					return
				}
				switch r.Method {
				case http.MethodPost:
					if strings.HasSuffix(r.URL.Path, "/v1/calls") {
						w.WriteHeader(201)
						_, _ = io.WriteString(w, `{"id":"c1","node":"pbx1","state":"up"}`)
						return
					}
					w.WriteHeader(204)
				case http.MethodGet:
					_, _ = io.WriteString(w, `{"calls":[],"missing_nodes":[]}`)
				default:
					w.WriteHeader(204)
				}
			}))
			defer srv.Close()
			err := tc.call(mustClient(t, srv.URL))
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
			}
			if tc.code != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.RequestID != "r1" || pe.Status == 0 {
					t.Errorf("error %#v: want an *Error with status and request id", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(keys) != tc.attempts {
				t.Fatalf("%d attempts, want %d", len(keys), tc.attempts)
			}
			for _, k := range keys {
				if k != keys[0] {
					t.Errorf("idempotency keys differ across attempts: %q", keys)
				}
			}
		})
	}
}

// TestCommandsCarryKeys: every command carries a generated Idempotency-Key
// (distinct per command) unless the caller gives one; reads carry none.
func TestCommandsCarryKeys(t *testing.T) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.Header.Get("Idempotency-Key")
		w.WriteHeader(204)
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	_ = c.Hangup(ctx, "a", "")
	_ = c.Hangup(ctx, "b", "")
	_ = c.Hangup(ctx, "c", "", WithIdempotencyKey("mine"))
	_, _ = c.GetCall(ctx, "a")
	a, b, mine, get := <-got, <-got, <-got, <-got
	if !strings.HasPrefix(a, "DELETE ") || len(a) < 20 || a == b {
		t.Errorf("generated keys %q, %q", a, b)
	}
	if mine != "DELETE mine" || get != "GET " {
		t.Errorf("given key %q, read %q", mine, get)
	}
}

// TestClientCredentials: the client gets a token from /oauth/token and
// sends it; a refused secret is an *Error with the OAuth2 members.
func TestClientCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			_ = r.ParseForm()
			if r.Form.Get("client_secret") != "s" {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"status":401,"code":"unauthorized","error":"invalid_client","error_description":"bad secret"}`)
				return
			}
			_, _ = io.WriteString(w, `{"access_token":"T1","token_type":"Bearer","expires_in":3600}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer T1" {
			problem(w, 401, "unauthorized", "no token")
			return
		}
		_, _ = io.WriteString(w, `{"nodes":[{"node":"pbx1","state":"up"}]}`)
	}))
	defer srv.Close()
	nodes, err := mustClient(t, srv.URL, WithClientCredentials("app", "s", "")).ListNodes(context.Background())
	if err != nil || len(nodes) != 1 || nodes[0].Node != "pbx1" {
		t.Fatalf("ListNodes: %v %v", nodes, err)
	}
	_, err = mustClient(t, srv.URL).Token(context.Background(), "app", "wrong", "")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != callapi.CodeUnauthorized || pe.OAuthError != "invalid_client" {
		t.Fatalf("wrong secret: %#v", err)
	}
}

type sseServer struct {
	mu      sync.Mutex
	lastIDs []string // Last-Event-ID of each connection
	conns   int
}

// TestEventStreamResumes: after the gateway's shutdown notice, and after
// a dropped connection, the stream reconnects with the id of the last
// event it returned; an event repeated by the resume is not returned
// twice; a refused filter is a final *Error.
func TestEventStreamResumes(t *testing.T) {
	s := &sseServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("type") == "bogus" {
			problem(w, 400, "invalid_argument", "type: bogus")
			return
		}
		s.mu.Lock()
		s.conns++
		n := s.conns
		s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		ev := func(id string) {
			fmt.Fprintf(w, "id: %s\ndata: {\"id\":%q,\"type\":\"call.answered\",\"node\":\"pbx1\",\"call_id\":\"c1\",\"data\":{\"state\":\"up\"}}\n\n", id, id)
		}
		_, _ = io.WriteString(w, "retry: 3000\n: connected\n\n")
		switch n {
		case 1:
			ev("e1")
			ev("e2")
			_, _ = io.WriteString(w, "event: shutdown\ndata: {\"code\":\"shutdown\",\"message\":\"bye\"}\n\n")
		case 2:
			ev("e2") // repeated by the resume
			ev("e3")
			fl.Flush()
			return // connection dropped without notice
		default:
			ev("e4")
		}
		fl.Flush()
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reasons []string
	st, err := c.Events(ctx, EventFilter{Types: []callapi.EventType{"call."}}, StreamOptions{OnReconnect: func(err error, _ int) { reasons = append(reasons, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for e, err := range st.All() {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
		if d, err := callapi.DecodeData(e); err != nil || d.(*callapi.StateData).State != "up" {
			t.Errorf("data %v %v", d, err)
		}
		if len(ids) == 4 {
			break
		}
	}
	if want := []string{"e1", "e2", "e3", "e4"}; !slices.Equal(ids, want) {
		t.Errorf("events %v, want %v", ids, want)
	}
	s.mu.Lock()
	if want := []string{"", "e2", "e3"}; !slices.Equal(s.lastIDs, want) {
		t.Errorf("Last-Event-ID per connection %q, want %q", s.lastIDs, want)
	}
	s.mu.Unlock()
	if len(reasons) != 2 || !strings.Contains(reasons[0], "shutdown") {
		t.Errorf("reconnect reasons %q", reasons)
	}

	_, err = c.Events(ctx, EventFilter{Types: []callapi.EventType{"bogus"}}, StreamOptions{})
	if ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("bad filter: %v", err)
	}
}

// TestRequestTypesMatchOpenAPI: the request types list exactly the members
// of their OpenAPI schemas.
func TestRequestTypesMatchOpenAPI(t *testing.T) {
	doc := openAPIDoc(t)
	for name, v := range map[string]any{
		"OriginateRequest": callapi.OriginateRequest{}, "RingRequest": RingRequest{}, "MuteRequest": MuteRequest{},
		"DTMFRequest": DTMFRequest{}, "PlayRequest": PlayRequest{}, "RecordRequest": RecordRequest{},
		"RedirectRequest": RedirectRequest{}, "ContinueRequest": ContinueRequest{}, "SnoopRequest": SnoopRequest{},
		"MOHRequest": MOHRequest{}, "VariableRequest": VariableRequest{}, "BridgeRequest": callapi.BridgeCreateRequest{},
		"BridgeCallRequest": BridgeCallRequest{}, "TransferRequest": TransferRequest{}, "Token": Token{},
		"CallList": CallList{}, "BridgeList": BridgeList{}, "RecordingList": RecordingList{},
	} {
		var described []string
		for p := range doc.Components.Schemas[name].Properties {
			described = append(described, p)
		}
		sort.Strings(described)
		fields := jsonMembers(reflect.TypeOf(v))
		sort.Strings(fields)
		if !slices.Equal(described, fields) {
			t.Errorf("%s: openapi %v, Go %v", name, described, fields)
		}
	}
}

// operations maps each operationId of openapi.json to the Client method
// that performs it ("" for the ones a client does not call).
var operations = map[string]string{
	"healthz": "", "readyz": "Ready", "openapi": "OpenAPI", "apiReference": "", "apiReferenceRenderer": "", "token": "Token",
	// the operator console is a page for a browser, not an SDK operation
	"console": "", "consoleFile": "",
	"originate": "Originate", "listCalls": "ListCalls", "getCall": "GetCall", "hangup": "Hangup",
	"listNodes": "ListNodes", "getNode": "GetNode", "events": "Events", "eventsWebSocket": "",
	"answerCall": "Answer", "ringCall": "Ring", "ringStopCall": "RingStop", "holdCall": "Hold", "unholdCall": "Unhold",
	"muteCall": "Mute", "unmuteCall": "Unmute", "sendDTMF": "SendDTMF", "redirectCall": "Redirect",
	"createCall": "CreateCall", "dialCall": "DialCall", "sendMessage": "SendMessage",
	"controlPlayback": "ControlPlayback", "pauseRecording": "ControlRecording", "unpauseRecording": "ControlRecording",
	"muteRecording": "ControlRecording", "unmuteRecording": "ControlRecording",
	"createWebhook": "CreateWebhook", "listWebhooks": "ListWebhooks", "getWebhook": "GetWebhook", "updateWebhook": "UpdateWebhook",
	"deleteWebhook": "DeleteWebhook", "pauseWebhook": "PauseWebhook", "resumeWebhook": "ResumeWebhook",
	"rotateWebhookSecret": "RotateWebhookSecret", "pingWebhook": "PingWebhook", "listWebhookAttempts": "WebhookAttempts",
	"startExternalMedia": "StartExternalMedia", "stopExternalMedia": "StopExternalMedia",
	"continueCall": "Continue", "startMOH": "StartMOH", "stopMOH": "StopMOH", "playOnCall": "Play",
	"recordCall": "Record", "snoopCall": "Snoop", "getVariable": "GetVariable", "setVariable": "SetVariable",
	"createBridge": "CreateBridge", "listBridges": "ListBridges", "getBridge": "GetBridge",
	"destroyBridge": "DestroyBridge", "addToBridge": "AddToBridge", "removeFromBridge": "RemoveFromBridge",
	"playOnBridge": "PlayOnBridge", "recordBridge": "RecordBridge", "transfer": "Transfer",
	"getPlayback": "GetPlayback", "stopPlayback": "StopPlayback", "getLiveRecording": "GetLiveRecording",
	"stopRecording": "StopRecording", "listStoredRecordings": "ListStoredRecordings",
	"getStoredRecording": "GetStoredRecording", "deleteStoredRecording": "DeleteStoredRecording",
	"listEndpoints": "ListEndpoints", "getEndpoint": "GetEndpoint", "listDeviceStates": "ListDeviceStates",
	"getDeviceState": "GetDeviceState", "setDeviceState": "SetDeviceState", "deleteDeviceState": "DeleteDeviceState",
	"listMailboxes": "ListMailboxes", "getMailbox": "GetMailbox", "setMailbox": "SetMailbox", "deleteMailbox": "DeleteMailbox",
	"getGlobalVariable": "GetGlobalVariable", "setGlobalVariable": "SetGlobalVariable",
}

// TestEveryOperationHasAMethod: a new operation in openapi.json fails
// here until the client has a method for it.
func TestEveryOperationHasAMethod(t *testing.T) {
	doc := openAPIDoc(t)
	ct := reflect.TypeOf(&Client{})
	n := 0
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if method == "parameters" || json.Unmarshal(raw, &op) != nil {
				continue
			}
			n++
			m, ok := operations[op.OperationID]
			if !ok {
				t.Errorf("%s %s (%s) has no Client method: add one and list it in operations", method, path, op.OperationID)
				continue
			}
			if _, found := ct.MethodByName(m); m != "" && !found {
				t.Errorf("operation %s: Client has no method %s", op.OperationID, m)
			}
		}
	}
	if n != len(operations) {
		t.Errorf("openapi.json has %d operations, the table %d", n, len(operations))
	}
}

type openAPI struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func openAPIDoc(t *testing.T) *openAPI {
	t.Helper()
	raw, err := os.ReadFile("../../restapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// jsonMembers are the JSON members of struct type rt, those of an embedded
// struct flattened as encoding/json does.
func jsonMembers(rt reflect.Type) []string {
	var fields []string
	for i := range rt.NumField() {
		f := rt.Field(i)
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && n == "" {
			fields = append(fields, jsonMembers(f.Type)...)
			continue
		}
		fields = append(fields, n)
	}
	return fields
}
