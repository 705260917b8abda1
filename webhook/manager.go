package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// logDepth is how many attempts per subscription the delivery log keeps.
const logDepth = callapi.WebhookLogDepth

// Manager is what the REST API serves /v1/webhooks from: subscriptions per
// tenant in the Store, the delivery log read back from the log stream.
type Manager struct {
	store  *Store
	conn   *amqp.Connection
	names  Names
	policy Policy
	sender *Sender
	logCh  *amqp.Channel

	mu       sync.Mutex
	attempts map[string][]callapi.WebhookAttempt
}

// NewManager opens the store and follows the delivery log.
func NewManager(ctx context.Context, conn *amqp.Connection, n Names, p Policy, store *Store) (*Manager, error) {
	m := &Manager{store: store, conn: conn, names: n, policy: p, sender: NewSender(p, 10*time.Second, 64<<10),
		attempts: map[string][]callapi.WebhookAttempt{}}
	ch, err := tailStream(ctx, conn, n.Log(), m.applyLog)
	if err != nil {
		return nil, err
	}
	m.logCh = ch
	return m, nil
}

// Close stops following the log.
func (m *Manager) Close() { _ = m.logCh.Close() }

func (m *Manager) applyLog(body []byte) {
	var r logRecord
	if json.Unmarshal(body, &r) != nil || r.Subscription == "" {
		return
	}
	if _, ok := m.store.Get(r.Subscription); !ok {
		return // deleted: its log goes with it
	}
	m.mu.Lock()
	a := append(m.attempts[r.Subscription], r.WebhookAttempt)
	if len(a) > logDepth {
		a = a[len(a)-logDepth:]
	}
	m.attempts[r.Subscription] = a
	m.mu.Unlock()
}

// withReason sets the Reason of a callapi error.
func withReason(err error, reason string) error {
	var e *callapi.Error
	if errors.As(err, &e) {
		c := *e
		c.Reason = reason
		return &c
	}
	return err
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// apply validates req into s.
func (m *Manager) apply(ctx context.Context, s *Subscription, req callapi.WebhookRequest) error {
	if req.URL != nil {
		if err := m.policy.CheckURL(ctx, *req.URL); err != nil {
			return err
		}
		s.URL = *req.URL
	}
	if s.URL == "" {
		return callapi.InvalidBecause("url", callapi.ReasonInvalidURL, "required")
	}
	if req.Types != nil {
		for _, t := range *req.Types {
			if !callapi.KnownEventTypePattern(t) {
				return callapi.InvalidBecause("types", callapi.ReasonUnknownEventType, "%q matches no event type", t)
			}
		}
		s.Types = slices.Clone(*req.Types)
	}
	if req.Node != nil {
		if *req.Node != "" {
			if err := callapi.CheckNodeID("node", *req.Node); err != nil {
				return withReason(err, callapi.ReasonInvalidFilter)
			}
		}
		s.Node = *req.Node
	}
	if req.Tag != nil {
		if *req.Tag != "" && !callapi.ValidTag(*req.Tag) {
			return callapi.InvalidBecause("tag", callapi.ReasonInvalidFilter, "%q: a tag is 1-64 of [A-Za-z0-9_-]", *req.Tag)
		}
		s.Tag = *req.Tag
	}
	if req.CallID != nil {
		if *req.CallID != "" {
			if err := callapi.CheckID("call_id", "call id", string(*req.CallID)); err != nil {
				return withReason(err, callapi.ReasonInvalidFilter)
			}
		}
		s.CallID = *req.CallID
	}
	if req.Description != nil {
		if len(*req.Description) > 256 {
			return callapi.Invalid("description", "longer than 256 characters")
		}
		s.Description = *req.Description
	}
	return nil
}

// idempotentIDs is the namespace of subscription ids made from an
// Idempotency-Key.
var idempotentIDs = uuid.MustParse("6d1e9c1a-3f55-4b8e-9a53-0c6f3b1f8e21")

// Create stores a new subscription; its answer carries the secret, once.
// With an idempotency key (the request's Idempotency-Key) the id is made
// from the tenant and the key, and a repeated create with the same key
// answers the subscription the first one made, secret included, instead of
// making a second one: a client retrying a create whose answer it lost
// does not double its deliveries.
func (m *Manager) Create(ctx context.Context, tenant, key string, req callapi.WebhookRequest) (*callapi.Webhook, error) {
	now := time.Now().UTC()
	id := uuid.NewString()
	if key != "" {
		id = uuid.NewSHA1(idempotentIDs, []byte(tenant+"\x00"+key)).String()
		if s, ok := m.store.Get(id); ok && s.Tenant == tenant {
			v := s.View()
			if len(s.Secrets) > 0 {
				v.Secret = s.Secrets[0].Value
			}
			return v, nil
		}
	}
	s := &Subscription{Webhook: callapi.Webhook{ID: id, Tenant: tenant, State: StateActive, Created: now, Updated: now}}
	if err := m.apply(ctx, s, req); err != nil {
		return nil, err
	}
	s.Secrets = []Secret{{Value: newSecret()}}
	if err := m.put(ctx, s); err != nil {
		return nil, err
	}
	v := s.View()
	v.Secret = s.Secrets[0].Value
	return v, nil
}

func (m *Manager) put(ctx context.Context, s *Subscription) error {
	ch, err := m.conn.Channel()
	if err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "broker unavailable")
	}
	defer ch.Close()
	if !s.Deleted {
		if err := declareIntake(ch, m.names); err != nil {
			return callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "broker unavailable")
		}
		if err := declareSub(ch, m.names, s.ID); err != nil {
			return callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "broker unavailable")
		}
	}
	if err := m.store.Put(ctx, s); err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "broker unavailable")
	}
	return nil
}

