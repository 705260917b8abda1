package asterisk

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Bridges (callapi.BridgeControl). A bridge created through callgw
// belongs to its creator's tenant; the worker remembers it (id, tenant,
// type, name, creation time) until it is destroyed. Asterisk sends
// BridgeCreated only to apps subscribed to all bridges, and BridgeDestroyed
// only to apps subscribed to the bridge (shared/ari-recordings/bridge.txt),
// so CreateBridge announces bridge.created itself and subscribes the app to
// the bridge;
// bridge.destroyed is published once, from BridgeDestroyed or from
// callgw's own DELETE, whichever comes first.

var _ callapi.BridgeControl = (*PBX)(nil)

const bridgeNotInStasis = "bridge is not under callgw's control (not in the Stasis application)"

// bridgeOf returns bridge id of tenant, or callapi.CodeNotFound.
func (p *PBX) bridgeOf(tenant string, id callapi.BridgeID) (*bridgeRec, error) {
	b := p.bridges.get(tenant, id)
	if b == nil {
		return nil, callapi.Errorf(callapi.CodeNotFound, "bridge %s not found", id)
	}
	return b, nil
}

// bridgeGone makes the bridge's event worker publish bridge.destroyed (once)
// and forget it.
func (p *PBX) bridgeGone(ctx context.Context, id callapi.BridgeID) {
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindBridgeGone, id: "bridge:" + string(id)})
}

// snapshotBridge is the CallAPI view of bridge b as ARI reports it.
func (p *PBX) snapshotBridge(rec *bridgeRec, ab *ariBridge) *callapi.Bridge {
	b := p.bridges.copyOf(rec)
	out := &callapi.Bridge{ID: b.id, Node: p.cfg.Node, Tenant: b.tenant, Type: b.typ, Name: b.name, Calls: []callapi.CallID{}, CreatedAt: b.createdAt}
	if ab != nil {
		for _, c := range ab.Channels {
			out.Calls = append(out.Calls, callapi.CallID(c))
		}
		if ab.Type != "" {
			out.Type = ab.Type
		}
	}
	return out
}

// CreateBridge creates bridge id (the id the gateway chose) for tenant.
func (p *PBX) CreateBridge(ctx context.Context, tenant string, id callapi.BridgeID, a callapi.BridgeCreateArgs) (*callapi.Bridge, error) {
	return p.createBridge(ctx, tenant, id, a)
}

func (p *PBX) createBridge(ctx context.Context, tenant string, id callapi.BridgeID, a callapi.BridgeCreateArgs) (*callapi.Bridge, error) {
	const op = "asterisk.CreateBridge"
	log := p.log.With(zap.String("bridge_id", string(id)), zap.String("tenant", tenant))
	b := &bridgeRec{id: id, tenant: tenant, typ: or(a.Type, "mixing"), name: a.Name, createdAt: time.Now(), pending: true}
	if !p.bridges.add(b) {
		return nil, callapi.Errorf(callapi.CodeConflict, "bridge %s already exists", id)
	}
	// POST /bridges?bridgeId= and not POST /bridges/{id}: on an id in use
	// the first answers 409, the second (createWithId) "creates or
	// updates" and would silently take over another bridge.
	q := url.Values{"bridgeId": {string(id)}, "type": {ariBridgeType(b.typ)}}
	if a.Name != "" {
		q.Set("name", a.Name)
	}
	var ab ariBridge
	if err := p.rest.do(ctx, http.MethodPost, "/bridges", q, nil, &ab); err != nil {
		p.bridges.forget(id)
		if ariStatus(err) == 0 {
			// No answer: the bridge may exist. Destroy it (a 404 is fine).
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.RequestTimeout)
			_ = p.rest.do(dctx, http.MethodDelete, "/bridges/"+seg(string(id)), nil, nil, nil)
			cancel()
		}
		log.Info("creating bridge failed", zap.Error(err))
		return nil, mapErr(op, err, "bridge "+string(id), "bridge "+string(id)+" already exists on the PBX")
	}
	p.bridges.settle(b, ab.Type, parseTime(ab.Creationtime))
	p.subscribeBridge(ctx, id)
	// The tenant is kept on the bridge too (bridge variable CALLGW_TENANT),
	// so that a restarted worker adopts the bridge with it.
	q = url.Values{"variable": {VarTenant}, "value": {tenant}}
	if err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(id))+"/variable", q, nil, nil); err != nil {
		log.Warn("setting the tenant on the bridge failed: a restarted worker will not adopt it", zap.Error(err))
	}
	p.publish(context.WithoutCancel(ctx), p.bridges.event(b, callapi.EvBridgeCreated, b.createdAt, nil))
	log.Debug("bridge created", zap.String("type", b.typ))
	return p.snapshotBridge(b, &ab), nil
}

