package restapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

var testBridge = &callapi.Bridge{
	ID: "b1", Node: "pbx1", Tenant: callapi.DefaultTenant, Type: "mixing", Name: "conf",
	Calls: []callapi.CallID{"c1", "c2"}, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func TestCreateBridge(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		hdr       []string
		res       *callapi.Bridge
		err       error
		wantReq   *callapi.BridgeCreateRequest
		wantCode  int
		wantField string
		wantLoc   string
		wantIn    string // in the problem detail
	}{
		{name: "created", body: `{"type":"mixing","name":"conf","node":"pbx1","calls":["c1","c2"]}`, res: testBridge, wantCode: 201, wantLoc: "/v1/bridges/b1",
			wantReq: &callapi.BridgeCreateRequest{Node: "pbx1", Calls: []callapi.CallID{"c1", "c2"}, BridgeCreateArgs: callapi.BridgeCreateArgs{Type: "mixing", Name: "conf"}}},
		{name: "empty", body: `{}`, res: &callapi.Bridge{ID: "b2", Node: "pbx2"}, wantCode: 201, wantLoc: "/v1/bridges/b2",
			wantReq: &callapi.BridgeCreateRequest{}},
		{name: "async is ignored", body: `{}`, hdr: []string{"Prefer", "respond-async"}, res: &callapi.Bridge{ID: "b2", Node: "pbx2"}, wantCode: 201, wantLoc: "/v1/bridges/b2",
			wantReq: &callapi.BridgeCreateRequest{}},
		{name: "bad type", body: `{"type":"party"}`, wantCode: 400, wantField: "type"},
		{name: "long name", body: `{"name":"` + strings.Repeat("n", 129) + `"}`, wantCode: 400, wantField: "name"},
		{name: "bad node", body: `{"node":"all"}`, wantCode: 400, wantField: "node"},
		{name: "bad call", body: `{"calls":["c 1"]}`, wantCode: 400, wantField: "calls"},
		{name: "call twice", body: `{"calls":["c1","c1"]}`, wantCode: 400, wantField: "calls"},
		{name: "calls not an array", body: `{"calls":"c1"}`, wantCode: 400, wantField: "calls"},
		{name: "bridge_id is not the caller's", body: `{"id":"b1"}`, wantCode: 400, wantField: "id"},
		{name: "no body", wantCode: 400, wantField: "body"},
		{name: "call not in stasis, nothing created", body: `{"calls":["c1"]}`, err: callapi.Errorf(callapi.CodeConflict, "call c1 is not under callgw's control"),
			wantReq: &callapi.BridgeCreateRequest{Calls: []callapi.CallID{"c1"}}, wantCode: 409},
		{name: "created, a call not added", body: `{"calls":["c1","c2"]}`, res: &callapi.Bridge{ID: "b3", Node: "pbx1", Calls: []callapi.CallID{"c1"}},
			err:     callapi.Errorf(callapi.CodeConflict, "call c2 is not under callgw's control"),
			wantReq: &callapi.BridgeCreateRequest{Calls: []callapi.CallID{"c1", "c2"}}, wantCode: 409, wantLoc: "/v1/bridges/b3", wantIn: "bridge b3 was created"},
		{name: "no node up", body: `{}`, err: callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up"), wantReq: &callapi.BridgeCreateRequest{}, wantCode: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			calls := &fakeCalls{t: t, CreateBridgeFn: func(ctx context.Context, o gateway.Options, req callapi.BridgeCreateRequest) (*callapi.Bridge, error) {
				called = true
				if _, ok := ctx.Deadline(); !ok {
					t.Error("no deadline")
				}
				if o.Async {
					t.Error("async create: the service has no async form")
				}
				got, _ := json.Marshal(req)
				want, _ := json.Marshal(tc.wantReq)
				if string(got) != string(want) {
					t.Errorf("request %s, want %s", got, want)
				}
				return tc.res, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/bridges", tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantReq != nil) {
				t.Errorf("service called = %v", called)
			}
			if loc := rec.Header().Get("Location"); loc != tc.wantLoc {
				t.Errorf("Location %q, want %q", loc, tc.wantLoc)
			}
			if rec.Header().Get("Preference-Applied") != "" {
				t.Error("Preference-Applied on a synchronous answer")
			}
			if rec.Code == 201 {
				var got callapi.Bridge
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID != tc.res.ID || got.Calls == nil {
					t.Errorf("bridge %s (%v)", rec.Body, err)
				}
				if !strings.Contains(rec.Body.String(), `"calls":[`) {
					t.Errorf("calls not an array: %s", rec.Body)
				}
				return
			}
			checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), "/v1/bridges", tc.wantField)
			if p := decodeProblem(t, rec.Body.Bytes()); !strings.Contains(p.Detail, tc.wantIn) {
				t.Errorf("detail %q, want %q in it", p.Detail, tc.wantIn)
			}
		})
	}
}

