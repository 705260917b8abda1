package asterisk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Create-then-dial (callapi.DialControl) and text messages
// (callapi.MessageControl): ARI's POST /channels/create and
// /channels/{id}/dial, PUT /endpoints/{tech}/{resource}/sendMessage and
// the TextMessageReceived event.

var (
	_ callapi.DialControl    = (*PBX)(nil)
	_ callapi.MessageControl = (*PBX)(nil)
)

// Create creates call id of tenant in the Stasis app without dialling it
// (ARI POST /channels/create): its StasisStart is its call.created, in
// state down, until Dial.
func (p *PBX) Create(ctx context.Context, tenant string, id callapi.CallID, a callapi.CreateArgs) (*callapi.Call, error) {
	const op = "asterisk.Create"
	if err := p.serving(); err != nil {
		return nil, err
	}
	if a.Originator != "" {
		if _, err := p.findCall(ctx, op, tenant, a.Originator); err != nil {
			return nil, err
		}
	}
	c := &call{
		id: id, tenant: tenant, tags: a.Tags, dir: callapi.Outbound, to: a.To,
		state: callapi.StateDown, createdAt: time.Now(), vars: a.Variables, pending: true, toStasis: true,
	}
	if !p.calls.register(c) {
		return nil, callapi.Errorf(callapi.CodeConflict, "call %s already exists", id)
	}
	q := url.Values{"endpoint": {a.To}, "app": {p.cfg.App}, "channelId": {string(id)}}
	if a.Originator != "" {
		q.Set("originator", string(a.Originator))
	}
	if a.Formats != "" {
		q.Set("formats", a.Formats)
	}
	body := map[string]any{"variables": p.callVars(tenant, a.Variables, a.Tags)}
	var ch ariChannel
	if err := p.rest.do(ctx, http.MethodPost, "/channels/create", q, body, &ch); err != nil {
		if st := ariStatus(err); st >= 400 && st < 500 {
			p.calls.forget(id)
			return nil, mapErr(op, err, "endpoint "+a.To, "call id "+string(id)+" is already in use on the PBX")
		}
		p.log.Warn("create failed, cleaning up", zap.String("call_id", string(id)), zap.Error(err))
		p.calls.abandon(c)
		p.cleanup(ctx, c)
		return nil, mapErr(op, err, "endpoint "+a.To, "")
	}
	p.calls.settle(c, ch.Name)
	return publicCall(p.calls.snapshot(c)), nil
}

// callVars are the variables of a call callgw creates: the caller's plus
// callgw's own (tenant, direction, tags).
func (p *PBX) callVars(tenant string, vars map[string]string, tags []string) map[string]string {
	out := make(map[string]string, len(vars)+3)
	for k, v := range vars {
		out[k] = v
	}
	out[VarTenant] = tenant
	out[VarDirection] = string(callapi.Outbound)
	if len(tags) > 0 {
		out[VarTags] = strings.Join(tags, ",")
	}
	return out
}

// Dial dials a call made by Create (ARI POST /channels/{id}/dial). The
// caller, when given, must be a call of the same tenant. ARI's 409 (not a
// created channel, or dialled already) is CodeConflict.
func (p *PBX) Dial(ctx context.Context, tenant string, id callapi.CallID, a callapi.DialArgs) error {
	const op = "asterisk.Dial"
	q := url.Values{}
	if a.Timeout > 0 {
		q.Set("timeout", strconv.Itoa(a.Timeout))
	}
	if a.Caller != "" {
		if _, err := p.findCall(ctx, op, tenant, a.Caller); err != nil {
			return err
		}
		q.Set("caller", string(a.Caller))
	}
	if _, err := p.ctlCall(ctx, tenant, id); err != nil {
		return err
	}
	err := p.rest.do(ctx, http.MethodPost, "/channels/"+seg(string(id))+"/dial", q, nil, nil)
	if err == nil {
		return nil
	}
	if ariStatus(err) == http.StatusNotFound {
		p.verify(ctx, id)
	}
	return mapErr(op, err, "call "+string(id), "call "+string(id)+" cannot be dialled: it was not created by call.create, or is dialled already")
}

// endpointTenant is the tenant that owns endpoint (Technology/resource).
func (p *PBX) endpointTenant(endpoint string) string {
	if p.cfg.EndpointTenant != nil {
		return p.cfg.EndpointTenant(endpoint)
	}
	return p.cfg.Tenant
}

// SendMessage sends a text message to an endpoint of tenant (ARI PUT
// /endpoints/{tech}/{resource}/sendMessage). Another tenant's endpoint is
// not_found, as one Asterisk does not know.
func (p *PBX) SendMessage(ctx context.Context, tenant string, a callapi.MessageArgs) error {
	const op = "asterisk.SendMessage"
	tech, res, _ := strings.Cut(a.To, "/")
	if p.endpointTenant(a.To) != tenant {
		return callapi.Errorf(callapi.CodeNotFound, "endpoint %s not found", a.To)
	}
	q := url.Values{"from": {a.From}}
	if a.Body != "" {
		q.Set("body", a.Body)
	}
	var body any
	if len(a.Variables) > 0 {
		body = map[string]any{"variables": a.Variables}
	}
	err := p.rest.do(ctx, http.MethodPut, "/endpoints/"+seg(tech)+"/"+seg(res)+"/sendMessage", q, body, nil)
	if err != nil {
		p.log.Info("sending a message failed", zap.String("to", a.To), zap.String("tenant", tenant), zap.Error(err))
	}
	return mapErr(op, err, "endpoint "+a.To, "")
}

// messageEvent maps ARI's TextMessageReceived to message.received, of the
// tenant that owns the endpoint it came from (EndpointTenant; the default
// tenant when Asterisk names no endpoint).
func (p *PBX) messageEvent(ev *ariEvent, raw []byte) []*callapi.Event {
	if ev.Message == nil {
		return nil
	}
	d := callapi.MessageData{From: ev.Message.From, To: ev.Message.To, Body: ev.Message.Body, Variables: ev.Message.Variables}
	tenant := p.cfg.Tenant
	if ev.Endpoint != nil && ev.Endpoint.Technology != "" {
		d.Endpoint = ev.Endpoint.Technology + "/" + ev.Endpoint.Resource
		tenant = p.endpointTenant(d.Endpoint)
	}
	at := parseTime(ev.Timestamp)
	if at.IsZero() {
		at = time.Now().UTC()
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	return []*callapi.Event{{
		ID: uuid.NewString(), Type: callapi.EvMessageReceived, Time: at, Node: p.cfg.Node,
		Tenant: tenant, Data: data, ARI: publicARI(raw),
	}}
}

// subscribeMessages subscribes the app to the endpoints of MessageTechs,
// whose TextMessageReceived Asterisk sends only to the apps subscribed to
// the endpoint or its technology. A failure is logged: calls still work.
func (p *PBX) subscribeMessages(ctx context.Context) {
	for _, tech := range p.cfg.MessageTechs {
		q := url.Values{"eventSource": {"endpoint:" + tech}}
		if err := p.rest.do(ctx, http.MethodPost, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
			p.log.Warn("subscribing to text messages failed", zap.String("technology", tech), zap.Error(err))
		}
	}
}
