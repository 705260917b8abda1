package asterisk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// External media (callapi.ExternalMediaControl): POST /channels/externalMedia
// into the app, then the new channel into the call's bridge (or a new
// mixing bridge of the tenant holding both). The destination must be on
// Config.ExternalMedia for the tenant: Asterisk streams audio wherever it
// is told, so the worker refuses (forbidden) anything the operator did not
// list. The media channel is no call: its events are kept from the call
// table (no call.created for it), its end is call.externalmedia.stopped on
// the call, and the call's end hangs it up.

var _ callapi.ExternalMediaControl = (*PBX)(nil)

// extRec is a live external media channel.
type extRec struct {
	m        callapi.ExternalMedia
	tenant   string
	ownsBr   bool          // the bridge was created for it (destroyed with it)
	ready    chan struct{} // closed on its StasisStart
	stopping string        // why it is being hung up: api, call
}

// extTable holds the live external media channels by id.
type extTable struct {
	mu   sync.Mutex
	recs map[string]*extRec
}

func (t *extTable) add(r *extRec) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.recs == nil {
		t.recs = map[string]*extRec{}
	}
	if t.recs[r.m.ID] != nil {
		return false
	}
	t.recs[r.m.ID] = r
	return true
}

// set runs fn, which changes or reads a record, under the table's lock.
func (t *extTable) set(_ *extRec, fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn()
}

func (t *extTable) get(id string) *extRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recs[id]
}

func (t *extTable) remove(id string) *extRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recs[id]
	delete(t.recs, id)
	return r
}

// ofCall marks the media channels of call id as stopping for why and
// returns their ids.
func (t *extTable) ofCall(id callapi.CallID, why string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k, r := range t.recs {
		if r.m.CallID == id {
			if r.stopping == "" {
				r.stopping = why
			}
			out = append(out, k)
		}
	}
	return out
}

// mediaChannelTechs are the channel technologies of external media: such
// a channel entering the app is never adopted as a call.
var mediaChannelTechs = []string{"UnicastRTP/", "AudioSocket/", "WebSocket/"}

func isMediaChannel(name string) bool {
	for _, t := range mediaChannelTechs {
		if strings.HasPrefix(name, t) {
			return true
		}
	}
	return false
}

