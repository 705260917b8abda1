package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
	"github.com/callgw/callgw/webhook"
)

// webhookServer is a REST server whose /v1/webhooks is a real
// webhook.Manager on the test broker (run-unique names, deleted at the end),
// with clients of two tenants.
func webhookServer(t *testing.T) (*Server, map[string]string) {
	t.Helper()
	u := testenv.BrokerURL()
	testenv.NeedBroker(t, u)
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	n := webhook.Names{Prefix: "t" + uuid.NewString()[:8] + ".", QueueType: webhook.QueueTypeClassic}
	ctx := context.Background()
	st, err := webhook.OpenStore(ctx, conn, n, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := webhook.NewManager(ctx, conn, n, webhook.Policy{AllowLoopback: true}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, tenant := range []string{"acme", "globex"} {
			ws, _ := m.List(ctx, tenant)
			for _, w := range ws {
				_ = m.Delete(ctx, tenant, w.ID)
			}
		}
		m.Close()
		st.Close()
		if err := webhook.DeleteAll(ctx, conn, n); err != nil {
			t.Error(err)
		}
		// The events exchange is the bus's, so DeleteAll leaves it; the
		// store declared it under this test's prefix.
		if ch, err := conn.Channel(); err == nil {
			if err := ch.ExchangeDelete(n.Events(), false, false); err != nil {
				t.Error(err)
			}
			_ = ch.Close()
		}
		_ = conn.Close()
	})
	auth := AuthConfig{Enabled: true, SigningKey: testKey, Clients: []Client{
		{ID: "acme-hooks", SecretHash: mustHash(t, "a"), Tenant: "acme", Scopes: []string{ScopeWebhooksRead, ScopeWebhooksWrite}},
		{ID: "acme-reader", SecretHash: mustHash(t, "r"), Tenant: "acme", Scopes: []string{ScopeWebhooksRead}},
		{ID: "acme-calls", SecretHash: mustHash(t, "c"), Tenant: "acme", Scopes: []string{ScopeCallsRead, ScopeCallsWrite, ScopeEventsRead}},
		{ID: "globex-hooks", SecretHash: mustHash(t, "g"), Tenant: "globex", Scopes: []string{ScopeWebhooksRead, ScopeWebhooksWrite}},
	}}
	s := MustNewServer(t, Config{Auth: auth}, deps{})
	s.SetWebhooks(m)
	toks := map[string]string{}
	for id, secret := range map[string]string{"acme-hooks": "a", "acme-reader": "r", "acme-calls": "c", "globex-hooks": "g"} {
		_, tr, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		toks[id] = "Bearer " + tr.AccessToken
	}
	return s, toks
}

