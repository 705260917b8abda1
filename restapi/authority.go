package restapi

import (
	"slices"
	"time"

	"github.com/callgw/callgw/callapi"
)

// allowed reports whether p's client still allows p: listed, enabled, of
// the same tenant, and granted every scope p carries. verify checks it for
// every request; an event stream checks it again whenever the clients
// change (authority).
func (a *authenticator) allowed(p Principal) error {
	c, ok := a.client(p.ClientID)
	if !ok || c.Disabled || c.Tenant != p.Tenant {
		return callapi.Errorf(callapi.CodeUnauthorized, "the token's client is no longer allowed")
	}
	for _, sc := range p.Scopes {
		if !slices.Contains(c.Scopes, sc) && !slices.Contains(c.Scopes, ScopeAdmin) {
			return callapi.Errorf(callapi.CodeUnauthorized, "the token's client is no longer granted %s", sc)
		}
	}
	return nil
}

// changes returns a channel closed when the clients next change.
func (a *authenticator) changes() <-chan struct{} {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.changed
}

// Notice codes of a stream that lost its authority. Clients treat both as
// final for the token they used: "token_expired" needs a new token,
// "revoked" an operator.
const (
	noticeTokenExpired = "token_expired"
	noticeRevoked      = "revoked"
)

// authority watches what allowed an event stream to open, which a stream
// otherwise outlives: its token's expiry, and its client's entry in the
// clients list. Done is closed when either ends; Notice then says which.
type authority struct {
	done   chan struct{}
	quit   chan struct{}
	notice dropNotice
}

// watchAuthority starts watching p (nothing to watch with authentication
// off). Stop must be called when the stream ends.
func (s *Server) watchAuthority(p Principal) *authority {
	a := &authority{done: make(chan struct{}), quit: make(chan struct{})}
	if s.cfg.Auth.Enabled {
		go a.run(s.auth, p, s.now)
	}
	return a
}

func (a *authority) run(au *authenticator, p Principal, now func() time.Time) {
	var expired <-chan time.Time
	if !p.Expires.IsZero() {
		t := time.NewTimer(p.Expires.Sub(now()))
		defer t.Stop()
		expired = t.C
	}
	for {
		changed := au.changes()
		if err := au.allowed(p); err != nil {
			a.end(dropNotice{Code: noticeRevoked, Message: callapi.ErrorMessage(err) +
				": the gateway ended this stream; its token is no longer accepted"})
			return
		}
		select {
		case <-a.quit:
			return
		case <-expired:
			a.end(dropNotice{Code: noticeTokenExpired, Message: "the stream's token expired: " +
				"reconnect with a new token (POST /oauth/token) and Last-Event-ID to resume"})
			return
		case <-changed:
		}
	}
}

func (a *authority) end(n dropNotice) {
	a.notice = n
	close(a.done)
}

// Done is closed when the stream must end.
func (a *authority) Done() <-chan struct{} { return a.done }

// Notice says why, once Done is closed.
func (a *authority) Notice() dropNotice { return a.notice }

// Stop ends the watch.
func (a *authority) Stop() { close(a.quit) }

// wsCloseCode is the WebSocket close code of a notice: 4401 when the
// token expired, 4403 when it was revoked (4000-4999 are the
// application's: 4xxx mirrors the HTTP status a new request would get).
func wsCloseCode(n dropNotice) int {
	if n.Code == noticeTokenExpired {
		return 4401
	}
	return 4403
}
