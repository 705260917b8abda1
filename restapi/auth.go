package restapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callgw/callgw/gateway"
)

// Scopes a token may carry. ScopeAdmin implies every other scope.
const (
	ScopeCallsRead  = "calls:read"
	ScopeCallsWrite = "calls:write"
	ScopeEventsRead = "events:read"
	ScopeNodesRead  = "nodes:read"
	ScopeAdmin      = "admin"
)

// AllScopes lists the known scopes.
var AllScopes = []string{ScopeCallsRead, ScopeCallsWrite, ScopeEventsRead, ScopeNodesRead, ScopeAdmin}

// AuthConfig configures OAuth2 client-credentials auth. With Enabled false
// (development) every request acts for gateway.DefaultTenant with every
// scope, and POST /oauth/token answers 404.
type AuthConfig struct {
	Enabled    bool
	Issuer     string        // "iss" of issued tokens, checked on incoming ones; default "callgw"
	SigningKey []byte        // HS256 key, at least 32 bytes
	TokenTTL   time.Duration // lifetime of issued tokens: 1h
	Clients    []Client
}

// Client is one OAuth2 client allowed to obtain tokens.
type Client struct {
	ID         string
	SecretHash string // from HashSecret: "sha256$<salt hex>$<digest hex>"
	Tenant     string
	Scopes     []string // granted scopes (a token request may ask for fewer)
}

func (c AuthConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	if len(c.SigningKey) < 32 {
		return errors.New("restapi: auth signing key must be at least 32 bytes")
	}
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		switch {
		case cl.ID == "":
			return fmt.Errorf("restapi: auth client %d: id required", i)
		case seen[cl.ID]:
			return fmt.Errorf("restapi: auth client %q listed twice", cl.ID)
		case !gateway.ValidTenant(cl.Tenant):
			return fmt.Errorf("restapi: auth client %q: tenant %q is not 1-64 of [A-Za-z0-9_-]", cl.ID, cl.Tenant)
		}
		if _, _, err := splitHash(cl.SecretHash); err != nil {
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

// HashSecret returns the storable form of a client secret: a random
// 16-byte salt and SHA-256(salt || secret), hex encoded. Client secrets are
// generated, high-entropy strings, so a fast salted hash is enough; it is
// compared in constant time.
func HashSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("restapi: salt: %w", err)
	}
	sum := sha256.Sum256(append(salt, secret...))
	return "sha256$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(sum[:]), nil
}

func splitHash(h string) (salt, sum []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 3 || parts[0] != "sha256" {
		return nil, nil, errors.New(`secret hash must look like "sha256$<salt hex>$<digest hex>" (see restapi.HashSecret)`)
	}
	if salt, err = hex.DecodeString(parts[1]); err != nil || len(salt) == 0 {
		return nil, nil, errors.New("secret hash: bad salt")
	}
	if sum, err = hex.DecodeString(parts[2]); err != nil || len(sum) != sha256.Size {
		return nil, nil, errors.New("secret hash: bad digest")
	}
	return salt, sum, nil
}

