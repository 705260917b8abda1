package restapi

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// fakeBus is a callapi.Bus with func fields, so that these tests run the
// real *gateway.Service behind the handlers.
type fakeBus struct {
	RequestFn func(ctx context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error)
	GatherFn  func(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error)
	SendFn    func(ctx context.Context, target callapi.Target, cmd *callapi.Command) error
}

func (b *fakeBus) Request(ctx context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	return b.RequestFn(ctx, target, cmd)
}

func (b *fakeBus) Gather(ctx context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
	return b.GatherFn(ctx, cmd, expect)
}

func (b *fakeBus) Send(ctx context.Context, target callapi.Target, cmd *callapi.Command) error {
	return b.SendFn(ctx, target, cmd)
}

var _ callapi.Bus = (*fakeBus)(nil)

func serviceServer(t *testing.T, bus *fakeBus, cfg Config) *Server {
	t.Helper()
	reg := gateway.NewRegistry()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	svc := gateway.NewService(bus, reg, gateway.NewLocations(0))
	return MustNewServer(t, cfg, deps{calls: svc, nodes: reg})
}

// TestWithService: tenant, idempotency key, deadline and async reach the
// command the real service builds.
func TestWithService(t *testing.T) {
	var got *callapi.Command
	bus := &fakeBus{
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			got = cmd
			want := callapi.TargetAny
			if cmd.IdempotencyKey != "" {
				want = callapi.NodeTarget("pbx1") // keyed originates go to one node (protocol.md §11)
			}
			if target != want || cmd.Action != callapi.ActCallOriginate {
				t.Errorf("target %s action %s", target, cmd.Action)
			}
			return callapi.OKReply(cmd.ID, "pbx1", &callapi.Call{ID: cmd.CallID, Node: "pbx1", Tenant: cmd.Tenant, State: callapi.StateUp}), nil
		},
		SendFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) error {
			got = cmd
			return nil
		},
	}
	s := serviceServer(t, bus, Config{})
	rec := do(t, s.Handler(), "POST", "/v1/calls?timeout=7s", `{"to":"Local/answer@callgw-test"}`, "Idempotency-Key", "key-1")
	if rec.Code != 201 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantID := callapi.CommandID(callapi.DefaultTenant, "key-1")
	if got.Tenant != callapi.DefaultTenant || got.IdempotencyKey != "key-1" || got.ID != wantID {
		t.Errorf("command %+v", got)
	}
	if d := time.Until(got.Deadline); d <= 6*time.Second || d > 7*time.Second {
		t.Errorf("deadline in %s, want 7s", d)
	}
	var call callapi.Call
	if err := json.Unmarshal(rec.Body.Bytes(), &call); err != nil || call.ID != callapi.CallIDFor(wantID) {
		t.Errorf("call %+v %v", call, err)
	}

	rec = do(t, s.Handler(), "POST", "/v1/calls", `{"to":"Local/answer@callgw-test"}`, "Prefer", "respond-async")
	var acc callapi.Accepted
	if err := json.Unmarshal(rec.Body.Bytes(), &acc); rec.Code != 202 || err != nil || acc.CommandID != got.ID || acc.CallID != got.CallID {
		t.Errorf("async %d %s", rec.Code, rec.Body)
	}
}