// subscribeBridge subscribes the app to bridge id, so that BridgeDestroyed
// (by anyone) is seen.
func (p *PBX) subscribeBridge(ctx context.Context, id callapi.BridgeID) {
	q := url.Values{"eventSource": {"bridge:" + string(id)}}
	if err := p.rest.do(ctx, http.MethodPost, "/applications/"+seg(p.cfg.App)+"/subscription", q, nil, nil); err != nil {
		p.log.Warn("subscribing to the bridge failed: its destruction by others will not be seen", zap.String("bridge_id", string(id)), zap.Error(err))
	}
}

// adoptBridge takes over a bridge a previous worker created through callgw
// (it carries CALLGW_TENANT); it reports whether it did.
func (p *PBX) adoptBridge(ctx context.Context, ab *ariBridge) bool {
	id := callapi.BridgeID(ab.ID)
	var v struct {
		Value string `json:"value"`
	}
	if err := p.rest.do(ctx, http.MethodGet, "/bridges/"+seg(ab.ID)+"/variable", url.Values{"variable": {VarTenant}}, nil, &v); err != nil {
		if st := ariStatus(err); st != http.StatusNotFound && st != http.StatusConflict {
			p.log.Warn("reading a bridge's tenant failed", zap.String("bridge_id", ab.ID), zap.Error(err))
		}
		return false
	}
	if !callapi.ValidTenant(v.Value) {
		return false
	}
	b := &bridgeRec{id: id, tenant: v.Value, typ: or(ab.Type, "mixing"), name: ab.Name, createdAt: parseTime(ab.Creationtime)}
	if b.createdAt.IsZero() {
		b.createdAt = time.Now()
	}
	if !p.bridges.add(b) {
		return false
	}
	p.subscribeBridge(ctx, id)
	p.log.Info("bridge adopted", zap.String("bridge_id", ab.ID), zap.String("tenant", b.tenant))
	return true
}

// Bridge returns a bridge of tenant with the calls in it.
func (p *PBX) Bridge(ctx context.Context, tenant string, id callapi.BridgeID) (*callapi.Bridge, error) {
	b, err := p.bridgeOf(tenant, id)
	if err != nil {
		return nil, err
	}
	var ab ariBridge
	if err := p.rest.do(ctx, http.MethodGet, "/bridges/"+seg(string(id)), nil, nil, &ab); err != nil {
		if ariStatus(err) == http.StatusNotFound {
			p.bridgeGone(ctx, id)
		}
		return nil, mapErr("asterisk.Bridge", err, "bridge "+string(id), bridgeNotInStasis)
	}
	return p.snapshotBridge(b, &ab), nil
}

// Bridges lists the bridges of tenant, oldest first.
func (p *PBX) Bridges(ctx context.Context, tenant string) ([]*callapi.Bridge, error) {
	mine := p.bridges.of(tenant)
	out := []*callapi.Bridge{}
	if len(mine) == 0 {
		return out, nil
	}
	var all []ariBridge
	if err := p.rest.do(ctx, http.MethodGet, "/bridges", nil, nil, &all); err != nil {
		return nil, mapErr("asterisk.Bridges", err, "bridges", "")
	}
	byID := make(map[string]*ariBridge, len(all))
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	for _, b := range mine {
		ab, ok := byID[string(b.id)]
		if !ok {
			p.bridgeGone(ctx, b.id) // destroyed without our noticing
			continue
		}
		out = append(out, p.snapshotBridge(b, ab))
	}
	slices.SortFunc(out, func(a, b *callapi.Bridge) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// DestroyBridge destroys a bridge of tenant; its calls stay, out of it.
func (p *PBX) DestroyBridge(ctx context.Context, tenant string, id callapi.BridgeID) error {
	if _, err := p.bridgeOf(tenant, id); err != nil {
		return err
	}
	err := p.rest.do(ctx, http.MethodDelete, "/bridges/"+seg(string(id)), nil, nil, nil)
	if err == nil || ariStatus(err) == http.StatusNotFound {
		p.bridgeGone(ctx, id)
	}
	if err != nil {
		p.log.Info("destroying bridge failed", zap.String("bridge_id", string(id)), zap.Error(err))
	} else {
		p.log.Debug("bridge destroyed", zap.String("bridge_id", string(id)))
	}
	return mapErr("asterisk.DestroyBridge", err, "bridge "+string(id), bridgeNotInStasis)
}

// bridgeCallErr maps the error of addChannel/removeChannel. ARI answers 400
// "Channel not found" for a missing channel, 422 when the channel is not in
// Stasis (add) or not in this bridge (remove), 404 for the bridge, 409 when
// the bridge is not in Stasis or the channel is being recorded.
func bridgeCallErr(op string, err error, bridge callapi.BridgeID, id callapi.CallID, add bool) error {
	switch ariStatus(err) {
	case http.StatusBadRequest:
		return callapi.Wrap(callapi.CodeNotFound, op, err, "call "+string(id)+" not found")
	case http.StatusUnprocessableEntity:
		if add {
			return callapi.Wrap(callapi.CodeConflict, op, err, "call "+string(id)+": "+notInStasis)
		}
		return callapi.Wrap(callapi.CodeNotFound, op, err, "call "+string(id)+" is not in bridge "+string(bridge))
	}
	return ctlErr(op, err, "bridge "+string(bridge), bridgeNotInStasis)
}

// AddToBridge adds a call of tenant to a bridge of tenant (call.bridged).
func (p *PBX) AddToBridge(ctx context.Context, tenant string, id callapi.BridgeID, callID callapi.CallID) error {
	const op = "asterisk.AddToBridge"
	if _, err := p.bridgeOf(tenant, id); err != nil {
		return err
	}
	if _, err := p.ctlCall(ctx, tenant, callID); err != nil {
		return err
	}
	// ari/v5's Bridge.AddChannel drops its options; the query is ours.
	err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(id))+"/addChannel", url.Values{"channel": {string(callID)}}, nil, nil)
	if err != nil {
		p.log.Info("adding call to bridge failed", zap.String("bridge_id", string(id)), zap.String("call_id", string(callID)), zap.Error(err))
		return bridgeCallErr(op, err, id, callID, true)
	}
	return nil
}

