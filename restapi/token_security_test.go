package restapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgw/callgw/callapi"
)

// TestHashSecretArgon2id: new hashes are argon2id with the production
// cost; legacy salted SHA-256 hashes still verify. Issue 12, finding 6.
func TestHashSecretArgon2id(t *testing.T) {
	start := time.Now()
	h, err := HashSecret("a-long-generated-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one argon2id hash: %s", time.Since(start))
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || IsLegacyHash(h) {
		t.Fatalf("hash %q", h)
	}
	if !CheckSecret(h, "a-long-generated-secret") || CheckSecret(h, "a-long-generated-secreT") {
		t.Error("argon2id check wrong")
	}
	// The form of earlier releases: "sha256$<salt hex>$<sha256(salt||secret) hex>".
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	sum := sha256.Sum256(append(append([]byte(nil), salt...), "old-secret"...))
	legacy := "sha256$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:])
	if !IsLegacyHash(legacy) || !CheckSecret(legacy, "old-secret") || CheckSecret(legacy, "old-secreT") {
		t.Error("legacy hash not verified")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA", "sha256$zz$00"} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("parseHash(%q) accepted", bad)
		}
	}
}

func tokenForm(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
}

func postToken(s *Server, form url.Values, addr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// TestTokenEndpointRateLimit: 50 wrong secrets for one client get 429
// with Retry-After once the burst is spent, and every failure is logged
// with the client id and address; the limit is per client (another
// client from another address still gets its token) and per address
// (made-up client ids from one address are throttled too). Issue 12,
// finding 6.
func TestTokenEndpointRateLimit(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	now := time.Unix(1_800_000_000, 0)
	cfg := Config{Auth: authConfig(t), Log: zap.New(core), Now: func() time.Time { return now }}
	s := NewServer(cfg, nil, nil, nil, nil)

	var codes []int
	var retry string
	for i := range 50 {
		rec := postToken(s, tokenForm("acme-app", "wrong-"+strconv.Itoa(i)), "198.51.100.7:4000")
		codes = append(codes, rec.Code)
		if rec.Code == 429 && retry == "" {
			retry = rec.Header().Get("Retry-After")
			if p := decodeProblem(t, rec.Body.Bytes()); p.Code != callapi.CodeRateLimited {
				t.Errorf("429 problem %+v", p)
			}
		}
	}
	if codes[0] != 401 || codes[49] != 429 {
		t.Fatalf("statuses %v", codes)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q", retry)
	}
	// Even the right secret waits now: the bucket is empty.
	if rec := postToken(s, tokenForm("acme-app", "s3cret"), "198.51.100.7:4000"); rec.Code != 429 {
		t.Errorf("right secret during lockout: %d", rec.Code)
	}
	refused := logs.FilterMessage("token request refused").All()
	if len(refused) != 10 {
		t.Errorf("%d failures logged, want 10 (the burst)", len(refused))
	}
	for _, e := range refused {
		f := e.ContextMap()
		if f["client_id"] != "acme-app" || f["remote_addr"] != "198.51.100.7" {
			t.Errorf("log fields %v", f)
		}
	}
	// Another client from another address is not affected.
	if rec := postToken(s, tokenForm("reader", "r"), "203.0.113.9:5000"); rec.Code != 200 {
		t.Errorf("other client: %d %s", rec.Code, rec.Body)
	}
	// Made-up ids from one address: throttled by address.
	var last int
	for i := range 12 {
		last = postToken(s, tokenForm("nobody-"+strconv.Itoa(i), "x"), "192.0.2.1:1").Code
	}
	if last != 429 {
		t.Errorf("made-up ids from one address: last status %d", last)
	}
	// Time refills the buckets.
	now = now.Add(2 * time.Minute)
	if rec := postToken(s, tokenForm("acme-app", "s3cret"), "198.51.100.7:4000"); rec.Code != 200 {
		t.Errorf("after the refill: %d %s", rec.Code, rec.Body)
	}
}

// TestTokenEndpointRateLimitConcurrent: attempts are charged before the
// secret is checked, so 50 wrong secrets sent at once cannot all pass the
// limit while the first ones are still being hashed: at most the burst
// is checked, the rest get 429.
func TestTokenEndpointRateLimitConcurrent(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cfg := Config{Auth: authConfig(t), Log: zap.NewNop(), Now: func() time.Time { return now }}
	// A hash that takes a few milliseconds, so that the attempts overlap.
	h, err := hashSecretWith("s3cret", argonParams{Time: 1, Memory: 4096, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.Clients[0].SecretHash = h
	s := NewServer(cfg, nil, nil, nil, nil)
	codes := make(chan int, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- postToken(s, tokenForm("acme-app", "wrong-"+strconv.Itoa(i)), "198.51.100.8:4000").Code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[401] > 10 || n[401]+n[429] != 50 {
		t.Errorf("statuses %v: want at most 10 checked (401), the rest 429", n)
	}
}

// TestTokensOfRemovedClients: once a client is removed or disabled (the
// clients file re-read), its tokens are refused; a token longer-lived than
// the maximum lifetime is refused too. Issue 12, finding 6.
func TestTokensOfRemovedClients(t *testing.T) {
	cfg := Config{Auth: authConfig(t)}
	s := MustNewServer(t, cfg, deps{nodes: &fakeNodes{}})
	tok := func(id, secret string) string {
		code, tr, p := getToken(t, s.Handler(), tokenForm(id, secret))
		if code != 200 {
			t.Fatalf("token %s: %d %+v", id, code, p)
		}
		return "Bearer " + tr.AccessToken
	}
	acme, reader := tok("acme-app", "s3cret"), tok("reader", "r")
	probe := func(auth string) int { return do(t, s.Handler(), "GET", "/v1/nodes", "", "Authorization", auth).Code }
	if probe(acme) != 403 || probe(reader) != 403 { // authenticated; nodes:read not granted
		t.Fatalf("before: %d %d", probe(acme), probe(reader))
	}
	clients := authConfig(t).Clients
	// Remove acme-app, disable reader.
	next := []Client{clients[1], clients[2]}
	next[0].Disabled = true
	if err := s.SetClients(next); err != nil {
		t.Fatal(err)
	}
	if c := probe(acme); c != 401 {
		t.Errorf("removed client's token: %d", c)
	}
	if c := probe(reader); c != 401 {
		t.Errorf("disabled client's token: %d", c)
	}
	if code, _, _ := getToken(t, s.Handler(), tokenForm("reader", "r")); code != 401 {
		t.Errorf("disabled client got a token: %d", code)
	}
	if err := s.SetClients([]Client{{ID: "x", SecretHash: "nope", Tenant: "acme"}}); err == nil {
		t.Error("invalid client list accepted")
	}

	// A token whose lifetime exceeds MaxTokenLifetime (signed with the
	// right key: a leaked key or an old token of a longer TTL setting).
	now := time.Now()
	long := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Tenant: "globex", Scope: ScopeAdmin, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "callgw", Subject: "ops", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(30 * 24 * time.Hour)),
	}})
	raw, err := long.SignedString(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if c := probe("Bearer " + raw); c != 401 {
		t.Errorf("30-day token: %d", c)
	}
	if err := (Config{Auth: AuthConfig{Enabled: true, SigningKey: testKey, TokenTTL: 48 * time.Hour, MaxTokenLifetime: 24 * time.Hour}}).Validate(); err == nil {
		t.Error("TTL above the maximum lifetime accepted")
	}
}
