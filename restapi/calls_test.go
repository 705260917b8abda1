package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

var testCall = &callapi.Call{
	ID: "c1", Node: "pbx1", Tenant: callapi.DefaultTenant, State: callapi.StateUp, Direction: callapi.Outbound,
	To: "Local/answer@callgw-test", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func decodeProblem(t *testing.T, body []byte) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	return p
}

func TestOriginate(t *testing.T) {
	busy := *testCall
	busy.State = callapi.StateEnded
	busy.Hangup = &callapi.Hangup{Cause: 17, CauseText: "User busy", DialStatus: "BUSY"}
	for _, tc := range []struct {
		name      string
		body      string
		hdr       []string
		query     string
		call      *callapi.Call
		acc       *callapi.Accepted
		err       error
		wantCode  int
		wantField string
		wantCalls int // Originate calls expected
		check     func(t *testing.T, o gateway.Options, req callapi.OriginateRequest, dl time.Duration)
	}{
		{name: "created", body: `{"to":"Local/answer@callgw-test","node":"pbx1","from":"100","variables":{"X":"1"},"tags":["sales-42"],"timeout":30,"wait":"none"}`,
			call: testCall, wantCode: 201, wantCalls: 1,
			check: func(t *testing.T, o gateway.Options, req callapi.OriginateRequest, dl time.Duration) {
				if req.Node != "pbx1" || req.To != "Local/answer@callgw-test" || req.From != "100" ||
					req.Variables["X"] != "1" || req.Tags[0] != "sales-42" || req.Timeout != 30 {
					t.Errorf("request = %+v", req)
				}
				if o.Tenant != callapi.DefaultTenant || o.Async || o.IdempotencyKey != "" {
					t.Errorf("options = %+v", o)
				}
				if dl <= 4*time.Second || dl > 5*time.Second {
					t.Errorf("deadline in %s, want the 5s default", dl)
				}
			}},
		{name: "busy outcome is still 201", body: `{"to":"Local/busy@callgw-test","wait":"answered"}`, call: &busy, wantCode: 201, wantCalls: 1},
		{name: "dialplan target", body: `{"to":"PJSIP/alice","context":"default","extension":"100","priority":1}`, call: testCall, wantCode: 201, wantCalls: 1},
		{name: "timeout query seconds", body: `{"to":"PJSIP/alice"}`, query: "?timeout=30", call: testCall, wantCode: 201, wantCalls: 1,
			check: func(t *testing.T, _ gateway.Options, _ callapi.OriginateRequest, dl time.Duration) {
				if dl <= 29*time.Second || dl > 30*time.Second {
					t.Errorf("deadline in %s, want 30s", dl)
				}
			}},
		{name: "timeout query duration", body: `{"to":"PJSIP/alice"}`, query: "?timeout=1500ms", call: testCall, wantCode: 201, wantCalls: 1,
			check: func(t *testing.T, _ gateway.Options, _ callapi.OriginateRequest, dl time.Duration) {
				if dl <= time.Second || dl > 1500*time.Millisecond {
					t.Errorf("deadline in %s, want 1.5s", dl)
				}
			}},
		{name: "async", body: `{"to":"PJSIP/alice"}`, hdr: []string{"Prefer", "handling=lenient, respond-async"},
			acc: &callapi.Accepted{CommandID: "cmd-1", CallID: "c9"}, wantCode: 202, wantCalls: 1,
			check: func(t *testing.T, o gateway.Options, _ callapi.OriginateRequest, _ time.Duration) {
				if !o.Async {
					t.Error("Async not set")
				}
			}},
		{name: "idempotency key", body: `{"to":"PJSIP/alice"}`, hdr: []string{"Idempotency-Key", "k-123"}, call: testCall, wantCode: 201, wantCalls: 1,
			check: func(t *testing.T, o gateway.Options, _ callapi.OriginateRequest, _ time.Duration) {
				if o.IdempotencyKey != "k-123" {
					t.Errorf("IdempotencyKey = %q", o.IdempotencyKey)
				}
			}},
		{name: "idempotency key with space", body: `{"to":"PJSIP/alice"}`, hdr: []string{"Idempotency-Key", "a b"}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "idempotency key too long", body: `{"to":"PJSIP/alice"}`, hdr: []string{"Idempotency-Key", strings.Repeat("k", 256)}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "unknown field", body: `{"to":"PJSIP/alice","colour":"red"}`, wantCode: 400, wantField: "colour"},
		{name: "wrong type", body: `{"to":"PJSIP/alice","timeout":"30"}`, wantCode: 400, wantField: "timeout"},
		{name: "missing to", body: `{"from":"100"}`, wantCode: 400, wantField: "to"},
		{name: "bad endpoint", body: `{"to":"alice"}`, wantCode: 400, wantField: "to"},
		{name: "bad node", body: `{"to":"PJSIP/alice","node":"pbx.1"}`, wantCode: 400, wantField: "node"},
		{name: "reserved node", body: `{"to":"PJSIP/alice","node":"any"}`, wantCode: 400, wantField: "node"},
		{name: "bad wait", body: `{"to":"PJSIP/alice","wait":"forever"}`, wantCode: 400, wantField: "wait"},
		{name: "bad tag", body: `{"to":"PJSIP/alice","tags":["a.b"]}`, wantCode: 400, wantField: "tags"},
		{name: "context without extension", body: `{"to":"PJSIP/alice","context":"default"}`, wantCode: 400, wantField: "extension"},
		{name: "empty body", body: "", wantCode: 400, wantField: "body"},
		{name: "malformed", body: `{"to":`, wantCode: 400, wantField: "body"},
		{name: "trailing data", body: `{"to":"PJSIP/alice"} {}`, wantCode: 400, wantField: "body"},
		{name: "array body", body: `[1]`, wantCode: 400, wantField: "body"},
		{name: "too large", body: `{"to":"PJSIP/alice","from":"` + strings.Repeat("x", 70<<10) + `"}`, wantCode: 413},
		{name: "wrong content type", body: `{"to":"PJSIP/alice"}`, hdr: []string{"Content-Type", "text/plain"}, wantCode: 415},
		{name: "bad timeout", body: `{"to":"PJSIP/alice"}`, query: "?timeout=soon", wantCode: 400, wantField: "timeout"},
		{name: "timeout above max", body: `{"to":"PJSIP/alice"}`, query: "?timeout=91s", wantCode: 400, wantField: "timeout"},
		{name: "zero timeout", body: `{"to":"PJSIP/alice"}`, query: "?timeout=0", wantCode: 400, wantField: "timeout"},
		{name: "unknown query", body: `{"to":"PJSIP/alice"}`, query: "?wait=answered", wantCode: 400, wantField: "wait"},
		{name: "node down", body: `{"to":"PJSIP/alice","node":"pbx2"}`, err: callapi.Errorf(callapi.CodeNodeUnavailable, "node pbx2 is down"), wantCode: 503, wantCalls: 1},
		{name: "deadline", body: `{"to":"PJSIP/alice"}`, err: context.DeadlineExceeded, wantCode: 504, wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			calls := &fakeCalls{t: t, OriginateFn: func(ctx context.Context, o gateway.Options, req callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
				n++
				dl, ok := ctx.Deadline()
				if !ok {
					t.Error("no deadline")
				}
				if tc.check != nil {
					tc.check(t, o, req, time.Until(dl))
				}
				return tc.call, tc.acc, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/calls"+tc.query, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if n != tc.wantCalls {
				t.Errorf("Originate called %d times, want %d", n, tc.wantCalls)
			}
			switch {
			case tc.wantCode == 201:
				var got callapi.Call
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.ID != tc.call.ID || got.Node != tc.call.Node || got.State != tc.call.State {
					t.Errorf("call = %+v", got)
				}
				if (tc.call.Hangup == nil) != (got.Hangup == nil) || (got.Hangup != nil && got.Hangup.Cause != 17) {
					t.Errorf("hangup = %+v, want %+v", got.Hangup, tc.call.Hangup)
				}
				if loc := rec.Header().Get("Location"); loc != "/v1/calls/"+string(tc.call.ID) {
					t.Errorf("Location = %q", loc)
				}
			case tc.wantCode == 202:
				var got callapi.Accepted
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got != *tc.acc {
					t.Errorf("accepted = %+v", got)
				}
				if rec.Header().Get("Preference-Applied") != "respond-async" {
					t.Error("no Preference-Applied")
				}
			default:
				if ct := rec.Header().Get("Content-Type"); ct != ProblemContentType {
					t.Errorf("Content-Type %q", ct)
				}
				p := decodeProblem(t, rec.Body.Bytes())
				if p.Status != tc.wantCode || p.Field != tc.wantField || p.Detail == "" || p.Instance != "/v1/calls" ||
					p.Type != ProblemTypePrefix+string(p.Code) || p.Title == "" {
					t.Errorf("problem = %+v, want field %q", p, tc.wantField)
				}
			}
		})
	}
}

