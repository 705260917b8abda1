package restapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Scopes a token may carry. ScopeAdmin implies every other scope.
const (
	ScopeCallsRead  = "calls:read"
	ScopeCallsWrite = "calls:write"
	ScopeEventsRead = "events:read"
	ScopeNodesRead  = "nodes:read"
	ScopeAdmin      = "admin"
	// ScopeWebhooksRead lists and reads the tenant's webhook
	// subscriptions and their delivery log; ScopeWebhooksWrite creates,
	// changes, pauses, rotates, pings and deletes them.
	ScopeWebhooksRead  = "webhooks:read"
	ScopeWebhooksWrite = "webhooks:write"
)

// AllScopes lists the known scopes.
var AllScopes = []string{ScopeCallsRead, ScopeCallsWrite, ScopeEventsRead, ScopeNodesRead, ScopeAdmin, ScopeWebhooksRead, ScopeWebhooksWrite}

// AuthConfig configures OAuth2 client-credentials auth. With Enabled false
// (development) every request acts for callapi.DefaultTenant with every
// scope, and POST /oauth/token answers 404.
type AuthConfig struct {
	Enabled    bool
	Issuer     string        // "iss" of issued tokens, checked on incoming ones; default "callgw"
	SigningKey []byte        // HS256 key, at least 32 bytes
	TokenTTL   time.Duration // lifetime of issued tokens: 1h
	// MaxTokenLifetime refuses tokens whose lifetime (exp - iat) or age
	// exceeds it, whatever they say: 12h. TokenTTL may not exceed it.
	MaxTokenLifetime time.Duration
	// Failed token requests are limited per client id and per client
	// address: FailuresPerMinute refill a bucket of FailureBurst; past it
	// POST /oauth/token answers 429 with Retry-After: 10 and 10.
	FailuresPerMinute int
	FailureBurst      int
	// Clients may be replaced while the server runs (Server.SetClients):
	// a token of a client that is gone or disabled is refused from then on.
	Clients []Client
}

// Client is one OAuth2 client allowed to obtain tokens.
type Client struct {
	ID         string
	SecretHash string // from HashSecret (argon2id); legacy "sha256$<salt hex>$<digest hex>" still verified
	Tenant     string
	Scopes     []string // granted scopes (a token request may ask for fewer)
	Disabled   bool     // refused at the token endpoint; its tokens are refused too
}

func (c AuthConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	if len(c.SigningKey) < 32 {
		return errors.New("restapi: auth signing key must be at least 32 bytes")
	}
	if c.MaxTokenLifetime > 0 && c.TokenTTL > c.MaxTokenLifetime {
		return fmt.Errorf("restapi: auth token TTL %s exceeds the maximum token lifetime %s", c.TokenTTL, c.MaxTokenLifetime)
	}
	return validateClients(c.Clients)
}

// validateClients checks a client list.
func validateClients(clients []Client) error {
	seen := map[string]bool{}
	for i, cl := range clients {
		switch {
		case cl.ID == "":
			return fmt.Errorf("restapi: auth client %d: id required", i)
		case seen[cl.ID]:
			return fmt.Errorf("restapi: auth client %q listed twice", cl.ID)
		case !callapi.ValidTenant(cl.Tenant):
			return fmt.Errorf("restapi: auth client %q: tenant %q is not 1-64 of [A-Za-z0-9_-]", cl.ID, cl.Tenant)
		}
		if _, err := parseHash(cl.SecretHash); err != nil {
			return fmt.Errorf("restapi: auth client %q: %w", cl.ID, err)
		}
		for _, s := range cl.Scopes {
			if !slices.Contains(AllScopes, s) {
				return fmt.Errorf("restapi: auth client %q: unknown scope %q", cl.ID, s)
			}
		}
		seen[cl.ID] = true
	}
	return nil
}

// Principal is who a request acts for.
type Principal struct {
	ClientID string
	Tenant   string
	Scopes   []string
	TokenID  string // the token's "jti" (or a digest of it): event streams are counted per token
	// Expires is the token's expiry (zero when authentication is off):
	// event streams end then.
	Expires time.Time
}

// Has reports whether p holds scope (admin holds them all).
func (p Principal) Has(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin)
}

type principalKey struct{}

// PrincipalFrom returns the principal of an authenticated request context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func principalOf(ctx context.Context) Principal {
	p, _ := PrincipalFrom(ctx)
	return p
}

// claims are the claims of issued tokens.
type claims struct {
	Tenant string `json:"tenant"`
	Scope  string `json:"scope"`
	jwt.RegisteredClaims
}