func TestListBridges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		query    string
		res      []*callapi.Bridge
		missing  []callapi.NodeID
		err      error
		wantCode int
		wantBody string
	}{
		{name: "list", res: []*callapi.Bridge{{ID: "b1", Node: "pbx1", CreatedAt: testBridge.CreatedAt}}, missing: []callapi.NodeID{"pbx2"}, wantCode: 200,
			wantBody: `{"bridges":[{"id":"b1","node":"pbx1","tenant":"","type":"","calls":[],"created_at":"2026-01-02T03:04:05Z"}],"missing_nodes":["pbx2"]}`},
		{name: "empty lists are arrays", wantCode: 200, wantBody: `{"bridges":[],"missing_nodes":[]}`},
		{name: "unknown query", query: "?node=pbx1", wantCode: 400},
		{name: "timeout", query: "?timeout=1s", wantCode: 200, wantBody: `{"bridges":[],"missing_nodes":[]}`},
		{name: "bus down", err: callapi.Errorf(callapi.CodeNodeUnavailable, "broker down"), wantCode: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, BridgesFn: func(ctx context.Context, o gateway.Options) ([]*callapi.Bridge, []callapi.NodeID, error) {
				return tc.res, tc.missing, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "GET", "/v1/bridges"+tc.query, "")
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
		})
	}
}