func TestOriginateIdempotentErrorCarriesCommandID(t *testing.T) {
	calls := &fakeCalls{t: t, OriginateFn: func(context.Context, gateway.Options, callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
		return nil, nil, callapi.Errorf(callapi.CodeTimeout, "no reply")
	}}
	s := MustNewServer(t, Config{}, deps{calls: calls})
	rec := do(t, s.Handler(), "POST", "/v1/calls", `{"to":"PJSIP/alice"}`, "Idempotency-Key", "abc")
	p := decodeProblem(t, rec.Body.Bytes())
	if want := callapi.CommandID(callapi.DefaultTenant, "abc"); p.CommandID != want || p.Status != 504 {
		t.Errorf("problem = %+v, want command id %s", p, want)
	}
}

func TestListCalls(t *testing.T) {
	for _, tc := range []struct {
		name      string
		query     string
		calls     []*callapi.Call
		missing   []callapi.NodeID
		wantCode  int
		wantField string
		wantReq   gateway.ListRequest
		wantBody  string
	}{
		{name: "all", wantCode: 200, calls: []*callapi.Call{testCall}, missing: []callapi.NodeID{"pbx2"}},
		{name: "empty lists are arrays", wantCode: 200, wantBody: `{"calls":[],"missing_nodes":[]}`},
		{name: "filters", query: "?node=pbx1&state=up&tag=sales-42", wantCode: 200,
			wantReq: gateway.ListRequest{Node: "pbx1", ListArgs: callapi.ListArgs{State: callapi.StateUp, Tag: "sales-42"}}},
		{name: "bad state", query: "?state=happy", wantCode: 400, wantField: "state"},
		{name: "bad node", query: "?node=a.b", wantCode: 400, wantField: "node"},
		{name: "bad tag", query: "?tag=", wantCode: 400, wantField: "tag"},
		{name: "unknown filter", query: "?stat=up", wantCode: 400, wantField: "stat"},
		{name: "repeated filter", query: "?node=a&node=b", wantCode: 400, wantField: "node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, CallsFn: func(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
				if req != tc.wantReq {
					t.Errorf("request = %+v, want %+v", req, tc.wantReq)
				}
				return tc.calls, tc.missing, nil
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "GET", "/v1/calls"+tc.query, "")
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode != 200 {
				if p := decodeProblem(t, rec.Body.Bytes()); p.Field != tc.wantField {
					t.Errorf("field %q, want %q", p.Field, tc.wantField)
				}
				return
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
			var got callList
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Calls) != len(tc.calls) || len(got.MissingNodes) != len(tc.missing) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestGetCall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		path     string
		err      error
		wantCode int
	}{
		{"found", "/v1/calls/c1", nil, 200},
		{"not found", "/v1/calls/c2", callapi.Errorf(callapi.CodeNotFound, "call c2 not found"), 404},
		{"bad id", "/v1/calls/a%20b", nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, CallFn: func(_ context.Context, o gateway.Options, id callapi.CallID) (*callapi.Call, error) {
				if tc.err != nil {
					return nil, tc.err
				}
				if id != "c1" || o.Tenant != callapi.DefaultTenant {
					t.Errorf("id %q options %+v", id, o)
				}
				return testCall, nil
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "GET", tc.path, "")
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode == 404 {
				p := decodeProblem(t, rec.Body.Bytes())
				if p.Code != callapi.CodeNotFound || p.Instance != tc.path {
					t.Errorf("problem %+v", p)
				}
			}
		})
	}
}

