package restapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/internal/testenv"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// cheapArgon keeps the tests fast; TestHashSecret covers the real cost.
var cheapArgon = argonParams{Time: 1, Memory: 64, Threads: 1}

func mustHash(t testing.TB, secret string) string {
	t.Helper()
	h, err := hashSecretWith(secret, cheapArgon) // HashSecret's cost is for production, not for every test
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func authConfig(t testing.TB) AuthConfig {
	return AuthConfig{Enabled: true, SigningKey: testKey, Clients: []Client{
		{ID: "acme-app", SecretHash: mustHash(t, "s3cret"), Tenant: "acme", Scopes: []string{ScopeCallsRead, ScopeCallsWrite, ScopeEventsRead}},
		{ID: "reader", SecretHash: mustHash(t, "r"), Tenant: "acme", Scopes: []string{ScopeCallsRead}},
		{ID: "ops", SecretHash: mustHash(t, "o"), Tenant: "globex", Scopes: []string{ScopeAdmin}},
	}}
}

func getToken(t *testing.T, h http.Handler, form url.Values) (int, tokenResponse, Problem) {
	t.Helper()
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var tok tokenResponse
	var p Problem
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
			t.Fatal(err)
		}
	} else {
		p = decodeProblem(t, rec.Body.Bytes())
	}
	return rec.Code, tok, p
}

func TestHashSecret(t *testing.T) {
	h := mustHash(t, "pw")
	if !CheckSecret(h, "pw") || CheckSecret(h, "pW") || CheckSecret("garbage", "pw") {
		t.Error("CheckSecret wrong")
	}
	if h2 := mustHash(t, "pw"); h2 == h {
		t.Error("hash not salted")
	}
}

func TestTokenEndpoint(t *testing.T) {
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{})
	for _, tc := range []struct {
		name      string
		form      url.Values
		want      int
		wantOAuth string
		wantScope string
	}{
		{"ok", url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"s3cret"}}, 200, "", "calls:read calls:write events:read"},
		{"narrowed scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"s3cret"}, "scope": {"calls:read"}}, 200, "", "calls:read"},
		{"scope not granted", url.Values{"grant_type": {"client_credentials"}, "client_id": {"reader"}, "client_secret": {"r"}, "scope": {"calls:write"}}, 400, "invalid_scope", ""},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"nope"}}, 401, "invalid_client", ""},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"who"}, "client_secret": {"x"}}, 401, "invalid_client", ""},
		{"wrong grant", url.Values{"grant_type": {"password"}, "client_id": {"acme-app"}}, 400, "unsupported_grant_type", ""},
		{"no grant", url.Values{"client_id": {"acme-app"}}, 400, "invalid_request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, tok, p := getToken(t, s.Handler(), tc.form)
			if code != tc.want {
				t.Fatalf("status %d, want %d (%+v)", code, tc.want, p)
			}
			if code == 200 && (tok.TokenType != "Bearer" || tok.Scope != tc.wantScope || tok.ExpiresIn != 3600 || tok.AccessToken == "") {
				t.Errorf("token %+v", tok)
			}
			if code != 200 && p.OAuthError != tc.wantOAuth {
				t.Errorf("oauth error %q, want %q", p.OAuthError, tc.wantOAuth)
			}
		})
	}

	// JSON body and HTTP Basic client authentication.
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("ops", "o")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("basic+json: %d %s", rec.Code, rec.Body)
	}

	// Disabled auth: the endpoint does not exist.
	off := MustNewServer(t, Config{}, deps{})
	if code, _, _ := getToken(t, off.Handler(), url.Values{"grant_type": {"client_credentials"}}); code != 404 {
		t.Errorf("disabled: %d", code)
	}
}