// CheckSecret reports whether secret matches a HashSecret hash.
func CheckSecret(hash, secret string) bool {
	salt, want, err := splitHash(hash)
	if err != nil {
		return false
	}
	got := sha256.Sum256(append(salt, secret...))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// Principal is who a request acts for.
type Principal struct {
	ClientID string
	Tenant   string
	Scopes   []string
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
	cfg     AuthConfig
	now     func() time.Time
	clients map[string]Client
	issuer  string
}

func newAuthenticator(cfg AuthConfig, now func() time.Time) *authenticator {
	a := &authenticator{cfg: cfg, now: now, clients: map[string]Client{}, issuer: cfg.Issuer}
	if a.issuer == "" {
		a.issuer = "callgw"
	}
	for _, c := range cfg.Clients {
		a.clients[c.ID] = c
	}
	return a
}

// dummyHash keeps the timing of an unknown client id like a known one.
var dummyHash = "sha256$00000000000000000000000000000000$" + strings.Repeat("0", 64)

// issue checks client credentials and returns a signed token.
func (a *authenticator) issue(id, secret, scope string) (tokenResponse, error) {
	c, ok := a.clients[id]
	h := c.SecretHash
	if !ok {
		h = dummyHash
	}
	if !CheckSecret(h, secret) || !ok {
		return tokenResponse{}, oauthErr("invalid_client", gateway.Errorf(gateway.EUnauthorized, "unknown client or wrong secret"))
	}
	granted := c.Scopes
	if scope != "" {
		granted = nil
		for _, s := range strings.Fields(scope) {
			if !slices.Contains(c.Scopes, s) && !slices.Contains(c.Scopes, ScopeAdmin) {
				return tokenResponse{}, oauthErr("invalid_scope", gateway.Invalid("scope", "%q is not granted to this client", s))
			}
			if !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
	}
	now := a.now()
	cl := claims{Tenant: c.Tenant, Scope: strings.Join(granted, " "), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: a.issuer, Subject: c.ID, IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(a.cfg.TokenTTL)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, cl).SignedString(a.cfg.SigningKey)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("restapi: sign token: %w", err)
	}
	return tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(a.cfg.TokenTTL.Seconds()), Scope: cl.Scope}, nil
}

// verify checks a bearer token and returns its principal.
func (a *authenticator) verify(tok string) (Principal, error) {
	var cl claims
	_, err := jwt.ParseWithClaims(tok, &cl, func(*jwt.Token) (any, error) { return a.cfg.SigningKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(a.issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		msg := "invalid token"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "token expired"
		}
		return Principal{}, gateway.Wrap(gateway.EUnauthorized, "", err, msg)
	}
	if !gateway.ValidTenant(cl.Tenant) {
		return Principal{}, gateway.Errorf(gateway.EUnauthorized, "token carries no valid tenant")
	}
	return Principal{ClientID: cl.Subject, Tenant: cl.Tenant, Scopes: strings.Fields(cl.Scope)}, nil
}

// oauthError carries an RFC 6749 §5.2 error code ("invalid_client", …),
// serialized as the "error" member of the problem body.
type oauthError struct {
	code string
	err  *gateway.Error
}

func oauthErr(code string, err *gateway.Error) error { return &oauthError{code: code, err: err} }

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
		s.fail(w, r, gateway.Errorf(gateway.ENotFound, "authentication is disabled on this gateway"))
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
		s.fail(w, r, oauthErr("invalid_request", gateway.Invalid("grant_type", "required (client_credentials)")))
		return
	case gt != "client_credentials":
		s.fail(w, r, oauthErr("unsupported_grant_type", gateway.Invalid("grant_type", "%q is not supported (client_credentials)", gt)))
		return
	case id == "":
		s.fail(w, r, oauthErr("invalid_request", gateway.Invalid("client_id", "required (in the body or HTTP Basic auth)")))
		return
	}
	tok, err := s.auth.issue(id, secret, form.Get("scope"))
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
		p := Principal{Tenant: gateway.DefaultTenant, Scopes: []string{ScopeAdmin}}
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

func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if strings.HasPrefix(r.URL.Path, "/v1/events") {
			if t := r.URL.Query().Get("access_token"); t != "" {
				return t, nil
			}
		}
		return "", gateway.Errorf(gateway.EUnauthorized, "missing bearer token (Authorization: Bearer <token> from POST /oauth/token)")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", gateway.Errorf(gateway.EUnauthorized, "Authorization must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(tok), nil
}

// require refuses principals without scope with 403.
func (s *Server) require(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !principalOf(r.Context()).Has(scope) {
				s.fail(w, r, gateway.Errorf(gateway.EForbidden, "the token lacks the %s scope", scope))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