func TestHangup(t *testing.T) {
	for _, tc := range []struct {
		name       string
		path       string
		hdr        []string
		acc        *callapi.Accepted
		err        error
		wantCode   int
		wantReason string
	}{
		{name: "ok", path: "/v1/calls/c1", wantCode: 204},
		{name: "reason", path: "/v1/calls/c1?reason=busy", wantCode: 204, wantReason: "busy"},
		{name: "bad reason", path: "/v1/calls/c1?reason=bored", wantCode: 400},
		{name: "async", path: "/v1/calls/c1", hdr: []string{"Prefer", "respond-async"}, acc: &callapi.Accepted{CommandID: "x", CallID: "c1", Node: "pbx1"}, wantCode: 202},
		{name: "not found", path: "/v1/calls/c1", err: callapi.Errorf(callapi.CodeNotFound, "call c1 not found"), wantCode: 404},
		{name: "not in stasis", path: "/v1/calls/c1", err: callapi.Errorf(callapi.CodeConflict, "call is not under callgw control"), wantCode: 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, HangupFn: func(_ context.Context, o gateway.Options, id callapi.CallID, reason string) (*callapi.Accepted, error) {
				if id != "c1" || reason != tc.wantReason {
					t.Errorf("id %q reason %q", id, reason)
				}
				return tc.acc, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "DELETE", tc.path, "", tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode == 204 && rec.Body.Len() != 0 {
				t.Errorf("204 with body %q", rec.Body)
			}
		})
	}
}

func TestNoCallsConfigured(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{})
	if rec := do(t, s.Handler(), "GET", "/v1/calls", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d", rec.Code)
	}
}