func TestBearerAuth(t *testing.T) {
	now := time.Now()
	var gotTenant string
	calls := &fakeCalls{t: t,
		CallFn: func(_ context.Context, o gateway.Options, id callapi.CallID) (*callapi.Call, error) {
			gotTenant = o.Tenant
			if o.Tenant != "acme" {
				return nil, callapi.Errorf(callapi.CodeNotFound, "call %s not found", id) // as the worker answers
			}
			return testCall, nil
		},
		HangupFn: func(context.Context, gateway.Options, callapi.CallID, string) (*callapi.Accepted, error) {
			return nil, nil
		},
	}
	s := MustNewServer(t, Config{Auth: authConfig(t), Now: func() time.Time { return now }}, deps{calls: calls, nodes: &fakeNodes{}})
	token := func(id, secret string) string {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tok.AccessToken
	}
	acme, reader, ops := token("acme-app", "s3cret"), token("reader", "r"), token("ops", "o")
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Tenant: "acme", Scope: "admin",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "callgw", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).
		SignedString([]byte("another key, 32 bytes long......"))
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Tenant: "acme", Scope: "admin",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "callgw", ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))}}).
		SignedString(testKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims{Tenant: "acme", Scope: "admin",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "callgw", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)

	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
		wantTenant               string
	}{
		{"no token", "GET", "/v1/calls/c1", "", 401, ""},
		{"not bearer", "GET", "/v1/calls/c1", "Basic eDp5", 401, ""},
		{"garbage", "GET", "/v1/calls/c1", "Bearer xyz", 401, ""},
		{"forged", "GET", "/v1/calls/c1", "Bearer " + forged, 401, ""},
		{"expired", "GET", "/v1/calls/c1", "Bearer " + expired, 401, ""},
		{"alg none", "GET", "/v1/calls/c1", "Bearer " + none, 401, ""},
		{"ok", "GET", "/v1/calls/c1", acme, 200, "acme"},
		{"read scope suffices", "GET", "/v1/calls/c1", reader, 200, "acme"},
		{"write scope missing", "DELETE", "/v1/calls/c1", reader, 403, ""},
		{"nodes scope missing", "GET", "/v1/nodes", acme, 403, ""},
		{"admin has all", "GET", "/v1/nodes", ops, 200, ""},
		{"other tenant's call is 404", "GET", "/v1/calls/c1", ops, 404, "globex"},
		{"health needs no token", "GET", "/healthz", "", 200, ""},
		{"openapi needs no token", "GET", "/v1/openapi.json", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotTenant = ""
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			rec := do(t, s.Handler(), tc.method, tc.path, "", hdr...)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if gotTenant != tc.wantTenant {
				t.Errorf("tenant %q, want %q", gotTenant, tc.wantTenant)
			}
			if rec.Code == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Error("no WWW-Authenticate")
			}
		})
	}
}

func TestEventsTokenInQuery(t *testing.T) {
	hub := NewHub(HubConfig{})
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{events: hub})
	_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"s3cret"}})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer http.DefaultClient.CloseIdleConnections()
	resp, rd := openSSE(t, ts.URL+"/v1/events?access_token="+tok.AccessToken)
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	mine := ev("e1", callapi.EvCallCreated, "c1")
	mine.Tenant = "acme"
	hub.Publish(ev("e0", callapi.EvCallCreated, "c0")) // default tenant: not acme's
	hub.Publish(mine)
	if m, err := rd.next(); err != nil || m.id != "e1" {
		t.Fatalf("got %+v %v", m, err)
	}
	resp.Body.Close()
	// access_token is not accepted outside the event routes.
	rec := do(t, s.Handler(), "GET", "/v1/nodes?access_token="+tok.AccessToken, "")
	if rec.Code != 401 {
		t.Errorf("token in query on /v1/nodes: %d", rec.Code)
	}
}

func TestAuthConfigValidate(t *testing.T) {
	good := authConfig(t)
	for _, tc := range []struct {
		name string
		mod  func(*AuthConfig)
	}{
		{"short key", func(c *AuthConfig) { c.SigningKey = []byte("short") }},
		{"bad hash", func(c *AuthConfig) { c.Clients[0].SecretHash = "plain" }},
		{"bad tenant", func(c *AuthConfig) { c.Clients[0].Tenant = "a.b" }},
		{"bad scope", func(c *AuthConfig) { c.Clients[0].Scopes = []string{"root"} }},
		{"duplicate", func(c *AuthConfig) { c.Clients[1].ID = c.Clients[0].ID }},
	} {
		c := good
		c.Clients = append([]Client(nil), good.Clients...)
		tc.mod(&c)
		if err := (Config{Auth: c}).Validate(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := (Config{Auth: good}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestEventsEveryTenantForAdmin: an admin token's stream with tenant=*
// carries every tenant's events (and resumes across them); any other
// token asking it is refused, and so is any other tenant value.
func TestEventsEveryTenantForAdmin(t *testing.T) {
	hub := NewHub(HubConfig{})
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{events: hub})
	tokenOf := func(id, secret string) string {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return tok.AccessToken
	}
	acme, ops := tokenOf("acme-app", "s3cret"), tokenOf("ops", "o")
	for _, tc := range []struct {
		name, query string
		want        int
		code        string
	}{
		{"tenant=* needs admin", "tenant=*&access_token=" + acme, 403, "forbidden"},
		{"only * is accepted", "tenant=acme&access_token=" + ops, 400, "invalid_argument"},
		{"empty is not *", "tenant=&access_token=" + ops, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s.Handler(), "GET", "/v1/events?"+tc.query, "")
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if p := decodeProblem(t, rec.Body.Bytes()); string(p.Code) != tc.code {
				t.Errorf("code %q, want %q", p.Code, tc.code)
			}
		})
	}

	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer http.DefaultClient.CloseIdleConnections()
	resp, rd := openSSE(t, ts.URL+"/v1/events?tenant=*&access_token="+ops)
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	var sent []string
	for i, tenant := range []string{"acme", "beta", "globex"} {
		e := ev(fmt.Sprintf("e%d", i), callapi.EvCallCreated, callapi.CallID(fmt.Sprintf("c%d", i)))
		e.Tenant = tenant
		hub.Publish(e)
		sent = append(sent, e.ID)
	}
	for _, id := range sent {
		if m, err := rd.next(); err != nil || m.id != id {
			t.Fatalf("admin stream: got %+v %v, want %s", m, err, id)
		}
	}
	resp.Body.Close()
	// Resuming after the first event replays the other tenants' too.
	resp, rd = openSSE(t, ts.URL+"/v1/events?tenant=*&last_event_id=e0&access_token="+ops)
	defer resp.Body.Close()
	for _, id := range sent[1:] {
		if m, err := rd.next(); err != nil || m.id != id {
			t.Fatalf("admin resume: got %+v %v, want %s", m, err, id)
		}
	}
}

// TestCallRecordsEveryTenantForAdmin: GET /v1/calls?tenant=* asks the
// service for every tenant's calls for an admin token only; another token
// is 403 and any other value 400, before the service is asked.
func TestCallRecordsEveryTenantForAdmin(t *testing.T) {
	var got *gateway.ListRequest
	calls := &fakeCalls{t: t, CallsFn: func(_ context.Context, _ gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
		got = &req
		return nil, nil, nil
	}}
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{calls: calls})
	token := func(id, secret string) string {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tok.AccessToken
	}
	acme, ops := token("acme-app", "s3cret"), token("ops", "o")
	for _, tc := range []struct {
		name, query, auth string
		want              int
		all               bool
	}{
		{"admin, every tenant", "state=ended&tenant=*", ops, 200, true},
		{"admin, own tenant", "state=ended", ops, 200, false},
		{"not admin", "state=ended&tenant=*", acme, 403, false},
		{"a tenant's name", "state=ended&tenant=acme", ops, 400, false},
		{"admin, every tenant's live calls", "tenant=*", ops, 200, true},
		{"admin, live calls of its tenant", "", ops, 200, false},
		{"not admin, live", "tenant=*", acme, 403, false},
		{"a tenant's name, live", "tenant=acme", ops, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			rec := do(t, s.Handler(), "GET", "/v1/calls?"+tc.query, "", "Authorization", tc.auth)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			switch {
			case tc.want != 200 && got != nil:
				t.Fatalf("the service was asked: %+v", got)
			case tc.want == 200 && (got == nil || got.AllTenants != tc.all):
				t.Fatalf("request %+v, want AllTenants %v", got, tc.all)
			}
		})
	}
}