// TestOtherTenantIs404: the service passes the token's tenant in the
// command; the worker answers not_found for another tenant's call, and the
// API says 404 — not 403.
func TestOtherTenantIs404(t *testing.T) {
	owner := "acme"
	reply := func(cmd *callapi.Command, node callapi.NodeID) *callapi.Reply {
		if cmd.Tenant != owner {
			return callapi.ErrReply(cmd.ID, node, callapi.Errorf(callapi.CodeNotFound, "call %s not found", cmd.CallID))
		}
		switch cmd.Action {
		case callapi.ActCallLocate:
			return callapi.OKReply(cmd.ID, node, callapi.LocateResult{Node: node})
		default:
			return callapi.OKReply(cmd.ID, node, &callapi.Call{ID: cmd.CallID, Node: node, Tenant: cmd.Tenant})
		}
	}
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			var out []*callapi.Reply
			for _, n := range expect {
				out = append(out, reply(cmd, n))
			}
			return out, nil
		},
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			return reply(cmd, callapi.NodeID(target)), nil
		},
	}
	cfg := Config{Auth: authConfig(t)}
	cfg.Auth.Clients = append(cfg.Auth.Clients, Client{ID: "globex-app", SecretHash: mustHash(t, "g"), Tenant: "globex", Scopes: []string{ScopeCallsRead}})
	s := serviceServer(t, bus, cfg)
	tok := func(id, secret string) string {
		_, tr, _ := getToken(t, s.Handler(), map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tr.AccessToken
	}
	if rec := do(t, s.Handler(), "GET", "/v1/calls/c1", "", "Authorization", tok("globex-app", "g")); rec.Code != 404 {
		t.Errorf("other tenant: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s.Handler(), "GET", "/v1/calls/c1", "", "Authorization", tok("acme-app", "s3cret")); rec.Code != 200 {
		t.Errorf("owner: %d %s", rec.Code, rec.Body)
	}
}

// TestCallActionRoutedToOwner runs the real *gateway.Service behind the
// handlers: a call action goes only to the node that owns the call (found
// by a locate broadcast, then cached), async ones too; unknown calls are
// 404 without any command; the worker's conflict is 409.
func TestCallActionRoutedToOwner(t *testing.T) {
	var (
		mu      sync.Mutex
		locates int
		sent    []string // "target action call"
	)
	owner := map[callapi.CallID]callapi.NodeID{"c1": "pbx2", "c2": "pbx2"}
	record := func(target callapi.Target, cmd *callapi.Command) {
		mu.Lock()
		defer mu.Unlock()
		id := string(cmd.CallID)
		if cmd.BridgeID != "" {
			id = string(cmd.BridgeID)
		}
		if cmd.ResourceID != "" {
			id = cmd.ResourceID
		}
		sent = append(sent, string(target)+" "+string(cmd.Action)+" "+id)
	}
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			if cmd.Action != callapi.ActCallLocate {
				t.Errorf("gather %s", cmd.Action)
			}
			mu.Lock()
			locates++
			mu.Unlock()
			var out []*callapi.Reply
			for _, n := range expect {
				if owner[cmd.CallID] == n {
					out = append(out, callapi.OKReply(cmd.ID, n, callapi.LocateResult{Node: n}))
				} else {
					out = append(out, callapi.ErrReply(cmd.ID, n, callapi.Errorf(callapi.CodeNotFound, "call %s not found", cmd.CallID)))
				}
			}
			return out, nil
		},
		RequestFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			record(target, cmd)
			node := callapi.NodeID(target)
			if cmd.Deadline.IsZero() || cmd.Tenant != callapi.DefaultTenant {
				t.Errorf("command %+v", cmd)
			}
			switch cmd.Action {
			case callapi.ActCallDTMF:
				var a callapi.DTMFArgs
				if err := json.Unmarshal(cmd.Args, &a); err != nil || a.Digits != "12#" || a.DurationMS != 80 {
					t.Errorf("dtmf args %s", cmd.Args)
				}
			case callapi.ActCallAnswer:
				return callapi.ErrReply(cmd.ID, node, callapi.Errorf(callapi.CodeConflict, "call is not under callgw's control (its channel is not in the Stasis application)")), nil
			case callapi.ActCallPlay:
				var a callapi.PlayArgs
				_ = json.Unmarshal(cmd.Args, &a)
				return callapi.OKReply(cmd.ID, node, callapi.Playback{ID: a.PlaybackID, Node: node, Media: a.Media[0], State: "queued", TargetID: string(cmd.CallID)}), nil
			case callapi.ActPlaybackGet:
				return callapi.OKReply(cmd.ID, node, callapi.Playback{ID: cmd.ResourceID, Node: node, State: "playing"}), nil
			case callapi.ActBridgeCreate:
				return callapi.OKReply(cmd.ID, node, callapi.Bridge{ID: cmd.BridgeID, Node: node, Type: "mixing"}), nil
			}
			return callapi.OKReply(cmd.ID, node, nil), nil
		},
		SendFn: func(_ context.Context, target callapi.Target, cmd *callapi.Command) error {
			record(target, cmd)
			return nil
		},
	}
	reg := gateway.NewRegistry()
	for _, n := range []callapi.NodeID{"pbx1", "pbx2"} {
		reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	}
	s := MustNewServer(t, Config{}, deps{calls: gateway.NewService(bus, reg, gateway.NewLocations(0)), nodes: reg})
	h := s.Handler()
	lastSent := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(sent) == 0 {
			return ""
		}
		return sent[len(sent)-1]
	}

	if rec := do(t, h, "POST", "/v1/calls/c1/hold", ""); rec.Code != 204 {
		t.Fatalf("hold: %d %s", rec.Code, rec.Body)
	}
	if got := lastSent(); got != "pbx2 call.hold c1" || locates != 1 {
		t.Errorf("hold sent %q after %d locates", got, locates)
	}
	if rec := do(t, h, "POST", "/v1/calls/c1/dtmf", `{"digits":"12#","duration_ms":80}`); rec.Code != 204 {
		t.Fatalf("dtmf: %d %s", rec.Code, rec.Body)
	}
	if got := lastSent(); got != "pbx2 call.dtmf c1" || locates != 1 {
		t.Errorf("dtmf sent %q after %d locates (the location is cached)", got, locates)
	}

	rec := do(t, h, "POST", "/v1/calls/c1/unhold", "", "Prefer", "respond-async")
	var acc callapi.Accepted
	if err := json.Unmarshal(rec.Body.Bytes(), &acc); rec.Code != 202 || err != nil || acc.Node != "pbx2" || acc.CallID != "c1" || acc.CommandID == "" {
		t.Errorf("async unhold: %d %s", rec.Code, rec.Body)
	}
	if got := lastSent(); got != "pbx2 call.unhold c1" {
		t.Errorf("async unhold sent %q", got)
	}

	rec = do(t, h, "POST", "/v1/calls/c1/play", `{"media":["sound:hello-world"]}`)
	if rec.Code != 201 {
		t.Fatalf("play: %d %s", rec.Code, rec.Body)
	}
	var pb callapi.Playback
	if err := json.Unmarshal(rec.Body.Bytes(), &pb); err != nil || pb.ID == "" || pb.Node != "pbx2" || rec.Header().Get("Location") != "/v1/playbacks/"+pb.ID {
		t.Errorf("play: %s Location %q", rec.Body, rec.Header().Get("Location"))
	}
	if rec := do(t, h, "GET", "/v1/playbacks/"+pb.ID, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"state":"playing"`) {
		t.Errorf("get playback: %d %s", rec.Code, rec.Body)
	}
	if got := lastSent(); got != "pbx2 playback.get "+pb.ID || locates != 1 {
		t.Errorf("playback get sent %q after %d locates (the playback's node is cached)", got, locates)
	}

	rec = do(t, h, "POST", "/v1/calls/c1/answer", "")
	if p := decodeProblem(t, rec.Body.Bytes()); rec.Code != 409 || p.Code != callapi.CodeConflict || !strings.Contains(p.Detail, "Stasis") {
		t.Errorf("answer outside Stasis: %d %s", rec.Code, rec.Body)
	}

	n := len(sent)
	if rec := do(t, h, "POST", "/v1/calls/nowhere/hold", ""); rec.Code != 404 {
		t.Errorf("unknown call: %d %s", rec.Code, rec.Body)
	}
	if len(sent) != n {
		t.Errorf("a command was sent for an unknown call: %v", sent[n:])
	}

	// A bridge with calls goes to the node of its first call, and so do
	// the additions.
	rec = do(t, h, "POST", "/v1/bridges", `{"calls":["c1","c2"]}`)
	if rec.Code != 201 {
		t.Fatalf("create bridge: %d %s", rec.Code, rec.Body)
	}
	var b callapi.Bridge
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Node != "pbx2" || len(b.Calls) != 2 {
		t.Errorf("bridge %s", rec.Body)
	}
	mu.Lock()
	got := strings.Join(sent[n:], "; ")
	mu.Unlock()
	if want := "pbx2 bridge.create " + string(b.ID) + "; pbx2 bridge.add " + string(b.ID) + "; pbx2 bridge.add " + string(b.ID); got != want {
		t.Errorf("bridge commands %q, want %q", got, want)
	}
	for _, c := range sent {
		if strings.HasPrefix(c, "pbx1 ") {
			t.Errorf("pbx1 got %q", c)
		}
	}
}

// TestAsyncLocationNamesTheServicesID: an asynchronous play or snoop points
// (Location) to the id the service put in the command, the same for a
// retry with the same Idempotency-Key.
func TestAsyncLocationNamesTheServicesID(t *testing.T) {
	var sent []*callapi.Command
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *callapi.Command, expect []callapi.NodeID) ([]*callapi.Reply, error) {
			return []*callapi.Reply{callapi.OKReply(cmd.ID, expect[0], callapi.LocateResult{Node: expect[0]})}, nil
		},
		SendFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) error {
			sent = append(sent, cmd)
			return nil
		},
	}
	h := serviceServer(t, bus, Config{}).Handler()
	for _, tc := range []struct{ path, body, loc string }{
		{"/v1/calls/c1/play", `{"media":["tone:ring"]}`, "/v1/playbacks/"},
		{"/v1/bridges/b1/play", `{"media":["tone:ring"]}`, "/v1/playbacks/"},
		{"/v1/calls/c1/snoop", `{}`, "/v1/calls/"},
	} {
		var locs []string
		for range 2 {
			rec := do(t, h, "POST", tc.path, tc.body, "Prefer", "respond-async", "Idempotency-Key", "k-"+tc.path)
			if rec.Code != 202 {
				t.Fatalf("%s: %d %s", tc.path, rec.Code, rec.Body)
			}
			var a struct {
				PlaybackID string `json:"playback_id"`
				SnoopID    string `json:"snoop_id"`
			}
			if err := json.Unmarshal(sent[len(sent)-1].Args, &a); err != nil {
				t.Fatal(err)
			}
			if want := tc.loc + a.PlaybackID + a.SnoopID; rec.Header().Get("Location") != want || want == tc.loc {
				t.Errorf("%s: Location %q, want %q", tc.path, rec.Header().Get("Location"), want)
			}
			locs = append(locs, rec.Header().Get("Location"))
		}
		if locs[0] != locs[1] {
			t.Errorf("%s: a retry points to %s, the first to %s", tc.path, locs[1], locs[0])
		}
	}
}