// TestBridgeActions covers the routes under /v1/bridges/{id}.
func TestBridgeActions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		path       string // after /v1/bridges/b1
		body       string
		hdr        []string
		acc        *callapi.Accepted
		err        error
		wantAction callapi.Action
		wantArgs   string // "" = service not called
		wantCode   int
		wantField  string
		wantLoc    string
		wantBody   string
	}{
		{name: "get", method: "GET", wantAction: callapi.ActBridgeGet, wantArgs: "null", wantCode: 200,
			wantBody: `{"id":"b1","node":"pbx1","tenant":"default","type":"mixing","name":"conf","calls":["c1","c2"],"created_at":"2026-01-02T03:04:05Z"}`},
		{name: "get not found", method: "GET", err: callapi.Errorf(callapi.CodeNotFound, "bridge b1 not found"), wantAction: callapi.ActBridgeGet, wantArgs: "null", wantCode: 404},
		{name: "destroy", method: "DELETE", wantAction: callapi.ActBridgeDestroy, wantArgs: "null", wantCode: 204},
		{name: "destroy async", method: "DELETE", hdr: []string{"Prefer", "respond-async"}, acc: &callapi.Accepted{CommandID: "cmd-1", Node: "pbx1"},
			wantAction: callapi.ActBridgeDestroy, wantArgs: "null", wantCode: 202},
		{name: "add", method: "POST", path: "/calls", body: `{"call_id":"c3"}`, wantAction: callapi.ActBridgeAdd, wantArgs: `{"call_id":"c3"}`, wantCode: 204},
		{name: "add async", method: "POST", path: "/calls", body: `{"call_id":"c3"}`, hdr: []string{"Prefer", "respond-async"}, acc: &callapi.Accepted{CommandID: "cmd-2"},
			wantAction: callapi.ActBridgeAdd, wantArgs: `{"call_id":"c3"}`, wantCode: 202},
		{name: "add not in stasis", method: "POST", path: "/calls", body: `{"call_id":"c3"}`, err: callapi.Errorf(callapi.CodeConflict, "call c3 is not under callgw's control"),
			wantAction: callapi.ActBridgeAdd, wantArgs: `{"call_id":"c3"}`, wantCode: 409},
		{name: "add no call", method: "POST", path: "/calls", body: `{}`, wantCode: 400, wantField: "call_id"},
		{name: "add bad call", method: "POST", path: "/calls", body: `{"call_id":"c 3"}`, wantCode: 400, wantField: "call_id"},
		{name: "add calls array", method: "POST", path: "/calls", body: `{"calls":["c3"]}`, wantCode: 400, wantField: "calls"},
		{name: "remove", method: "DELETE", path: "/calls/c2", wantAction: callapi.ActBridgeRemove, wantArgs: `{"call_id":"c2"}`, wantCode: 204},
		{name: "remove bad call", method: "DELETE", path: "/calls/c%202", wantCode: 400, wantField: "call_id"},
		{name: "play", method: "POST", path: "/play", body: `{"media":["sound:conf-onlyperson"],"lang":"fr"}`, wantAction: callapi.ActBridgePlay,
			wantArgs: `{"media":["sound:conf-onlyperson"],"playback_id":"*","lang":"fr"}`, wantCode: 201, wantLoc: "/v1/playbacks/pb-1"},
		{name: "play async", method: "POST", path: "/play", body: `{"media":["tone:beep"]}`, hdr: []string{"Prefer", "respond-async", "Idempotency-Key", "k-bp"},
			acc: &callapi.Accepted{CommandID: "cmd-3", Created: "pb-k"}, wantAction: callapi.ActBridgePlay, wantArgs: `{"media":["tone:beep"],"playback_id":"*"}`, wantCode: 202,
			wantLoc: "/v1/playbacks/pb-k"},
		{name: "play no media", method: "POST", path: "/play", body: `{}`, wantCode: 400, wantField: "media"},
		{name: "record", method: "POST", path: "/record", body: `{"name":"conf-1","format":"wav"}`, wantAction: callapi.ActBridgeRecord,
			wantArgs: `{"name":"conf-1","format":"wav"}`, wantCode: 201, wantLoc: "/v1/recordings/live/conf-1"},
		{name: "record bad name", method: "POST", path: "/record", body: `{"name":".hidden"}`, wantCode: 400, wantField: "name"},
		{name: "record node down", method: "POST", path: "/record", body: `{"name":"r"}`, err: callapi.Errorf(callapi.CodeNodeUnavailable, "node pbx1 is down"),
			wantAction: callapi.ActBridgeRecord, wantArgs: `{"name":"r"}`, wantCode: 503},
		{name: "bad bridge id", method: "DELETE", path: "%20", wantCode: 400, wantField: "id"},
		{name: "unknown query", method: "GET", path: "?x=1", wantCode: 400, wantField: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			calls := &fakeCalls{t: t, BridgeActionFn: func(ctx context.Context, o gateway.Options, id callapi.BridgeID, a callapi.Action, args, out any) (*callapi.Accepted, error) {
				called = true
				if _, ok := ctx.Deadline(); !ok {
					t.Error("no deadline")
				}
				if id != "b1" || a != tc.wantAction || o.Async != (tc.acc != nil) {
					t.Errorf("id %q action %s options %+v", id, a, o)
				}
				if pa, ok := args.(*callapi.PlayArgs); ok {
					if pa.PlaybackID != fakePlaybackID {
						t.Errorf("playback id %q", pa.PlaybackID)
					}
					c := *pa
					c.PlaybackID = "*"
					args = &c
				}
				if got := argsJSON(t, args); got != tc.wantArgs {
					t.Errorf("args %s, want %s", got, tc.wantArgs)
				}
				if tc.err != nil || tc.acc != nil {
					return tc.acc, tc.err
				}
				switch v := out.(type) {
				case *callapi.Bridge:
					*v = *testBridge
				case *callapi.Playback:
					*v = *testPlayback
				case *callapi.Recording:
					*v = callapi.Recording{Name: "conf-1", Node: "pbx1", Format: "wav", State: "recording", TargetID: "b1"}
				case nil:
				default:
					t.Errorf("out %T", out)
				}
				return nil, nil
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), tc.method, "/v1/bridges/b1"+tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantArgs != "") {
				t.Errorf("service called = %v", called)
			}
			if loc := rec.Header().Get("Location"); loc != tc.wantLoc {
				t.Errorf("Location %q, want %q", loc, tc.wantLoc)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
			switch {
			case rec.Code == 204 && rec.Body.Len() != 0:
				t.Errorf("204 with body %q", rec.Body)
			case rec.Code == 202:
				var got callapi.Accepted
				want := *tc.acc
				want.Created = "" // not in the body
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got != want || rec.Header().Get("Preference-Applied") != "respond-async" {
					t.Errorf("accepted %s (%v)", rec.Body, err)
				}
			case rec.Code >= 400:
				path, _, _ := strings.Cut("/v1/bridges/b1"+tc.path, "?")
				path, _ = url.PathUnescape(path)
				checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), path, tc.wantField)
			}
		})
	}
}

