package restapi

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

func TestMedia(t *testing.T) {
	const (
		playback = "playback"
		live     = "live"
		stored   = "stored"
	)
	for _, tc := range []struct {
		name       string
		method     string
		path       string
		body       string
		hdr        []string
		err        error
		wantKind   string // which service method; "" = not called
		wantID     string
		wantAction callapi.Action
		wantCode   int
		wantBody   string
		wantField  string
	}{
		{name: "get playback", method: "GET", path: "/v1/playbacks/pb-1", wantKind: playback, wantID: "pb-1", wantAction: callapi.ActPlaybackGet, wantCode: 200,
			wantBody: `{"id":"pb-1","node":"pbx1","media":"sound:hello-world","state":"queued","target_id":"c1"}`},
		{name: "get playback gone", method: "GET", path: "/v1/playbacks/pb-1", err: callapi.Errorf(callapi.CodeNotFound, "playback pb-1 not found"),
			wantKind: playback, wantID: "pb-1", wantAction: callapi.ActPlaybackGet, wantCode: 404},
		{name: "stop playback", method: "DELETE", path: "/v1/playbacks/pb-1", wantKind: playback, wantID: "pb-1", wantAction: callapi.ActPlaybackStop, wantCode: 204},
		{name: "stop playback: async is ignored", method: "DELETE", path: "/v1/playbacks/pb-1", hdr: []string{"Prefer", "respond-async"},
			wantKind: playback, wantID: "pb-1", wantAction: callapi.ActPlaybackStop, wantCode: 204},
		{name: "bad playback id", method: "GET", path: "/v1/playbacks/pb%201", wantCode: 400, wantField: "id"},
		{name: "get live recording", method: "GET", path: "/v1/recordings/live/rec-1", wantKind: live, wantID: "rec-1", wantAction: callapi.ActRecordingGet, wantCode: 200,
			wantBody: `{"name":"rec-1","node":"pbx1","format":"wav","state":"recording","target_id":"c1"}`},
		{name: "stop live recording", method: "POST", path: "/v1/recordings/live/rec-1/stop", wantKind: live, wantID: "rec-1", wantAction: callapi.ActRecordingStop, wantCode: 204},
		{name: "stop live recording with {}", method: "POST", path: "/v1/recordings/live/rec-1/stop", body: `{}`, wantKind: live, wantID: "rec-1", wantAction: callapi.ActRecordingStop, wantCode: 204},
		{name: "stop live recording with a field", method: "POST", path: "/v1/recordings/live/rec-1/stop", body: `{"discard":true}`, wantCode: 400, wantField: "discard"},
		{name: "stop live recording timeout", method: "POST", path: "/v1/recordings/live/rec-1/stop", err: context.DeadlineExceeded,
			wantKind: live, wantID: "rec-1", wantAction: callapi.ActRecordingStop, wantCode: 504},
		{name: "DELETE live recording is not routed", method: "DELETE", path: "/v1/recordings/live/rec-1", wantCode: 405},
		{name: "bad recording name", method: "GET", path: "/v1/recordings/live/a%2Fb", wantCode: 400, wantField: "name"},
		{name: "get stored", method: "GET", path: "/v1/recordings/stored/rec-1", wantKind: stored, wantID: "rec-1", wantAction: callapi.ActStoredGet, wantCode: 200,
			wantBody: `{"name":"rec-1","node":"pbx1","format":"wav","state":"recording","target_id":"c1"}`},
		{name: "delete stored", method: "DELETE", path: "/v1/recordings/stored/rec-1", hdr: []string{"Idempotency-Key", "del-1"},
			wantKind: stored, wantID: "rec-1", wantAction: callapi.ActStoredDelete, wantCode: 204},
		{name: "delete stored unknown", method: "DELETE", path: "/v1/recordings/stored/rec-1", err: callapi.Errorf(callapi.CodeNotFound, "stored recording rec-1 not found"),
			wantKind: stored, wantID: "rec-1", wantAction: callapi.ActStoredDelete, wantCode: 404},
		{name: "delete stored bad timeout", method: "DELETE", path: "/v1/recordings/stored/rec-1?timeout=x", wantCode: 400, wantField: "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kind string
			check := func(ctx context.Context, o gateway.Options, k, id string, a callapi.Action, out any) error {
				kind = k
				if _, ok := ctx.Deadline(); !ok {
					t.Error("no deadline")
				}
				if o.Async {
					t.Error("async media action: the service drops the acceptance")
				}
				if want := headerOf(tc.hdr, "Idempotency-Key"); o.IdempotencyKey != want {
					t.Errorf("idempotency key %q, want %q", o.IdempotencyKey, want)
				}
				if id != tc.wantID || a != tc.wantAction {
					t.Errorf("id %q action %s", id, a)
				}
				if tc.err != nil {
					return tc.err
				}
				switch v := out.(type) {
				case *callapi.Playback:
					*v = *testPlayback
				case *callapi.Recording:
					*v = *testRecording
				case nil:
				default:
					t.Errorf("out %T", out)
				}
				return nil
			}
			calls := &fakeCalls{t: t,
				PlaybackActionFn: func(ctx context.Context, o gateway.Options, id string, a callapi.Action, out any) error {
					return check(ctx, o, playback, id, a, out)
				},
				RecordingActionFn: func(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error {
					return check(ctx, o, live, name, a, out)
				},
				StoredRecordingFn: func(ctx context.Context, o gateway.Options, name string, a callapi.Action, out any) error {
					return check(ctx, o, stored, name, a, out)
				},
			}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), tc.method, tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if kind != tc.wantKind {
				t.Errorf("service %q called, want %q", kind, tc.wantKind)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
			switch {
			case rec.Code == 204 && (rec.Body.Len() != 0 || rec.Header().Get("Preference-Applied") != ""):
				t.Errorf("204 with body %q or Preference-Applied", rec.Body)
			case rec.Code >= 400 && rec.Code != 405:
				path, _, _ := strings.Cut(tc.path, "?")
				path, _ = url.PathUnescape(path)
				checkProblem(t, tc.wantCode, rec.Body.Bytes(), rec.Header().Get("Content-Type"), path, tc.wantField)
			}
		})
	}
}

func TestListStoredRecordings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		res      []*callapi.Recording
		missing  []callapi.NodeID
		err      error
		wantCode int
		wantBody string
	}{
		{name: "list", res: []*callapi.Recording{{Name: "r1", Node: "pbx1", Format: "wav", DurationSeconds: 12}}, missing: []callapi.NodeID{"pbx2"}, wantCode: 200,
			wantBody: `{"recordings":[{"name":"r1","node":"pbx1","format":"wav","duration_seconds":12}],"missing_nodes":["pbx2"]}`},
		{name: "empty lists are arrays", wantCode: 200, wantBody: `{"recordings":[],"missing_nodes":[]}`},
		{name: "error", err: callapi.Errorf(callapi.CodeTimeout, "no reply"), wantCode: 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, StoredRecordingsFn: func(ctx context.Context, o gateway.Options) ([]*callapi.Recording, []callapi.NodeID, error) {
				if _, ok := ctx.Deadline(); !ok || o.Tenant != callapi.DefaultTenant {
					t.Errorf("deadline %v options %+v", ok, o)
				}
				return tc.res, tc.missing, tc.err
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "GET", "/v1/recordings/stored", "")
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tc.wantBody)
			}
		})
	}
}

// headerOf returns the value of name in a do() header list.
func headerOf(hdr []string, name string) string {
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == name {
			return hdr[i+1]
		}
	}
	return ""
}
