package asterisk

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Originate places a call with channelId = id, into Stasis(app) under API
// control or into the dialplan when args.Context is set.
func (p *PBX) Originate(ctx context.Context, tenant string, id callapi.CallID, args callapi.OriginateArgs) (*callapi.Call, error) {
	const op = "asterisk.Originate"
	if err := p.serving(); err != nil {
		// Without the events WebSocket the call could be placed but never
		// followed (no call.created, no call.hangup, wait=answered blind):
		// refuse it, retryable, before anything is created.
		return nil, err
	}
	log := p.log.With(zap.String("call_id", string(id)), zap.String("tenant", tenant))
	c := &call{
		id: id, tenant: tenant, tags: args.Tags, dir: callapi.Outbound, from: args.From, to: args.To,
		state: callapi.StateDown, createdAt: time.Now(), vars: args.Variables, pending: true,
		toStasis: args.Context == "",
	}
	if args.Wait == callapi.WaitAnswered {
		c.done = make(chan struct{})
	}
	// A place among the originates being placed (Config.MaxPlacing),
	// first come first served; refused at once while the queue stands.
	if err := p.placing.acquire(ctx, id); err != nil {
		return nil, err
	}
	if !p.calls.register(c) {
		p.placing.release()
		return nil, callapi.Errorf(callapi.CodeConflict, "call %s already exists", id)
	}
	req := p.originateRequest(tenant, id, args)
	var ch ariChannel
	err := p.rest.do(ctx, http.MethodPost, "/channels", nil, req, &ch)
	p.placing.release()
	if err != nil {
		if st := ariStatus(err); st >= 400 && st < 500 {
			// Asterisk refused: nothing was created (409 = the id is in use
			// on Asterisk by a channel this worker does not track).
			p.calls.forget(id)
			return nil, mapErr(op, err, "endpoint "+args.To, "call id "+string(id)+" is already in use on the PBX")
		}
		// Transport failure or deadline: the channel may exist. Hang it up
		// and let the re-read settle what subscribers saw.
		log.Warn("originate failed, cleaning up", zap.Error(err))
		p.calls.abandon(c)
		p.cleanup(ctx, c)
		return nil, mapErr(op, err, "endpoint "+args.To, "")
	}
	p.calls.settle(c, ch.Name)
	log.Debug("originated", zap.String("to", args.To), zap.String("channel", ch.Name))
	if args.Context != "" {
		// A channel sent to the dialplan is not subscribed to the app:
		// subscribe so that its state and hangup are seen.
		q := url.Values{"eventSource": {"channel:" + string(id)}}
		if err := p.rest.do(ctx, http.MethodPost, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
			log.Warn("subscribing to dialplan call failed", zap.Error(err))
			p.verify(ctx, id)
		} else if err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(string(id)), nil, nil, &ch); err == nil {
			// What happened before the subscription is read once.
			p.enqueue(context.WithoutCancel(ctx), item{kind: kindSeen, ch: &ch})
		} else {
			p.verify(ctx, id)
		}
	}
	if c.done == nil {
		return publicCall(p.calls.snapshot(c)), nil
	}
	select {
	case <-c.done:
		return publicCall(p.calls.snapshot(c)), nil
	case <-ctx.Done():
		select {
		case <-c.done: // answered or ended just in time
			return publicCall(p.calls.snapshot(c)), nil
		default:
		}
	}
	log.Info("call not answered before the deadline, hanging up")
	p.calls.timedOut(c)
	p.calls.abandon(c)
	p.cleanup(ctx, c)
	return nil, callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "call "+string(id)+" was not answered in time and was hung up")
}

// originateRequest is the POST /channels body for call id of tenant: the
// caller's variables plus callgw's own (tenant, direction, tags), into
// Stasis(app) or, when args.Context is set, into the dialplan.
func (p *PBX) originateRequest(tenant string, id callapi.CallID, args callapi.OriginateArgs) ari.OriginateRequest {
	vars := make(map[string]string, len(args.Variables)+3)
	for k, v := range args.Variables {
		vars[k] = v
	}
	vars[VarTenant] = tenant
	vars[VarDirection] = string(callapi.Outbound)
	if len(args.Tags) > 0 {
		vars[VarTags] = strings.Join(args.Tags, ",")
	}
	req := ari.OriginateRequest{
		Endpoint: args.To, CallerID: args.From, Timeout: args.Timeout,
		ChannelID: string(id), Variables: vars,
	}
	if args.Context != "" {
		req.Context, req.Extension, req.Priority = args.Context, args.Extension, int64(args.Priority)
		if req.Priority == 0 {
			req.Priority = 1
		}
	} else {
		req.App = p.cfg.App
	}
	return req
}

// cleanup hangs c up after a failed or timed-out originate, on a short ctx
// of its own, so that no call is left behind.
func (p *PBX) cleanup(ctx context.Context, c *call) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.RequestTimeout)
	defer cancel()
	p.calls.cleaningUp(c)
	err := p.rest.do(hctx, http.MethodDelete, "/channels/"+seg(string(c.id)), url.Values{"reason": {"normal"}}, nil, nil)
	if ariStatus(err) == http.StatusNotFound {
		p.verify(hctx, c.id)
		return
	}
	if err != nil {
		p.log.Warn("hangup after failed originate failed", zap.String("call_id", string(c.id)), zap.Error(err))
	}
}

// hangupAbandoned hangs up the channel of a call whose originate failed and
// whose cleanup did not reach Asterisk, found still up by a re-read.
func (p *PBX) hangupAbandoned(ctx context.Context, id callapi.CallID) {
	err := p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(string(id)), url.Values{"reason": {"normal"}}, nil, nil)
	switch {
	case ariStatus(err) == http.StatusNotFound:
		p.verify(ctx, id)
	case err != nil:
		p.log.Warn("hanging up the channel of a failed originate failed", zap.String("call_id", string(id)), zap.Error(err))
	default:
		p.log.Info("hung up the channel of a failed originate found on re-read", zap.String("call_id", string(id)))
	}
}
