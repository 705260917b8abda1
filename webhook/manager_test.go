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
	if _, err := m.Create(ctx, "acme", "", callapi.WebhookRequest{URL: &bad}); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Fatalf("private target: %v", err)
	}
	var secret string
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) bool { return true })
	url := rc.srv.URL
	w, err := m.Create(ctx, callapi.DefaultTenant, "k1", callapi.WebhookRequest{URL: &url})
	if err != nil || w.Secret == "" {
		t.Fatalf("create: %+v %v", w, err)
	}
	// A retried create (same key) answers the same subscription.
	if again, err := m.Create(ctx, callapi.DefaultTenant, "k1", callapi.WebhookRequest{URL: &url}); err != nil || again.ID != w.ID || again.Secret != w.Secret {
		t.Fatalf("retried create: %+v %v", again, err)
	}
	if n := len(e.store.List(callapi.DefaultTenant)); n != 1 {
		t.Fatalf("%d subscriptions after a retried create", n)
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
	// During the overlap every delivery carries both signatures: the
	// receiver may verify with the old secret or the new one.
	rc.mu.Lock()
	sig, body := rc.sigs[len(rc.sigs)-1], rc.bodies[len(rc.bodies)-1]
	rc.mu.Unlock()
	for _, sec := range []string{secret, r.Secret} {
		if err := callapi.VerifyWebhook(sig, body, time.Now(), 0, sec); err != nil {
			t.Errorf("a delivery during the overlap does not verify with %s: %v (%s)", sec, err, sig)
		}
	}
	// Rotating again with no overlap revokes both earlier secrets.
	r2, err := m.Rotate(ctx, callapi.DefaultTenant, w.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := e.store.Get(w.ID); len(s.signing(time.Now())) != 1 || s.signing(time.Now())[0] != r2.Secret {
		t.Fatalf("after a rotation without overlap: %d signing secrets", len(s.signing(time.Now())))
	}
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