// RemoveFromBridge takes a call of tenant out of a bridge (call.unbridged);
// the call stays in the app.
func (p *PBX) RemoveFromBridge(ctx context.Context, tenant string, id callapi.BridgeID, callID callapi.CallID) error {
	const op = "asterisk.RemoveFromBridge"
	if _, err := p.bridgeOf(tenant, id); err != nil {
		return err
	}
	if _, err := p.ctlCall(ctx, tenant, callID); err != nil {
		return err
	}
	err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(id))+"/removeChannel", url.Values{"channel": {string(callID)}}, nil, nil)
	if err != nil {
		p.log.Info("removing call from bridge failed", zap.String("bridge_id", string(id)), zap.String("call_id", string(callID)), zap.Error(err))
		return bridgeCallErr(op, err, id, callID, false)
	}
	return nil
}

// PlayOnBridge plays media to everyone in a bridge of tenant; the
// playback's id is the one the gateway chose (callapi.PlayArgs requires it).
func (p *PBX) PlayOnBridge(ctx context.Context, tenant string, id callapi.BridgeID, a callapi.PlayArgs) (*callapi.Playback, error) {
	if _, err := p.bridgeOf(tenant, id); err != nil {
		return nil, err
	}
	var pb ariPlayback
	body := playBody{Media: ariMediaList(tenant, a.Media), Lang: a.Lang}
	if err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(id))+"/play/"+seg(a.PlaybackID), nil, body, &pb); err != nil {
		p.log.Info("playing on bridge failed", zap.String("bridge_id", string(id)), zap.Error(err))
		return nil, ctlErr("asterisk.PlayOnBridge", err, "bridge "+string(id), bridgeNotInStasis)
	}
	return p.playback(tenant, &pb), nil
}

// RecordBridge records the mix of a bridge of tenant.
func (p *PBX) RecordBridge(ctx context.Context, tenant string, id callapi.BridgeID, a callapi.RecordArgs) (*callapi.Recording, error) {
	if _, err := p.bridgeOf(tenant, id); err != nil {
		return nil, err
	}
	var rec ariRecording
	if err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(id))+"/record", recordQuery(tenant, a), nil, &rec); err != nil {
		p.log.Info("recording bridge failed", zap.String("bridge_id", string(id)), zap.Error(err))
		return nil, unprefixed(ctlErr("asterisk.RecordBridge", err, "bridge "+string(id), bridgeNotInStasis), tenant, a.Name)
	}
	return p.recording(tenant, &rec), nil
}

