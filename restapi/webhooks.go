package restapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
)

// Webhooks is what the /v1/webhooks handlers need: a tenant's webhook
// subscriptions. *webhook.Manager implements it. Every method takes the
// tenant of the request and answers not_found for another tenant's
// subscription.
type Webhooks interface {
	// Create with a non-empty key (the Idempotency-Key) answers, when
	// repeated, what the first create with that key made.
	Create(ctx context.Context, tenant, key string, req callapi.WebhookRequest) (*callapi.Webhook, error)
	List(ctx context.Context, tenant string) ([]*callapi.Webhook, error)
	Get(ctx context.Context, tenant, id string) (*callapi.Webhook, error)
	Update(ctx context.Context, tenant, id string, req callapi.WebhookRequest) (*callapi.Webhook, error)
	Delete(ctx context.Context, tenant, id string) error
	SetPaused(ctx context.Context, tenant, id string, paused bool) (*callapi.Webhook, error)
	Rotate(ctx context.Context, tenant, id string, overlap time.Duration) (*callapi.Webhook, error)
	Ping(ctx context.Context, tenant, id string) (*callapi.WebhookAttempt, error)
	Attempts(ctx context.Context, tenant, id string) ([]callapi.WebhookAttempt, error)
}

// SetWebhooks serves /v1/webhooks from w (nil: the routes answer 503). The
// gateway sets it once its webhook store is open, and again after a
// reconnection.
func (s *Server) SetWebhooks(w Webhooks) {
	s.mu.Lock()
	s.webhooks = w
	s.mu.Unlock()
}

func (s *Server) webhookSvc() Webhooks {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhooks
}

func webhookURL(id string) string { return "/v1/webhooks/" + id }

// registerWebhooks adds the /v1/webhooks routes: reads need
// webhooks:read, changes webhooks:write.
func (s *Server) registerWebhooks(r chi.Router) {
	rd := r.With(s.require(ScopeWebhooksRead))
	wr := r.With(s.require(ScopeWebhooksWrite))
	wr.Post("/v1/webhooks", s.webhook(s.handleCreateWebhook))
	rd.Get("/v1/webhooks", s.webhook(s.handleListWebhooks))
	rd.Get("/v1/webhooks/{id}", s.webhook(s.handleGetWebhook))
	wr.Patch("/v1/webhooks/{id}", s.webhook(s.handleUpdateWebhook))
	wr.Delete("/v1/webhooks/{id}", s.webhook(s.handleDeleteWebhook))
	wr.Post("/v1/webhooks/{id}/pause", s.webhook(s.handlePauseWebhook(true)))
	wr.Post("/v1/webhooks/{id}/resume", s.webhook(s.handlePauseWebhook(false)))
	wr.Post("/v1/webhooks/{id}/rotate", s.webhook(s.handleRotateWebhook))
	wr.Post("/v1/webhooks/{id}/ping", s.webhook(s.handlePingWebhook))
	rd.Get("/v1/webhooks/{id}/attempts", s.webhook(s.handleWebhookAttempts, "limit"))
}

// webhookReq is a webhook request once its preamble passed.
type webhookReq struct {
	ctx    context.Context
	tenant string
	key    string // Idempotency-Key
	id     string
	svc    Webhooks
}

// webhook runs the common preamble of the webhook routes: the service is
// configured, the query names nothing unknown (limit on the log), the
// content type is JSON, the deadline, the tenant and the id.
func (s *Server) webhook(h func(http.ResponseWriter, *http.Request, webhookReq), query ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc := s.webhookSvc()
		if svc == nil {
			s.fail(w, r, callapi.Errorf(callapi.CodeNodeUnavailable, "webhooks are not enabled on this gateway (CALLGW_WEBHOOKS=true turns them on)"))
			return
		}
		o, ctx, cancel, err := s.begin(r, false, query...)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer cancel()
		if r.Method == http.MethodPatch {
			if err := checkContentType(r, "application/json"); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		req := webhookReq{ctx: ctx, tenant: o.Tenant, key: o.IdempotencyKey, svc: svc}
		if chi.URLParam(r, "id") != "" {
			id, err := pathParam(r, "id")
			if err == nil {
				err = callapi.CheckID("id", "webhook id", id)
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			req.id = id
		}
		h(w, r, req)
	}
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	var body callapi.WebhookRequest
	if err := decodeJSON(s.limitBody(w, r), &body); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := q.svc.Create(q.ctx, q.tenant, q.key, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", webhookURL(wh.ID))
	writeJSON(w, http.StatusCreated, wh)
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, q webhookReq) {
	list, err := q.svc.List(q.ctx, q.tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*callapi.Webhook{}
	}
	writeJSON(w, http.StatusOK, callapi.WebhookList{Webhooks: list})
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	wh, err := q.svc.Get(q.ctx, q.tenant, q.id)
	s.answer(w, r, wh, err)
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	var body callapi.WebhookRequest
	if err := decodeJSON(s.limitBody(w, r), &body); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := q.svc.Update(q.ctx, q.tenant, q.id, body)
	s.answer(w, r, wh, err)
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	if err := q.svc.Delete(q.ctx, q.tenant, q.id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePauseWebhook(paused bool) func(http.ResponseWriter, *http.Request, webhookReq) {
	return func(w http.ResponseWriter, r *http.Request, q webhookReq) {
		if err := decodeEmpty(s.limitBody(w, r)); err != nil {
			s.fail(w, r, err)
			return
		}
		wh, err := q.svc.SetPaused(q.ctx, q.tenant, q.id, paused)
		s.answer(w, r, wh, err)
	}
}

func (s *Server) handleRotateWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	var body callapi.WebhookRotateRequest
	if err := decodeOptionalJSON(s.limitBody(w, r), &body); err != nil {
		s.fail(w, r, err)
		return
	}
	overlap := callapi.WebhookRotateOverlap
	if body.OverlapSeconds != nil {
		if *body.OverlapSeconds < 0 || time.Duration(*body.OverlapSeconds)*time.Second > callapi.WebhookMaxRotateOverlap {
			s.fail(w, r, callapi.Invalid("overlap_seconds", "must be 0 to %d", int(callapi.WebhookMaxRotateOverlap.Seconds())))
			return
		}
		overlap = time.Duration(*body.OverlapSeconds) * time.Second
	}
	wh, err := q.svc.Rotate(q.ctx, q.tenant, q.id, overlap)
	s.answer(w, r, wh, err)
}

func (s *Server) handlePingWebhook(w http.ResponseWriter, r *http.Request, q webhookReq) {
	if err := decodeEmpty(s.limitBody(w, r)); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := q.svc.Ping(q.ctx, q.tenant, q.id)
	s.answer(w, r, a, err)
}

func (s *Server) handleWebhookAttempts(w http.ResponseWriter, r *http.Request, q webhookReq) {
	limit := callapi.WebhookLogDepth
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callapi.WebhookLogDepth {
			s.fail(w, r, callapi.Invalid("limit", "must be 1 to %d", callapi.WebhookLogDepth))
			return
		}
		limit = n
	}
	a, err := q.svc.Attempts(q.ctx, q.tenant, q.id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(a) > limit {
		a = a[:limit]
	}
	if a == nil {
		a = []callapi.WebhookAttempt{}
	}
	writeJSON(w, http.StatusOK, callapi.WebhookAttemptList{Attempts: a})
}

// answer writes v with 200, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