// StartExternalMedia sends the audio of call id of tenant to a.Host and
// plays what comes back into the call.
func (p *PBX) StartExternalMedia(ctx context.Context, tenant string, id callapi.CallID, a callapi.ExternalMediaArgs) (*callapi.ExternalMedia, error) {
	const op = "asterisk.StartExternalMedia"
	a = a.Effective()
	if !p.cfg.ExternalMedia.Allows(tenant, a.Transport, a.Host) {
		return nil, callapi.Errorf(callapi.CodeForbidden, "external media to %s is not allowed for this tenant: the operator lists the allowed destinations (CALLGW_EXTERNAL_MEDIA)", a.Host)
	}
	if a.MediaID == "" {
		a.MediaID = uuid.NewString()
	}
	c, err := p.ctlCall(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	log := p.log.With(zap.String("call_id", string(id)), zap.String("media_id", a.MediaID), zap.String("host", a.Host), zap.String("tenant", tenant))
	r := &extRec{tenant: tenant, ready: make(chan struct{}), m: callapi.ExternalMedia{
		ID: a.MediaID, CallID: id, Node: p.cfg.Node, Host: a.Host, Encapsulation: a.Encapsulation, Transport: a.Transport, Format: a.Format,
	}}
	if !p.extm.add(r) {
		return nil, callapi.Errorf(callapi.CodeConflict, "external media %s already exists", a.MediaID)
	}
	q := url.Values{"app": {p.cfg.App}, "external_host": {a.Host}, "encapsulation": {a.Encapsulation}, "transport": {a.Transport},
		"format": {a.Format}, "channelId": {a.MediaID}, "connection_type": {"client"}, "direction": {"both"}}
	if a.Encapsulation == callapi.EncapAudioSocket {
		// chan_audiosocket sends this UUID first on the connection: the service
		// knows which call it hears.
		u, err := uuid.Parse(a.MediaID)
		if err != nil {
			u = uuid.NewSHA1(uuid.NameSpaceOID, []byte(a.MediaID))
		}
		q.Set("data", u.String())
	}
	var ch ariChannel
	if err := p.rest.do(ctx, http.MethodPost, "/channels/externalMedia", q, nil, &ch); err != nil {
		p.extm.remove(a.MediaID)
		log.Info("external media refused", zap.Error(err))
		if ariStatus(err) == http.StatusNotImplemented {
			return nil, callapi.Wrap(callapi.CodeNotImplemented, op, err, a.Encapsulation+" over "+a.Transport+" is not available on this Asterisk")
		}
		return nil, mapErr(op, err, "external media", "external media "+a.MediaID+" already exists")
	}
	port, _ := strconv.Atoi(ch.Channelvars["UNICASTRTP_LOCAL_PORT"])
	p.extm.set(r, func() { r.m.LocalAddress, r.m.LocalPort = ch.Channelvars["UNICASTRTP_LOCAL_ADDRESS"], port })
	fail := func(err error) (*callapi.ExternalMedia, error) {
		p.extm.set(r, func() { r.stopping = "api" })
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.RequestTimeout)
		defer cancel()
		_ = p.rest.do(dctx, http.MethodDelete, "/channels/"+seg(a.MediaID), nil, nil, nil)
		if r.ownsBr {
			_ = p.DestroyBridge(dctx, tenant, r.m.BridgeID) // only Start writes it
		}
		log.Info("external media not started", zap.Error(err))
		return nil, err
	}
	select {
	case <-r.ready:
	case <-ctx.Done():
		return fail(callapi.Wrap(callapi.CodeTimeout, op, ctx.Err(), "the external media channel did not enter the app in time"))
	}
	br := p.calls.bridgeOf(c)
	if br == "" {
		br = callapi.BridgeID("em-" + a.MediaID)
		if _, err := p.createBridge(ctx, tenant, br, callapi.BridgeCreateArgs{Type: "mixing", Name: "external media " + a.MediaID}); err != nil {
			return fail(err)
		}
		p.extm.set(r, func() { r.m.BridgeID, r.ownsBr = br, true })
		if err := p.AddToBridge(ctx, tenant, br, id); err != nil {
			return fail(err)
		}
	}
	p.extm.set(r, func() { r.m.BridgeID = br })
	if err := p.rest.do(ctx, http.MethodPost, "/bridges/"+seg(string(br))+"/addChannel", url.Values{"channel": {a.MediaID}}, nil, nil); err != nil {
		return fail(bridgeCallErr(op, err, br, callapi.CallID(a.MediaID), true))
	}
	log.Info("external media started", zap.String("bridge_id", string(br)))
	var m callapi.ExternalMedia
	p.extm.set(r, func() { m = r.m })
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindMedia, id: string(id), typ: callapi.EvCallExternalMediaStarted, data: callapi.ExternalMediaData{ExternalMedia: m}})
	return &m, nil
}

// StopExternalMedia hangs up external media mediaID of call id of tenant
// (call.externalmedia.stopped follows), and destroys the bridge made for it.
func (p *PBX) StopExternalMedia(ctx context.Context, tenant string, id callapi.CallID, mediaID string) error {
	const op = "asterisk.StopExternalMedia"
	r := p.extm.get(mediaID)
	if r == nil || r.tenant != tenant || r.m.CallID != id {
		return callapi.Errorf(callapi.CodeNotFound, "external media %s of call %s not found", mediaID, id)
	}
	var owns bool
	var br callapi.BridgeID
	p.extm.set(r, func() { r.stopping, owns, br = "api", r.ownsBr, r.m.BridgeID })
	err := p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(mediaID), nil, nil, nil)
	if err != nil && ariStatus(err) != http.StatusNotFound {
		return mapErr(op, err, "external media "+mediaID, "")
	}
	if owns {
		if err := p.DestroyBridge(ctx, tenant, br); err != nil && callapi.ErrorCode(err) != callapi.CodeNotFound {
			p.log.Info("destroying the bridge of external media failed", zap.String("media_id", mediaID), zap.Error(err))
		}
	}
	return nil
}