type authenticator struct {
	cfg    AuthConfig
	now    func() time.Time
	issuer string

	mu      sync.RWMutex
	clients map[string]Client
	changed chan struct{} // closed (and replaced) when the clients change

	byClient, byAddr *keyedLimiter
	// slots bounds the argon2id verifications running at once (each takes
	// ~19 MiB and a core for tens of milliseconds).
	slots chan struct{}
}

func newAuthenticator(cfg AuthConfig, now func() time.Time) *authenticator {
	a := &authenticator{cfg: cfg, now: now, issuer: cfg.Issuer,
		byClient: newKeyedLimiter(cfg.FailuresPerMinute, cfg.FailureBurst, 100000),
		byAddr:   newKeyedLimiter(cfg.FailuresPerMinute, cfg.FailureBurst, 100000),
		slots:    make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	if a.issuer == "" {
		a.issuer = "callgw"
	}
	a.setClients(cfg.Clients)
	return a
}

func (a *authenticator) setClients(clients []Client) {
	m := make(map[string]Client, len(clients))
	for _, c := range clients {
		m[c.ID] = c
	}
	a.mu.Lock()
	a.clients = m
	if a.changed != nil {
		close(a.changed) // wakes the streams' watchers (authority.go)
	}
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

func (a *authenticator) client(id string) (Client, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, ok := a.clients[id]
	return c, ok
}

// SetClients replaces the OAuth2 clients while the server runs (callgw
// re-reads its clients file on change and on SIGHUP). Tokens already
// issued to a client that is no longer listed, or now disabled, are
// refused from the next request on; so are tokens whose tenant or scopes
// the client no longer has. An invalid list is refused and the old one
// kept.
func (s *Server) SetClients(clients []Client) error {
	if err := validateClients(clients); err != nil {
		return err
	}
	s.auth.setClients(clients)
	return nil
}

// dummyHash keeps the timing of an unknown client id like a known one. It
// is made on first use: hashing costs tens of milliseconds.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashSecret("callgw dummy secret for unknown clients")
	if err != nil {
		// crypto/rand failed: an unknown client then compares against a
		// hash no secret matches, at legacy (fast) cost.
		return "sha256$00$" + strings.Repeat("0", 64)
	}
	return h
})

// checkSecret verifies a secret against a stored hash, holding one of the
// verification slots.
func (a *authenticator) checkSecret(ctx context.Context, hash, secret string) (bool, error) {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.slots }()
	return CheckSecret(hash, secret), nil
}

var errBadClient = callapi.Errorf(callapi.CodeUnauthorized, "unknown client or wrong secret")

// issue checks client credentials and returns a signed token.
func (a *authenticator) issue(ctx context.Context, id, secret, scope string) (tokenResponse, error) {
	c, ok := a.client(id)
	h := c.SecretHash
	if !ok {
		h = dummyHash()
	}
	match, err := a.checkSecret(ctx, h, secret)
	if err != nil {
		return tokenResponse{}, err
	}
	if !match || !ok || c.Disabled {
		return tokenResponse{}, oauthErr("invalid_client", errBadClient)
	}
	granted := c.Scopes
	if scope != "" {
		granted = nil
		for _, s := range strings.Fields(scope) {
			if !slices.Contains(c.Scopes, s) && !slices.Contains(c.Scopes, ScopeAdmin) {
				return tokenResponse{}, oauthErr("invalid_scope", callapi.Invalid("scope", "%q is not granted to this client", s))
			}
			if !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
	}
	now := a.now()
	cl := claims{Tenant: c.Tenant, Scope: strings.Join(granted, " "), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: a.issuer, Subject: c.ID, IssuedAt: jwt.NewNumericDate(now), ID: uuid.NewString(),
		NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(a.cfg.TokenTTL)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(a.cfg.SigningKey)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("restapi: sign token: %w", err)
	}
	return tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(a.cfg.TokenTTL.Seconds()), Scope: cl.Scope}, nil
}

