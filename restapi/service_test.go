package restapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callgw/callgw/gateway"
)

// fakeBus is a gateway.Bus with func fields, so that these tests run the
// real *gateway.Service behind the handlers.
type fakeBus struct {
	RequestFn func(ctx context.Context, target gateway.Target, cmd *gateway.Command) (*gateway.Reply, error)
	GatherFn  func(ctx context.Context, cmd *gateway.Command, expect []gateway.NodeID) ([]*gateway.Reply, error)
	SendFn    func(ctx context.Context, target gateway.Target, cmd *gateway.Command) error
}

func (b *fakeBus) Request(ctx context.Context, target gateway.Target, cmd *gateway.Command) (*gateway.Reply, error) {
	return b.RequestFn(ctx, target, cmd)
}

func (b *fakeBus) Gather(ctx context.Context, cmd *gateway.Command, expect []gateway.NodeID) ([]*gateway.Reply, error) {
	return b.GatherFn(ctx, cmd, expect)
}

func (b *fakeBus) Send(ctx context.Context, target gateway.Target, cmd *gateway.Command) error {
	return b.SendFn(ctx, target, cmd)
}

var _ gateway.Bus = (*fakeBus)(nil)

func serviceServer(t *testing.T, bus *fakeBus, cfg Config) *Server {
	t.Helper()
	reg := gateway.NewRegistry()
	reg.Observe(gateway.Heartbeat{Node: "pbx1", State: gateway.NodeUp, IntervalMS: 60000}, time.Now())
	svc := gateway.NewService(bus, reg, gateway.NewLocations(0))
	return MustNewServer(t, cfg, deps{calls: svc, nodes: reg})
}

// TestWithService: tenant, idempotency key, deadline and async reach the
// command the real service builds.
func TestWithService(t *testing.T) {
	var got *gateway.Command
	bus := &fakeBus{
		RequestFn: func(_ context.Context, target gateway.Target, cmd *gateway.Command) (*gateway.Reply, error) {
			got = cmd
			if target != gateway.TargetAny || cmd.Action != gateway.ActCallOriginate {
				t.Errorf("target %s action %s", target, cmd.Action)
			}
			return gateway.OKReply(cmd.ID, "pbx1", &gateway.Call{ID: cmd.CallID, Node: "pbx1", Tenant: cmd.Tenant, State: gateway.StateUp}), nil
		},
		SendFn: func(_ context.Context, _ gateway.Target, cmd *gateway.Command) error {
			got = cmd
			return nil
		},
	}
	s := serviceServer(t, bus, Config{})
	rec := do(t, s.Handler(), "POST", "/v1/calls?timeout=7s", `{"to":"Local/answer@callgw-test"}`, "Idempotency-Key", "key-1")
	if rec.Code != 201 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantID := gateway.CommandID(gateway.DefaultTenant, "key-1")
	if got.Tenant != gateway.DefaultTenant || got.IdempotencyKey != "key-1" || got.ID != wantID {
		t.Errorf("command %+v", got)
	}
	if d := time.Until(got.Deadline); d <= 6*time.Second || d > 7*time.Second {
		t.Errorf("deadline in %s, want 7s", d)
	}
	var call gateway.Call
	if err := json.Unmarshal(rec.Body.Bytes(), &call); err != nil || call.ID != gateway.CallIDFor(wantID) {
		t.Errorf("call %+v %v", call, err)
	}

	rec = do(t, s.Handler(), "POST", "/v1/calls", `{"to":"Local/answer@callgw-test"}`, "Prefer", "respond-async")
	var acc gateway.Accepted
	if err := json.Unmarshal(rec.Body.Bytes(), &acc); rec.Code != 202 || err != nil || acc.CommandID != got.ID || acc.CallID != got.CallID {
		t.Errorf("async %d %s", rec.Code, rec.Body)
	}
}

// TestOtherTenantIs404: the service passes the token's tenant in the
// command; the worker answers not_found for another tenant's call, and the
// API says 404 — not 403.
func TestOtherTenantIs404(t *testing.T) {
	owner := "acme"
	reply := func(cmd *gateway.Command, node gateway.NodeID) *gateway.Reply {
		if cmd.Tenant != owner {
			return gateway.ErrReply(cmd.ID, node, gateway.Errorf(gateway.ENotFound, "call %s not found", cmd.CallID))
		}
		switch cmd.Action {
		case gateway.ActCallLocate:
			return gateway.OKReply(cmd.ID, node, gateway.LocateResult{Node: node})
		default:
			return gateway.OKReply(cmd.ID, node, &gateway.Call{ID: cmd.CallID, Node: node, Tenant: cmd.Tenant})
		}
	}
	bus := &fakeBus{
		GatherFn: func(_ context.Context, cmd *gateway.Command, expect []gateway.NodeID) ([]*gateway.Reply, error) {
			var out []*gateway.Reply
			for _, n := range expect {
				out = append(out, reply(cmd, n))
			}
			return out, nil
		},
		RequestFn: func(_ context.Context, target gateway.Target, cmd *gateway.Command) (*gateway.Reply, error) {
			return reply(cmd, gateway.NodeID(target)), nil
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