// TestActOnAnotherTenantsCall: on the routes on one call, an admin token
// names the call's tenant with ?tenant= and the command carries it; a
// tenant's token may name only its own (403 otherwise, the service never
// asked), a malformed name is 400, and without the query the command keeps
// the token's tenant (so another tenant's call stays 404).
func TestActOnAnotherTenantsCall(t *testing.T) {
	var got *gateway.Options
	calls := &fakeCalls{t: t, HangupFn: func(_ context.Context, o gateway.Options, _ callapi.CallID, _ string) (*callapi.Accepted, error) {
		got = &o
		return nil, nil
	}}
	s := MustNewServer(t, Config{Auth: authConfig(t)}, deps{calls: calls})
	token := func(id, secret string) string {
		_, tok, _ := getToken(t, s.Handler(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
		return "Bearer " + tok.AccessToken
	}
	acme, ops := token("acme-app", "s3cret"), token("ops", "o")
	for _, tc := range []struct {
		name, query, auth string
		want              int
		tenant            string
	}{
		{"admin, another tenant's call", "?tenant=acme", ops, 204, "acme"},
		{"admin, no tenant named", "", ops, 204, "globex"},
		{"tenant, its own", "?tenant=acme", acme, 204, "acme"},
		{"tenant, another's", "?tenant=globex", acme, 403, ""},
		{"tenant, every tenant", "?tenant=*", acme, 400, ""},
		{"admin, malformed", "?tenant=a.b", ops, 400, ""},
		{"admin, empty", "?tenant=", ops, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			rec := do(t, s.Handler(), "DELETE", "/v1/calls/c1"+tc.query, "", "Authorization", tc.auth)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			switch {
			case tc.want != 204 && got != nil:
				t.Fatalf("the service was asked: %+v", got)
			case tc.want == 204 && (got == nil || got.Tenant != tc.tenant):
				t.Fatalf("options %+v, want tenant %q", got, tc.tenant)
			}
		})
	}
	// An idempotency key would be the other tenant's: refused.
	got = nil
	if rec := do(t, s.Handler(), "DELETE", "/v1/calls/c1?tenant=acme", "", "Authorization", ops, "Idempotency-Key", "k1"); rec.Code != 400 || got != nil {
		t.Errorf("admin's Idempotency-Key on acme's call: %d (service asked: %v): %s", rec.Code, got != nil, rec.Body)
	}
	// Elsewhere than on one call the query stays unknown.
	if rec := do(t, s.Handler(), "POST", "/v1/bridges?tenant=acme", `{}`, "Authorization", ops, "Content-Type", "application/json"); rec.Code != 400 {
		t.Errorf("POST /v1/bridges?tenant=acme: %d, want 400: %s", rec.Code, rec.Body)
	}
}
