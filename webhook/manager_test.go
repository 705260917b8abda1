package webhook

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

func TestManagerLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m, err := NewManager(ctx, e.conn, e.names, Policy{AllowLoopback: true}, e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bad := "https://10.1.2.3/x"
	if _, err := m.Create(ctx, "acme", callapi.WebhookRequest{URL: &bad}); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Fatalf("private target: %v", err)
	}
	var secret string
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { return true })
	url := rc.srv.URL
	w, err := m.Create(ctx, callapi.DefaultTenant, callapi.WebhookRequest{URL: &url})
	if err != nil || w.Secret == "" {
		t.Fatalf("create: %+v %v", w, err)
	}
	secret = w.Secret
	if _, err := m.Get(ctx, "other", w.ID); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("another tenant's webhook: %v", err)
	}
	// Rotating keeps the old secret signing during the overlap.
	r, err := m.Rotate(ctx, callapi.DefaultTenant, w.ID, time.Hour)
	if err != nil || r.Secret == secret {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	s, _ := e.store.Get(w.ID)
	if got := s.signing(time.Now()); len(got) != 2 || got[1] != secret {
		t.Fatalf("signing secrets after rotation: %v", got)
	}
	rc.mu.Lock()
	rc.secret = r.Secret
	rc.mu.Unlock()
	if _, err := m.SetPaused(ctx, callapi.DefaultTenant, w.ID, true); err != nil {
		t.Fatal(err)
	}
	e.start(e.cfg)
	e.publish("c1", 0, 3)
	testenv.WaitFor(t, "queued while paused", 5*time.Second, func() bool { return e.count(e.names.Queue(w.ID)) == 3 })
	if len(rc.events()) != 0 {
		t.Fatal("delivered while paused")
	}
	if _, err := m.SetPaused(ctx, callapi.DefaultTenant, w.ID, false); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "delivered after resume", 5*time.Second, func() bool { return len(rc.events()) == 3 })
	testenv.WaitFor(t, "delivery log", 5*time.Second, func() bool {
		a, _ := m.Attempts(ctx, callapi.DefaultTenant, w.ID)
		return len(a) == 3 && a[0].Outcome == "delivered" && a[0].Status == 200
	})
	if err := m.Delete(ctx, callapi.DefaultTenant, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, callapi.DefaultTenant, w.ID); !errors.Is(err, err) || callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("after delete: %v", err)
	}
}
