package restapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// TestOriginateWaitDeadline: an originate that waits for the answer and
// names no deadline gets one that covers the ring time it asked for
// (ARI's 30 s when it names none) plus the default deadline; a deadline
// the client names is kept; a ring time the longest deadline cannot cover
// is refused before a call is placed, saying what to change.
func TestOriginateWaitDeadline(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		async             bool
		want              time.Duration // 0: refused with 400
		wantDetail        string
	}{
		{name: "ring 30 s", body: `{"to":"Local/ring@callgw-test","wait":"answered","timeout":30}`, want: 35 * time.Second},
		{name: "ring time not named", body: `{"to":"Local/ring@callgw-test","wait":"answered"}`, want: 35 * time.Second},
		{name: "ring 12 s", body: `{"to":"PJSIP/alice","wait":"answered","timeout":12}`, want: 17 * time.Second},
		{name: "ring 55 s", body: `{"to":"PJSIP/alice","wait":"answered","timeout":55}`, want: 60 * time.Second},
		{name: "async: the command's deadline", body: `{"to":"PJSIP/alice","wait":"answered","timeout":45}`, async: true, want: 50 * time.Second},
		{name: "explicit deadline kept", query: "?timeout=10s", body: `{"to":"PJSIP/alice","wait":"answered","timeout":30}`, want: 10 * time.Second},
		{name: "explicit long deadline kept", query: "?timeout=60", body: `{"to":"PJSIP/alice","wait":"answered","timeout":120}`, want: 60 * time.Second},
		{name: "no wait: default", body: `{"to":"PJSIP/alice","timeout":30}`, want: 5 * time.Second},
		{name: "ring 60 s, as real phones may", body: `{"to":"PJSIP/alice","wait":"answered","timeout":60}`, want: 65 * time.Second},
		{name: "ring 86 s beyond the longest deadline", body: `{"to":"PJSIP/alice","wait":"answered","timeout":86}`, wantDetail: "at most 85"},
		{name: "ring 10 min", body: `{"to":"PJSIP/alice","wait":"answered","timeout":600}`, wantDetail: "wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Duration
			calls := &fakeCalls{t: t, OriginateFn: func(ctx context.Context, _ gateway.Options, _ callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
				dl, _ := ctx.Deadline()
				got = time.Until(dl)
				if tc.async {
					return nil, &callapi.Accepted{CommandID: "c1"}, nil
				}
				return testCall, nil, nil
			}}
			var hdr []string
			if tc.async {
				hdr = []string{"Prefer", "respond-async"}
			}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/calls"+tc.query, tc.body, hdr...)
			if tc.want == 0 {
				p := decodeProblem(t, rec.Body.Bytes())
				if rec.Code != 400 || p.Field != "timeout" || !strings.Contains(p.Detail, tc.wantDetail) {
					t.Fatalf("status %d, problem %+v; want 400 on timeout saying %q", rec.Code, p, tc.wantDetail)
				}
				return
			}
			if rec.Code >= 300 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got > tc.want || got < tc.want-time.Second {
				t.Errorf("deadline %s, want %s", got.Round(time.Millisecond), tc.want)
			}
		})
	}
}

// TestTimeoutSaysWhatToChange: a 504 names the deadline the request had
// and the parameter that changes it; for a waiting originate, how long
// the call may ring.
func TestTimeoutSaysWhatToChange(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		want              []string
	}{
		{name: "waiting originate, short explicit deadline", query: "?timeout=10s", body: `{"to":"PJSIP/alice","wait":"answered","timeout":30}`,
			want: []string{"10s", "rings for up to 30s", "at least 35s", "timeout query parameter"}},
		{name: "plain originate", body: `{"to":"PJSIP/alice"}`,
			want: []string{"5s", "timeout query parameter", "at most 90s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &fakeCalls{t: t, OriginateFn: func(context.Context, gateway.Options, callapi.OriginateRequest) (*callapi.Call, *callapi.Accepted, error) {
				return nil, nil, callapi.Errorf(callapi.CodeTimeout, "no node answered the call.originate command before the deadline")
			}}
			s := MustNewServer(t, Config{}, deps{calls: calls})
			rec := do(t, s.Handler(), "POST", "/v1/calls"+tc.query, tc.body)
			p := decodeProblem(t, rec.Body.Bytes())
			if rec.Code != 504 || p.Code != callapi.CodeTimeout {
				t.Fatalf("status %d, problem %+v", rec.Code, p)
			}
			for _, w := range tc.want {
				if !strings.Contains(p.Detail, w) {
					t.Errorf("detail %q does not say %q", p.Detail, w)
				}
			}
		})
	}
	t.Run("other commands", func(t *testing.T) {
		calls := &fakeCalls{t: t, HangupFn: func(context.Context, gateway.Options, callapi.CallID, string) (*callapi.Accepted, error) {
			return nil, callapi.Errorf(callapi.CodeTimeout, "node pbx1 did not answer the call.hangup command before the deadline")
		}}
		s := MustNewServer(t, Config{}, deps{calls: calls})
		rec := do(t, s.Handler(), "DELETE", "/v1/calls/c1?timeout=2s", "")
		if p := decodeProblem(t, rec.Body.Bytes()); rec.Code != 504 || !strings.Contains(p.Detail, "2s") || !strings.Contains(p.Detail, "timeout query parameter") {
			t.Errorf("status %d, detail %q", rec.Code, p.Detail)
		}
	})
}
