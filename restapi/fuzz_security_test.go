package restapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// querySeeds are query strings from the tests (filters, timeouts, tokens)
// and known troublemakers.
var querySeeds = []string{
	"", "type=call.hangup", "type=call.,node.*", "type=call.hangup,node.", "node=pbx1&call_id=c1&tag=sales-42",
	"last_event_id=e1", "access_token=abc", "timeout=7s", "timeout=1500ms", "state=up&tag=a&node=pbx1", "x=1",
	"node=any", "type=", "type=..", "tag=a.b", "call_id=%00", "node=pbx1&node=pbx2", "%zz", "a=1&a=2&a=3", ";",
}

// FuzzQueryStrings: every decoder of a query string (the stream filters,
// the call-listing filters, the deadline, unknown-parameter checks) either
// accepts it into valid values or refuses it with invalid_argument naming
// the parameter; never a panic, never another status.
func FuzzQueryStrings(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s, "")
		f.Add(s, "e1")
	}
	calls := &fakeCalls{t: f, CallsFn: func(ctx context.Context, o gateway.Options, req gateway.ListRequest) ([]*callapi.Call, []callapi.NodeID, error) {
		if (req.Node != "" && !callapi.ValidNodeID(string(req.Node))) || (req.Tag != "" && !callapi.ValidTag(req.Tag)) {
			f.Errorf("listing with invalid filters %+v", req)
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Minute {
			f.Errorf("deadline %v", d)
		}
		return nil, nil, nil
	}}
	s := NewServer(Config{Log: zap.NewNop()}, calls, nil, nil, nil)
	f.Fuzz(func(t *testing.T, raw, lastEventID string) {
		r := httptest.NewRequest("GET", "/v1/events", nil)
		r.URL.RawQuery = raw
		r.Header.Set("Last-Event-ID", lastEventID)
		if fl, err := eventFilter(r); err != nil {
			if callapi.ErrorCode(err) != callapi.CodeInvalidArgument || callapi.ErrorField(err) == "" {
				t.Fatalf("eventFilter(%q): %v", raw, err)
			}
		} else {
			if fl.Tenant != callapi.DefaultTenant || len(fl.LastEventID) > 128 {
				t.Fatalf("eventFilter(%q) = %+v", raw, fl)
			}
			for _, typ := range fl.Types {
				if !validTypePattern(typ) {
					t.Fatalf("type %q accepted", typ)
				}
			}
		}
		if _, err := parseTimeout(r.URL.Query(), 5*time.Second, time.Minute); err != nil && callapi.ErrorField(err) != "timeout" {
			t.Fatalf("parseTimeout(%q): %v", raw, err)
		}
		rec := httptest.NewRecorder()
		lr := httptest.NewRequest("GET", "/v1/calls", nil)
		lr.URL.RawQuery = raw
		s.Handler().ServeHTTP(rec, lr)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("GET /v1/calls?%s: %d %s", raw, rec.Code, rec.Body)
		}
	})
}

// tokenSeeds returns tokens like the tests' ones: valid, expired, of
// another key, alg none, too long-lived, of an unknown client.
func tokenSeeds(t testing.TB, a *authenticator) []string {
	now := time.Now()
	sign := func(cl claims, key []byte, m jwt.SigningMethod) string {
		tok, err := jwt.NewWithClaims(m, cl).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rc := func(sub string, iat, exp time.Time) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Issuer: "callgw", Subject: sub, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp), ID: "j1"}
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims{Tenant: "acme", Scope: ScopeAdmin, RegisteredClaims: rc("acme-app", now, now.Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tr, err := a.issue(context.Background(), "acme-app", "s3cret", "")
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		tr.AccessToken, none, "", "a.b.c", "Bearer x", strings.Repeat("A", 300),
		sign(claims{Tenant: "acme", Scope: ScopeCallsRead, RegisteredClaims: rc("acme-app", now.Add(-2*time.Hour), now.Add(-time.Hour))}, testKey, jwt.SigningMethodHS256),
		sign(claims{Tenant: "acme", Scope: ScopeAdmin, RegisteredClaims: rc("acme-app", now, now.Add(time.Hour))}, []byte("another key of thirty-two bytes!"), jwt.SigningMethodHS256),
		sign(claims{Tenant: "acme", Scope: ScopeAdmin, RegisteredClaims: rc("acme-app", now, now.Add(720*time.Hour))}, testKey, jwt.SigningMethodHS256),
		sign(claims{Tenant: "acme", Scope: ScopeCallsRead, RegisteredClaims: rc("ghost", now, now.Add(time.Hour))}, testKey, jwt.SigningMethodHS256),
		sign(claims{Tenant: "../x", Scope: ScopeCallsRead, RegisteredClaims: rc("acme-app", now, now.Add(time.Hour))}, testKey, jwt.SigningMethodHS256),
		sign(claims{Tenant: "acme", Scope: ScopeAdmin, RegisteredClaims: rc("acme-app", now, now.Add(time.Hour))}, testKey, jwt.SigningMethodHS512),
	}
}