func TestTransfer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		hdr       []string
		res       *callapi.Bridge
		err       error
		wantArgs  string
		wantCode  int
		wantField string
	}{
		{name: "transferred", body: `{"transferee":"a","target":"c","transferer":"b"}`, res: &callapi.Bridge{ID: "b9", Node: "pbx1", Calls: []callapi.CallID{"a", "c"}},
			wantArgs: `{"transferee":"a","target":"c","transferer":"b"}`, wantCode: 201},
		{name: "async is ignored", body: `{"transferee":"a","target":"c","transferer":"b"}`, hdr: []string{"Prefer", "respond-async"},
			res: &callapi.Bridge{ID: "b9", Node: "pbx1"}, wantArgs: `{"transferee":"a","target":"c","transferer":"b"}`, wantCode: 201},
		{name: "no transferee", body: `{"target":"c","transferer":"b"}`, wantCode: 400, wantField: "transferee"},
		{name: "no target", body: `{"transferee":"a","transferer":"b"}`, wantCode: 400, wantField: "target"},
		{name: "no transferer", body: `{"transferee":"a","target":"c"}`, wantCode: 400, wantField: "transferer"},
		{name: "nothing: the first field is named", body: `{}`, wantCode: 400, wantField: "transferee"},
		{name: "bad id", body: `{"transferee":"a b","target":"c","transferer":"b"}`, wantCode: 400, wantField: "transferee"},
		{name: "target is transferee", body: `{"transferee":"a","target":"a","transferer":"b"}`, wantCode: 400, wantField: "target"},
		{name: "transferer is transferee", body: `{"transferee":"a","target":"c","transferer":"a"}`, wantCode: 400, wantField: "transferer"},
		{name: "transferer is target", body: `{"transferee":"a","target":"c","transferer":"c"}`, wantCode: 400, wantField: "transferer"},
		{name: "bridge_id is not the caller's", body: `{"transferee":"a","target":"c","transferer":"b","bridge_id":"x"}`, wantCode: 400, wantField: "bridge_id"},
		{name: "different nodes", body: `{"transferee":"a","target":"c","transferer":"b"}`, err: callapi.Errorf(callapi.CodeConflict, "the calls are on different nodes"),
			wantArgs: `{"transferee":"a","target":"c","transferer":"b"}`, wantCode: 409},
		{name: "a call is gone", body: `{"transferee":"a","target":"c","transferer":"b"}`, err: callapi.Errorf(callapi.CodeNotFound, "call c not found"),
			wantArgs: `{"transferee":"a","target":"c","transferer":"b"}`, wantCode: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			calls := &fakeCalls{t: t, TransferFn: func(ctx context.Context, o gateway.Options, a callapi.TransferArgs) (*callapi.Bridge, error) {
				called = true
				if _, ok := ctx.Deadline(); !ok || o.Async {
					t.Errorf("deadline %v options %+v", ok, o)
				}
				if a.BridgeID != fakeBridgeID {
					t.Errorf("bridge_id %q, want the service's %q", a.BridgeID, fakeBridgeID)
				}
				a.BridgeID = ""
				if got := argsJSON(t, &a); got != tc.wantArgs {
					t.Errorf("args %s, want %s", got, tc.wantArgs)
				}
				return tc.res, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/transfers", tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if called != (tc.wantArgs != "") {
				t.Errorf("service called = %v", called)
			}
			if rec.Code == 201 {
				if loc := rec.Header().Get("Location"); loc != "/v1/bridges/b9" {
					t.Errorf("Location %q", loc)
				}
				var got callapi.Bridge
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID != "b9" || got.Calls == nil {
					t.Errorf("bridge %s (%v)", rec.Body, err)
				}
				return
			}
			checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), "/v1/transfers", tc.wantField)
		})
	}
}