// extMediaEvent handles an ARI event about an external media channel: its
// StasisStart readies StartExternalMedia, its end is
// call.externalmedia.stopped. ok is false for events about other channels.
func (p *PBX) extMediaEvent(ev *ariEvent) (evs []*callapi.Event, ok bool) {
	ch, _ := ev.subject()
	r := p.extm.get(ch)
	if r == nil {
		return nil, false
	}
	switch ev.Type {
	case "StasisStart":
		select {
		case <-r.ready:
		default:
			close(r.ready)
		}
	case "StasisEnd", "ChannelDestroyed":
		if p.extm.remove(ch) == nil {
			return nil, true
		}
		var why string
		var m callapi.ExternalMedia
		p.extm.set(r, func() { why, m = r.stopping, r.m })
		if why == "" {
			why = "remote"
		}
		return p.calls.handleMedia(m.CallID, callapi.EvCallExternalMediaStopped, callapi.ExternalMediaData{ExternalMedia: m, Reason: why}), true
	}
	return nil, true
}

// hangupMediaOf hangs up the external media of calls that ended (evs), in
// the background.
func (p *PBX) hangupMediaOf(evs []*callapi.Event) {
	for _, e := range evs {
		if e.Type != callapi.EvCallHangup {
			continue
		}
		for _, id := range p.extm.ofCall(e.CallID, "call") {
			if p.bgWG == nil {
				return
			}
			p.bgWG.Add(1)
			go func() {
				defer p.bgWG.Done()
				ctx, cancel := context.WithTimeout(p.bgCtx, p.cfg.RequestTimeout)
				defer cancel()
				if err := p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(id), nil, nil, nil); err != nil && ariStatus(err) != http.StatusNotFound {
					p.log.Warn("hanging up the external media of an ended call failed", zap.String("media_id", id), zap.Error(err))
				}
			}()
		}
	}
}

// orphanMedia hangs up external media channel id found in the app by a
// re-read when this worker does not know it (it was started before a
// restart): no one could stop it through the API any more, and it would
// outlive its call. In the background.
func (p *PBX) orphanMedia(id string) {
	if p.extm.get(id) != nil || p.bgWG == nil {
		return
	}
	p.log.Info("hanging up external media of before a restart", zap.String("media_id", id))
	p.bgWG.Add(1)
	go func() {
		defer p.bgWG.Done()
		ctx, cancel := context.WithTimeout(p.bgCtx, p.cfg.RequestTimeout)
		defer cancel()
		if err := p.rest.do(ctx, http.MethodDelete, "/channels/"+seg(id), nil, nil, nil); err != nil && ariStatus(err) != http.StatusNotFound {
			p.log.Warn("hanging up orphaned external media failed", zap.String("media_id", id), zap.Error(err))
		}
	}()
}

// extMediaGone ends the external media whose channel a re-read (after a
// reconnect) no longer finds: its StasisEnd was missed while disconnected.
func (p *PBX) extMediaGone(ctx context.Context, live map[string]*ariChannel) {
	p.extm.mu.Lock()
	var gone []*extRec
	for id, r := range p.extm.recs {
		select {
		case <-r.ready:
		default:
			continue // being created
		}
		if live[id] == nil {
			gone = append(gone, r)
			delete(p.extm.recs, id)
		}
	}
	p.extm.mu.Unlock()
	for _, r := range gone {
		d := callapi.ExternalMediaData{ExternalMedia: r.m, Reason: "remote"}
		if r.stopping != "" {
			d.Reason = r.stopping
		}
		p.enqueue(ctx, item{kind: kindMedia, id: string(r.m.CallID), typ: callapi.EvCallExternalMediaStopped, data: d})
	}
}