// verify checks a bearer token and returns its principal: signature,
// issuer, expiry, a lifetime within MaxTokenLifetime, and a client that is
// still listed, enabled, of the same tenant and granted every scope the
// token carries.
func (a *authenticator) verify(tok string) (Principal, error) {
	var cl claims
	_, err := jwt.ParseWithClaims(tok, &cl, func(*jwt.Token) (any, error) { return a.cfg.SigningKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(a.issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(a.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		msg := "invalid token"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "token expired"
		}
		return Principal{}, callapi.Wrap(callapi.CodeUnauthorized, "", err, msg)
	}
	if !callapi.ValidTenant(cl.Tenant) {
		return Principal{}, callapi.Errorf(callapi.CodeUnauthorized, "token carries no valid tenant")
	}
	if maxLife := a.cfg.MaxTokenLifetime; maxLife > 0 {
		if cl.IssuedAt == nil || cl.ExpiresAt.Sub(cl.IssuedAt.Time) > maxLife || a.now().Sub(cl.IssuedAt.Time) > maxLife {
			return Principal{}, callapi.Errorf(callapi.CodeUnauthorized, "token lifetime exceeds the maximum of %s", maxLife)
		}
	}
	id := cl.ID
	if id == "" {
		sum := sha256.Sum256([]byte(tok))
		id = hex.EncodeToString(sum[:12])
	}
	p := Principal{ClientID: cl.Subject, Tenant: cl.Tenant, Scopes: strings.Fields(cl.Scope), TokenID: id, Expires: cl.ExpiresAt.Time}
	if err := a.allowed(p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// oauthError carries an RFC 6749 §5.2 error code ("invalid_client", …),
// serialized as the "error" member of the problem body.
type oauthError struct {
	code string
	err  *callapi.Error
}

func oauthErr(code string, err *callapi.Error) error { return &oauthError{code: code, err: err} }

func (e *oauthError) Error() string { return e.code + ": " + e.err.Error() }
func (e *oauthError) Unwrap() error { return e.err }

// tokenResponse is the RFC 6749 §5.1 token answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// handleToken serves POST /oauth/token (client_credentials grant; client
// credentials in the body or in HTTP Basic auth).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Auth.Enabled {
		s.fail(w, r, callapi.Errorf(callapi.CodeNotFound, "authentication is disabled on this gateway"))
		return
	}
	form, err := readForm(s.limitBody(w, r), r.Header.Get("Content-Type"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		id, secret = bid, bsecret
	}
	switch gt := form.Get("grant_type"); {
	case gt == "":
		s.fail(w, r, oauthErr("invalid_request", callapi.Invalid("grant_type", "required (client_credentials)")))
		return
	case gt != "client_credentials":
		s.fail(w, r, oauthErr("unsupported_grant_type", callapi.Invalid("grant_type", "%q is not supported (client_credentials)", gt)))
		return
	case id == "":
		s.fail(w, r, oauthErr("invalid_request", callapi.Invalid("client_id", "required (in the body or HTTP Basic auth)")))
		return
	}
	addr := remoteHost(r)
	now := s.now()
	undoClient, waitClient := s.auth.byClient.take(id, now)
	undoAddr, waitAddr := s.auth.byAddr.take(addr, now)
	undo := func() {
		for _, u := range []func(){undoClient, undoAddr} {
			if u != nil {
				u()
			}
		}
	}
	if d := max(waitClient, waitAddr); d > 0 {
		undo()
		s.log.Debug("token request throttled", zap.String("client_id", logValue(id)), zap.String("remote_addr", addr), zap.Duration("retry_after", d))
		s.fail(w, r, retryAfter(d, oauthErr("slow_down", callapi.Errorf(callapi.CodeRateLimited, "too many failed token requests; retry in %s", d.Round(time.Second)))))
		return
	}
	tok, err := s.auth.issue(r.Context(), id, secret, form.Get("scope"))
	if code := callapi.ErrorCode(err); code != callapi.CodeUnauthorized && code != callapi.CodeInvalidArgument {
		undo() // success, or not the client's fault: no charge
	} else {
		s.log.Warn("token request refused", zap.String("client_id", logValue(id)), zap.String("remote_addr", addr),
			zap.String("reason", callapi.ErrorMessage(err)), zap.String("request_id", middleware.GetReqID(r.Context())))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tok)
}

// authenticate puts the request's Principal into its context: from the
// bearer token, or the development principal when auth is disabled. The
// event stream routes also accept the token as the access_token query
// parameter, since browsers' EventSource cannot set headers.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := Principal{Tenant: callapi.DefaultTenant, Scopes: []string{ScopeAdmin}}
		if s.cfg.Auth.Enabled {
			tok, err := bearer(r)
			if err == nil {
				p, err = s.auth.verify(tok)
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if info := infoOf(r.Context()); info != nil {
			info.tenant = p.Tenant
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// remoteHost is the client's address without the port. Behind a reverse
// proxy it is the proxy's: the per-address limit then covers everyone
// behind it, and the per-client limit still holds (docs/security.md).
func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// logValue bounds a value taken from a request before it is logged.
func logValue(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if strings.HasPrefix(r.URL.Path, "/v1/events") {
			if t := r.URL.Query().Get("access_token"); t != "" {
				return t, nil
			}
		}
		return "", callapi.Errorf(callapi.CodeUnauthorized, "missing bearer token (Authorization: Bearer <token> from POST /oauth/token)")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", callapi.Errorf(callapi.CodeUnauthorized, "Authorization must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(tok), nil
}

// require refuses principals without scope with 403.
func (s *Server) require(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !principalOf(r.Context()).Has(scope) {
				s.fail(w, r, callapi.Errorf(callapi.CodeForbidden, "the token lacks the %s scope", scope))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