// FuzzVerifyToken: the bearer-token decoder never panics, and whatever it
// accepts names a listed, enabled client of the token's tenant holding
// every scope the token carries.
func FuzzVerifyToken(f *testing.F) {
	cfg := Config{Auth: authConfig(f)}.withDefaults()
	a := newAuthenticator(cfg.Auth, time.Now)
	for _, s := range tokenSeeds(f, a) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := a.verify(tok)
		if err != nil {
			if callapi.ErrorCode(err) != callapi.CodeUnauthorized {
				t.Fatalf("code %s", callapi.ErrorCode(err))
			}
			return
		}
		c, ok := a.client(p.ClientID)
		if !ok || c.Disabled || c.Tenant != p.Tenant || p.TokenID == "" {
			t.Fatalf("accepted %q as %+v", tok, p)
		}
		for _, sc := range p.Scopes {
			if !c.hasScope(sc) {
				t.Fatalf("scope %s not granted to %s", sc, c.ID)
			}
		}
	})
}

func (c Client) hasScope(s string) bool {
	for _, g := range c.Scopes {
		if g == s || g == ScopeAdmin {
			return true
		}
	}
	return false
}

// FuzzParseHash: the stored-hash decoder never panics and bounds the cost
// a hash may ask for; a hash it accepts verifies its own secret only.
func FuzzParseHash(f *testing.F) {
	h, err := hashSecretWith("s3cret", cheapArgon)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{h, dummyHash(), "sha256$00$" + strings.Repeat("0", 64), "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$t=1$$", "garbage", ""} {
		f.Add(s, "s3cret")
	}
	f.Fuzz(func(t *testing.T, hash, secret string) {
		p, err := parseHash(hash)
		if err != nil {
			return
		}
		if !p.legacy && (p.p.Memory > maxArgon.Memory || p.p.Time > maxArgon.Time || p.p.Threads > maxArgon.Threads || p.p.Threads == 0) {
			t.Fatalf("%q: cost %+v beyond the bounds", hash, p.p)
		}
		if !p.legacy && p.p.Memory*p.p.Time > 4096 {
			return // verifying is correct but too slow for a fuzz iteration
		}
		_ = p.check(secret)
	})
}

// FuzzTokenEndpoint: the token endpoint as a whole (form and JSON bodies,
// Basic auth) answers 200, 400, 401 or 429 to anything.
func FuzzTokenEndpoint(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials&client_id=acme-app&client_secret=s3cret", "grant_type=client_credentials&client_id=acme-app&client_secret=x&scope=admin",
		"grant_type=password", "client_id=a", "grant_type=client_credentials&client_id=&client_secret=", "%zz", ""} {
		f.Add(s, "application/x-www-form-urlencoded")
	}
	f.Add(`{"grant_type":"client_credentials","client_id":"acme-app","client_secret":"s3cret"}`, "application/json")
	cfg := Config{Auth: authConfig(f), Log: zap.NewNop()}
	cfg.Auth.FailureBurst, cfg.Auth.FailuresPerMinute = 1000000, 1000000
	s := NewServer(cfg, nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, body, ct string) {
		req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 413, 415, 429:
		default:
			t.Fatalf("%q (%s): %d %s", body, ct, rec.Code, rec.Body)
		}
		if rec.Code == 200 {
			v, _ := url.ParseQuery(body)
			if v.Get("client_secret") != "s3cret" && !strings.Contains(body, `"s3cret"`) {
				t.Fatalf("token for %q", body)
			}
		}
	})
}