// TestWebhooksAPI walks every /v1/webhooks operation through the router
// to a real webhook store: scopes, tenant isolation (another tenant's
// subscription is a 404 on every operation), the secret shown once, the
// problem reasons of refused input.
func TestWebhooksAPI(t *testing.T) {
	s, tok := webhookServer(t)
	h := s.Handler()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer rcv.Close()
	acme, globex := tok["acme-hooks"], tok["globex-hooks"]

	rec := do(t, h, "POST", "/v1/webhooks", `{"url":"`+rcv.URL+`/hook","types":["call."],"tag":"vip"}`, "Authorization", acme)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var wh callapi.Webhook
	_ = json.Unmarshal(rec.Body.Bytes(), &wh)
	if wh.Secret == "" || wh.Tenant != "acme" || wh.State != "active" || rec.Header().Get("Location") != "/v1/webhooks/"+wh.ID {
		t.Fatalf("created: %+v, Location %q", wh, rec.Header().Get("Location"))
	}
	// A create retried with its Idempotency-Key answers the same subscription.
	body := `{"url":"` + rcv.URL + `/hook2"}`
	first := do(t, h, "POST", "/v1/webhooks", body, "Authorization", acme, "Idempotency-Key", "create-1")
	second := do(t, h, "POST", "/v1/webhooks", body, "Authorization", acme, "Idempotency-Key", "create-1")
	var w1, w2 callapi.Webhook
	_ = json.Unmarshal(first.Body.Bytes(), &w1)
	_ = json.Unmarshal(second.Body.Bytes(), &w2)
	if first.Code != 201 || second.Code != 201 || w1.ID == "" || w1.ID != w2.ID || w1.ID == wh.ID {
		t.Errorf("keyed creates: %d %s / %d %s", first.Code, first.Body, second.Code, second.Body)
	}
	// Another tenant with the same key gets its own.
	if rec := do(t, h, "POST", "/v1/webhooks", body, "Authorization", globex, "Idempotency-Key", "create-1"); rec.Code != 201 || strings.Contains(rec.Body.String(), w1.ID) {
		t.Errorf("globex keyed create: %d %s", rec.Code, rec.Body)
	}

	// The secret is shown once: never by get or list.
	for _, path := range []string{"/v1/webhooks/" + wh.ID, "/v1/webhooks"} {
		rec := do(t, h, "GET", path, "", "Authorization", acme)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), wh.Secret) || !strings.Contains(rec.Body.String(), wh.ID) {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}

	// Another tenant sees nothing and touches nothing: 404 everywhere.
	base := "/v1/webhooks/" + wh.ID
	for _, c := range []struct{ method, path, body string }{
		{"GET", base, ""}, {"PATCH", base, `{"tag":"x"}`}, {"DELETE", base, ""}, {"POST", base + "/pause", ""},
		{"POST", base + "/resume", ""}, {"POST", base + "/rotate", ""}, {"POST", base + "/ping", ""}, {"GET", base + "/attempts", ""},
	} {
		rec := do(t, h, c.method, c.path, c.body, "Authorization", globex)
		if rec.Code != 404 || decodeProblem(t, rec.Body.Bytes()).Code != callapi.CodeNotFound {
			t.Errorf("globex %s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	if rec := do(t, h, "GET", "/v1/webhooks", "", "Authorization", globex); rec.Code != 200 || strings.Contains(rec.Body.String(), wh.ID) {
		t.Errorf("globex list: %d %s", rec.Code, rec.Body)
	}

	// Scopes: a read token reads and is refused changes; a calls token
	// is refused both.
	if rec := do(t, h, "GET", base, "", "Authorization", tok["acme-reader"]); rec.Code != 200 {
		t.Errorf("reader get: %d", rec.Code)
	}
	if rec := do(t, h, "POST", base+"/pause", "", "Authorization", tok["acme-reader"]); rec.Code != 403 {
		t.Errorf("reader pause: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/v1/webhooks", "", "Authorization", tok["acme-calls"]); rec.Code != 403 {
		t.Errorf("calls token list: %d", rec.Code)
	}

	// Update, pause, resume, rotate with overlap, ping, log.
	rec = do(t, h, "PATCH", base, `{"tag":"","description":"crm"}`, "Authorization", acme)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"description":"crm"`) || strings.Contains(rec.Body.String(), `"tag"`) {
		t.Errorf("patch: %d %s", rec.Code, rec.Body)
	}
	for path, state := range map[string]string{"/pause": "paused", "/resume": "active"} {
		rec := do(t, h, "POST", base+path, "", "Authorization", acme)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"state":"`+state+`"`) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	rec = do(t, h, "POST", base+"/rotate", `{"overlap_seconds":60}`, "Authorization", acme)
	var rot callapi.Webhook
	_ = json.Unmarshal(rec.Body.Bytes(), &rot)
	if rec.Code != 200 || rot.Secret == "" || rot.Secret == wh.Secret {
		t.Errorf("rotate: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, "POST", base+"/ping", "", "Authorization", acme)
	var a callapi.WebhookAttempt
	_ = json.Unmarshal(rec.Body.Bytes(), &a)
	if rec.Code != 200 || a.Status != 204 || a.Outcome != "delivered" || a.EventType != "webhook.ping" {
		t.Errorf("ping: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", base+"/attempts?limit=5", "", "Authorization", acme); rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), `{"attempts":[`) {
		t.Errorf("attempts: %d %s", rec.Code, rec.Body)
	}

	// Refused input: problem+json with code, field and reason.
	for _, c := range []struct{ method, path, body, field, reason string }{
		{"POST", "/v1/webhooks", `{"url":"not a url"}`, "url", callapi.ReasonInvalidURL},
		{"POST", "/v1/webhooks", `{}`, "url", callapi.ReasonInvalidURL},
		{"POST", "/v1/webhooks", `{"url":"https://169.254.169.254/latest"}`, "url", callapi.ReasonTargetRefused},
		{"POST", "/v1/webhooks", `{"url":"https://10.1.2.3/x"}`, "url", callapi.ReasonTargetRefused},
		{"POST", "/v1/webhooks", `{"url":"http://203.0.113.7/x"}`, "url", callapi.ReasonHTTPSRequired},
		{"POST", "/v1/webhooks", `{"url":"https://no-such-host.invalid/x"}`, "url", callapi.ReasonUnresolvableHost},
		{"POST", "/v1/webhooks", `{"url":"` + rcv.URL + `","types":["call.nonsense"]}`, "types", callapi.ReasonUnknownEventType},
		{"POST", "/v1/webhooks", `{"url":"` + rcv.URL + `","tag":"a b"}`, "tag", callapi.ReasonInvalidFilter},
		{"POST", "/v1/webhooks", `{"url":"` + rcv.URL + `","bogus":1}`, "bogus", ""},
		{"PATCH", base, `{"url":"ftp://x/"}`, "url", callapi.ReasonInvalidURL},
		{"POST", base + "/rotate", `{"overlap_seconds":-1}`, "overlap_seconds", ""},
		{"GET", base + "/attempts?limit=0", "", "limit", ""},
		{"GET", "/v1/webhooks/a%20b", "", "id", ""},
	} {
		rec := do(t, h, c.method, c.path, c.body, "Authorization", acme)
		p := decodeProblem(t, rec.Body.Bytes())
		if rec.Code != 400 || p.Code != callapi.CodeInvalidArgument || p.Field != c.field || p.Reason != c.reason ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s %s: %d %+v", c.method, c.path, c.body, rec.Code, p)
		}
	}

	if rec := do(t, h, "DELETE", base, "", "Authorization", acme); rec.Code != 204 {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", base, "", "Authorization", acme); rec.Code != 404 {
		t.Errorf("get after delete: %d", rec.Code)
	}
}

// TestWebhooksNotEnabled: without a webhook store the routes answer 503
// saying how to turn them on.
func TestWebhooksNotEnabled(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{})
	rec := do(t, s.Handler(), "GET", "/v1/webhooks", "")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "CALLGW_WEBHOOKS") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
