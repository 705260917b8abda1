package webhook

import (
	"slices"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Subscription states.
const (
	StateActive = "active"
	StatePaused = "paused"
)

// Secret is one signing secret; a rotated-out secret keeps signing until
// Expires, so receivers can switch without losing a delivery.
type Secret struct {
	Value   string    `json:"value"`
	Expires time.Time `json:"expires,omitzero"`
}

// Subscription is one record of the subscriptions stream: the whole state
// of a subscription after a change. The last record of an id wins.
type Subscription struct {
	callapi.Webhook
	Secrets []Secret `json:"secrets"`
	Deleted bool     `json:"deleted,omitempty"`
	Rev     string   `json:"rev"` // unique per record
}

// View is the subscription as the API shows it: no secrets.
func (s *Subscription) View() *callapi.Webhook {
	w := s.Webhook
	w.Secret = ""
	w.Types = slices.Clone(s.Types)
	return &w
}

// signing returns the secrets that sign at now: the current one first.
func (s *Subscription) signing(now time.Time) []string {
	var out []string
	for _, sec := range s.Secrets {
		if sec.Expires.IsZero() || now.Before(sec.Expires) {
			out = append(out, sec.Value)
		}
	}
	return out
}

// Match reports whether e is for s: the same filters as event streams.
// Node events belong to no tenant and reach every tenant.
func (s *Subscription) Match(e *callapi.Event) bool {
	if e.Tenant != s.Tenant && (e.Tenant != "" || e.Type.Resource() != "node") {
		if !(s.Tenant == callapi.DefaultTenant && e.Tenant == "") {
			return false
		}
	}
	if s.Node != "" && e.Node != s.Node {
		return false
	}
	if s.CallID != "" && e.CallID != s.CallID {
		return false
	}
	if s.Tag != "" && !slices.Contains(e.Tags, s.Tag) {
		return false
	}
	if len(s.Types) == 0 {
		return true
	}
	for _, t := range s.Types {
		p := strings.TrimSuffix(t, "*")
		if (strings.HasSuffix(p, ".") && strings.HasPrefix(string(e.Type), p)) || p == string(e.Type) {
			return true
		}
	}
	return false
}