func (m *Manager) get(tenant, id string) (*Subscription, error) {
	s, ok := m.store.Get(id)
	if !ok || s.Tenant != tenant {
		return nil, callapi.Errorf(callapi.CodeNotFound, "webhook %s not found", id)
	}
	return s, nil
}

// List returns a tenant's subscriptions.
func (m *Manager) List(_ context.Context, tenant string) ([]*callapi.Webhook, error) {
	out := []*callapi.Webhook{}
	for _, s := range m.store.List(tenant) {
		out = append(out, s.View())
	}
	return out, nil
}

// Get returns one subscription with its queue counts.
func (m *Manager) Get(_ context.Context, tenant, id string) (*callapi.Webhook, error) {
	s, err := m.get(tenant, id)
	if err != nil {
		return nil, err
	}
	v := s.View()
	if ch, err := m.conn.Channel(); err == nil {
		for q, dst := range map[string]**int{m.names.Queue(id): &v.Pending, m.names.Wait(id): &v.Retrying, m.names.Dead(id): &v.Dead} {
			if st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err == nil {
				n := st.Messages
				*dst = &n
			} else if ch, err = m.conn.Channel(); err != nil {
				break
			}
		}
		if ch != nil {
			_ = ch.Close()
		}
	}
	return v, nil
}

// Update changes the fields req names.
func (m *Manager) Update(ctx context.Context, tenant, id string, req callapi.WebhookRequest) (*callapi.Webhook, error) {
	s, err := m.get(tenant, id)
	if err != nil {
		return nil, err
	}
	if err := m.apply(ctx, s, req); err != nil {
		return nil, err
	}
	s.Updated = time.Now().UTC()
	return s.View(), m.put(ctx, s)
}

// Delete removes a subscription and its queues (with the deliveries still
// pending in them). The delivery processes stop its lane when they read the
// deletion; their own deletion of the queues is then a no-op.
func (m *Manager) Delete(ctx context.Context, tenant, id string) error {
	s, err := m.get(tenant, id)
	if err != nil {
		return err
	}
	s.Deleted = true
	if err := m.put(ctx, s); err != nil {
		return err
	}
	ch, err := m.conn.Channel()
	if err != nil {
		return callapi.Wrap(callapi.CodeNodeUnavailable, "", err, "broker unavailable")
	}
	defer ch.Close()
	deleteSub(ch, m.names, id)
	m.mu.Lock()
	delete(m.attempts, id)
	m.mu.Unlock()
	return nil
}

// SetPaused pauses or resumes deliveries; events keep queueing meanwhile.
func (m *Manager) SetPaused(ctx context.Context, tenant, id string, paused bool) (*callapi.Webhook, error) {
	s, err := m.get(tenant, id)
	if err != nil {
		return nil, err
	}
	s.State = StateActive
	if paused {
		s.State = StatePaused
	}
	s.Updated = time.Now().UTC()
	return s.View(), m.put(ctx, s)
}

// Rotate makes a new secret; the old ones keep signing for overlap (0:
// revoked at once), at most callapi.WebhookMaxRotateOverlap.
func (m *Manager) Rotate(ctx context.Context, tenant, id string, overlap time.Duration) (*callapi.Webhook, error) {
	if overlap < 0 || overlap > callapi.WebhookMaxRotateOverlap {
		return nil, callapi.Invalid("overlap_seconds", "must be 0 to %d", int(callapi.WebhookMaxRotateOverlap.Seconds()))
	}
	s, err := m.get(tenant, id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	// The current secret signs on until now+overlap; a secret rotated out
	// earlier keeps its own end, never extended.
	old := s.Secrets
	s.Secrets = []Secret{{Value: newSecret()}}
	until := now.Add(overlap)
	for _, sec := range old {
		if overlap == 0 || (!sec.Expires.IsZero() && !now.Before(sec.Expires)) {
			continue
		}
		if sec.Expires.IsZero() || sec.Expires.After(until) {
			sec.Expires = until
		}
		s.Secrets = append(s.Secrets, sec)
	}
	s.Updated = now
	if err := m.put(ctx, s); err != nil {
		return nil, err
	}
	v := s.View()
	v.Secret = s.Secrets[0].Value
	return v, nil
}

// Ping POSTs a webhook.ping to the target now and reports the attempt.
func (m *Manager) Ping(ctx context.Context, tenant, id string) (*callapi.WebhookAttempt, error) {
	s, err := m.get(tenant, id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	ev := map[string]any{"id": uuid.NewString(), "type": "webhook.ping", "time": now, "tenant": tenant}
	body, _ := json.Marshal(ev)
	res := m.sender.Post(ctx, s.URL, s.ID, ev["id"].(string), body, s.signing(now))
	a := &callapi.WebhookAttempt{Time: now, EventID: ev["id"].(string), EventType: "webhook.ping", Attempt: 1, Status: res.Status,
		LatencyMS: float64(res.Latency.Microseconds()) / 1000, Outcome: "delivered"}
	if res.Err != nil {
		a.Outcome, a.Error = "failed", res.Err.Error()
	}
	return a, nil
}

// Attempts returns the latest attempts, newest first.
func (m *Manager) Attempts(_ context.Context, tenant, id string) ([]callapi.WebhookAttempt, error) {
	if _, err := m.get(tenant, id); err != nil {
		return nil, err
	}
	m.mu.Lock()
	a := slices.Clone(m.attempts[id])
	m.mu.Unlock()
	slices.Reverse(a)
	if a == nil {
		a = []callapi.WebhookAttempt{}
	}
	return a, nil
}