// Transfer performs an attended transfer: a new mixing bridge a.BridgeID
// joins the transferee and the target, then the transferer is hung up. The
// three must be calls of tenant on this node (else not_found) under
// callgw's control (else conflict). On failure nothing is left half done:
// the new bridge is destroyed and calls taken out of a bridge for it are
// put back.
func (p *PBX) Transfer(ctx context.Context, tenant string, a callapi.TransferArgs) (*callapi.Bridge, error) {
	const op = "asterisk.Transfer"
	ids := []callapi.CallID{a.Transferee, a.Target, a.Transferer}
	calls := make([]*call, 3)
	for i, id := range ids {
		c, err := p.ctlCall(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		calls[i] = c
	}
	log := p.log.With(zap.String("bridge_id", string(a.BridgeID)), zap.String("tenant", tenant),
		zap.String("transferee", string(a.Transferee)), zap.String("target", string(a.Target)), zap.String("transferer", string(a.Transferer)))
	br, err := p.createBridge(ctx, tenant, a.BridgeID, callapi.BridgeCreateArgs{Type: "mixing", Name: "transfer"})
	if err != nil {
		return nil, err
	}
	var moved []transferMove
	undo := func() { p.undoTransfer(ctx, log, a.BridgeID, moved) }
	// Asterisk moves a channel from one Stasis bridge to another on
	// addChannel; taking it out of its bridge first makes the move explicit
	// and lets the rollback put it back.
	for _, c := range calls[:2] {
		from := p.calls.bridgeOf(c)
		if from == "" {
			continue
		}
		err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(from))+"/removeChannel", url.Values{"channel": {string(c.id)}}, nil, nil)
		switch {
		case err == nil:
			moved = append(moved, transferMove{c.id, from})
		case ariStatus(err) == http.StatusUnprocessableEntity || ariStatus(err) == http.StatusNotFound:
			// Not in it any more.
		default:
			undo()
			log.Info("transfer failed: leaving the old bridge", zap.Error(err))
			return nil, bridgeCallErr(op, err, from, c.id, false)
		}
	}
	q := url.Values{"channel": {string(a.Transferee) + "," + string(a.Target)}}
	if err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(a.BridgeID))+"/addChannel", q, nil, nil); err != nil {
		undo()
		log.Info("transfer failed: joining the calls", zap.Error(err))
		who := a.Transferee
		if ariStatus(err) == http.StatusBadRequest || ariStatus(err) == http.StatusUnprocessableEntity {
			who = p.culprit(ctx, a.Transferee, a.Target)
		}
		return nil, bridgeCallErr(op, err, a.BridgeID, who, true)
	}
	transferer := calls[2]
	p.calls.expectHangup(transferer, "normal")
	err = p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(string(a.Transferer)), url.Values{"reason": {"normal"}}, nil, nil)
	switch {
	case err == nil:
	case ariStatus(err) == http.StatusNotFound:
		p.verify(ctx, a.Transferer) // gone already: the transfer is done all the same
	default:
		p.calls.unexpectHangup(transferer)
		undo()
		log.Info("transfer failed: hanging up the transferer", zap.Error(err))
		return nil, mapErr(op, err, "call "+string(a.Transferer), notInStasis)
	}
	log.Info("attended transfer done")
	br.Calls = []callapi.CallID{a.Transferee, a.Target}
	return br, nil
}

// transferMove is a call a transfer took out of its bridge, which a
// rollback puts back.
type transferMove struct {
	id   callapi.CallID
	from callapi.BridgeID
}

// undoTransfer rolls a failed transfer back, on a ctx of its own (the
// caller's may be what ended): it destroys the new bridge and puts the calls
// taken out of a bridge back.
func (p *PBX) undoTransfer(ctx context.Context, log *zap.Logger, bridge callapi.BridgeID, moved []transferMove) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.RequestTimeout)
	defer cancel()
	if err := p.rest.do(uctx, http.MethodDelete, "/bridges/"+seg(string(bridge)), nil, nil, nil); err != nil && ariStatus(err) != http.StatusNotFound {
		log.Error("transfer rollback: destroying the bridge failed", zap.Error(err))
	}
	p.bridgeGone(uctx, bridge)
	for _, m := range moved {
		q := url.Values{"channel": {string(m.id)}}
		if err := p.rest.do(uctx, http.MethodPost, "/bridges/"+seg(string(m.from))+"/addChannel", q, nil, nil); err != nil {
			log.Warn("transfer rollback: putting a call back into its bridge failed", zap.String("call_id", string(m.id)), zap.String("bridge", string(m.from)), zap.Error(err))
		}
	}
}

// culprit returns which of two calls Asterisk refused to bridge: the first
// whose channel is missing or not in Stasis, else the first.
func (p *PBX) culprit(ctx context.Context, ids ...callapi.CallID) callapi.CallID {
	for _, id := range ids {
		var ch ariChannel
		if err := p.rest.do(ctx, http.MethodGet, "/channels/"+seg(string(id)), nil, nil, &ch); err != nil || ch.stasisApp() != p.cfg.App {
			return id
		}
	}
	return ids[0]
}

// ariBridgeType is the ARI type list for a CallAPI bridge type. Asterisk's
// bridge_create_common makes dtmf_events and proxy_media only take a
// capability away: asked alone they leave none, and the create fails with
// 500. They are modifiers of a mixing bridge.
func ariBridgeType(t string) string {
	switch t {
	case "dtmf_events", "proxy_media":
		return "mixing," + t
	}
	return t
}
