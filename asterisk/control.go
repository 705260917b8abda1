package asterisk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// The call operations of the CallAPI beyond the lifecycle (callapi.CallControl).
// Each one is scoped by tenant like Call/Hangup (another tenant's call is
// not_found, without asking Asterisk) and is one ARI request on a channel
// in the Stasis app; ARI's 409/412 become callapi.CodeConflict (ctlErr).

var _ callapi.CallControl = (*PBX)(nil)

// ctlCall returns the live call id of tenant, or callapi.CodeNotFound (findCall).
func (p *PBX) ctlCall(ctx context.Context, tenant string, id callapi.CallID) (*call, error) {
	return p.findCall(ctx, "asterisk.control", tenant, id)
}

// chanOp runs one ARI request on the channel of a call of tenant: method on
// /channels/{id}<sub>. A 404 (the channel vanished) makes the call's event
// worker check whether it ended.
func (p *PBX) chanOp(ctx context.Context, op, tenant string, id callapi.CallID, method, sub string, q url.Values, body, out any) error {
	if _, err := p.ctlCall(ctx, tenant, id); err != nil {
		return err
	}
	err := p.rest.do(ctx, method, "/channels/"+seg(string(id))+sub, q, body, out)
	if err == nil {
		p.log.Debug("call operation done", zap.String("op", op), zap.String("call_id", string(id)))
		return nil
	}
	if ariStatus(err) == http.StatusNotFound {
		p.verify(ctx, id)
	}
	p.log.Info("call operation failed", zap.String("op", op), zap.String("call_id", string(id)),
		zap.String("tenant", tenant), zap.Error(err))
	return ctlErr(op, err, "call "+string(id), notInStasis)
}

// onOff picks POST (on) or DELETE (off).
func onOff(on bool) string {
	if on {
		return http.MethodPost
	}
	return http.MethodDelete
}

// Answer answers a call that is ringing in the app.
func (p *PBX) Answer(ctx context.Context, tenant string, id callapi.CallID) error {
	return p.chanOp(ctx, "asterisk.Answer", tenant, id, http.MethodPost, "/answer", nil, nil, nil)
}

// Ring indicates ringing to the caller (on) or stops it.
func (p *PBX) Ring(ctx context.Context, tenant string, id callapi.CallID, on bool) error {
	return p.chanOp(ctx, "asterisk.Ring", tenant, id, onOff(on), "/ring", nil, nil, nil)
}

// Hold puts a call on hold (on) or takes it off. Asterisk raises no
// ChannelHold for its own hold (without moh_passthrough it plays music on
// hold locally), so callgw announces the change itself: call.hold /
// call.unhold with source "api", through the call's event worker, in order
// with its other events.
func (p *PBX) Hold(ctx context.Context, tenant string, id callapi.CallID, on bool) error {
	if err := p.chanOp(ctx, "asterisk.Hold", tenant, id, onOff(on), "/hold", nil, nil, nil); err != nil {
		return err
	}
	p.enqueue(context.WithoutCancel(ctx), item{kind: kindHold, id: string(id), on: on})
	return nil
}

// Mute mutes (on) or unmutes the audio of a call in direction in, out or both.
// An empty direction is left to ARI, whose default is both.
func (p *PBX) Mute(ctx context.Context, tenant string, id callapi.CallID, direction string, on bool) error {
	q := url.Values{}
	if direction != "" {
		q.Set("direction", direction)
	}
	return p.chanOp(ctx, "asterisk.Mute", tenant, id, onOff(on), "/mute", q, nil, nil)
}

// Default DTMF timing: Asterisk's own defaults (channels.json: between 100,
// duration 100). ari/v5's Channel.SendDTMF sends zero for options left
// unset, which Asterisk takes literally (no gap, minimum-length digits);
// callgw always sends the values it means.
const (
	dtmfBetweenMS  = 100
	dtmfDurationMS = 100
)

// SendDTMF sends digits to a call.
func (p *PBX) SendDTMF(ctx context.Context, tenant string, id callapi.CallID, a callapi.DTMFArgs) error {
	if a.BetweenMS == 0 {
		a.BetweenMS = dtmfBetweenMS
	}
	if a.DurationMS == 0 {
		a.DurationMS = dtmfDurationMS
	}
	q := url.Values{"dtmf": {a.Digits}, "between": {strconv.Itoa(a.BetweenMS)}, "duration": {strconv.Itoa(a.DurationMS)}}
	return p.chanOp(ctx, "asterisk.SendDTMF", tenant, id, http.MethodPost, "/dtmf", q, nil, nil)
}

// playBody is the JSON body of a play request: "media" as a JSON array, so
// that a media URI may contain a comma (Asterisk splits a query value on
// commas, and keeps only the last of repeated query parameters).
type playBody struct {
	Media []string `json:"media"`
	Lang  string   `json:"lang,omitempty"`
}

// Play plays one or several media on a call; the playback's id is the one
// the gateway chose (callapi.PlayArgs requires it).
func (p *PBX) Play(ctx context.Context, tenant string, id callapi.CallID, a callapi.PlayArgs) (*callapi.Playback, error) {
	var pb ariPlayback
	body := playBody{Media: ariMediaList(tenant, a.Media), Lang: a.Lang}
	if err := p.chanOp(ctx, "asterisk.Play", tenant, id, http.MethodPost, "/play/"+seg(a.PlaybackID), nil, body, &pb); err != nil {
		return nil, err
	}
	return p.playback(tenant, &pb), nil
}

// Record records a call into the stored recording a.Name of tenant.
func (p *PBX) Record(ctx context.Context, tenant string, id callapi.CallID, a callapi.RecordArgs) (*callapi.Recording, error) {
	var rec ariRecording
	if err := p.chanOp(ctx, "asterisk.Record", tenant, id, http.MethodPost, "/record", recordQuery(tenant, a), nil, &rec); err != nil {
		return nil, unprefixed(err, tenant, a.Name)
	}
	return p.recording(tenant, &rec), nil
}

// unprefixed rewrites Asterisk's name of a recording ("<tenant>.<name>")
// in the caller-safe message of err to the CallAPI's name.
func unprefixed(err error, tenant, name string) error {
	var e *callapi.Error
	if asGatewayError(err, &e) {
		e.Msg = strings.ReplaceAll(e.Msg, ariRecordingName(tenant, name), name)
	}
	return err
}

// recordQuery is the query of POST /channels|bridges/{id}/record, with every
// option spelled out (Asterisk's defaults: format is required, ifExists
// fail, terminateOn none).
func recordQuery(tenant string, a callapi.RecordArgs) url.Values {
	q := url.Values{
		"name":        {ariRecordingName(tenant, a.Name)},
		"format":      {or(a.Format, "wav")},
		"ifExists":    {or(a.IfExists, "fail")},
		"terminateOn": {or(a.TerminateOn, "none")},
		"beep":        {strconv.FormatBool(a.Beep)},
	}
	if a.MaxDurationSeconds > 0 {
		q.Set("maxDurationSeconds", strconv.Itoa(a.MaxDurationSeconds))
	}
	if a.MaxSilenceSeconds > 0 {
		q.Set("maxSilenceSeconds", strconv.Itoa(a.MaxSilenceSeconds))
	}
	return q
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Redirect transfers a call blindly to endpoint (same technology as the
// call's channel). Asterisk answers a redirect of a Local channel with 204
// and does nothing ("Unsupported transfer requested",
// shared/ari-recordings/README.md).
// A PJSIP endpoint comes checked to be a SIP URI (callapi.RedirectArgs).
func (p *PBX) Redirect(ctx context.Context, tenant string, id callapi.CallID, endpoint string) error {
	return p.chanOp(ctx, "asterisk.Redirect", tenant, id, http.MethodPost, "/redirect", url.Values{"endpoint": {endpoint}}, nil, nil)
}

// Continue hands a call back to the dialplan (at the given place, or where
// it was). It leaves the Stasis app, and callgw's control: call.hangup with
// reason left_stasis follows.
func (p *PBX) Continue(ctx context.Context, tenant string, id callapi.CallID, a callapi.ContinueArgs) error {
	q := url.Values{}
	for k, v := range map[string]string{"context": a.Context, "extension": a.Extension, "label": a.Label} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if a.Priority > 0 {
		q.Set("priority", strconv.Itoa(a.Priority))
	}
	return p.chanOp(ctx, "asterisk.Continue", tenant, id, http.MethodPost, "/continue", q, nil, nil)
}

// Snoop creates a new call, id a.SnoopID, that listens to (spy) and/or
// speaks into (whisper) call id. The snoop channel enters the Stasis app
// and is a call of the same tenant, with the snooped call's tags, and its
// own events (call.created, call.answered, …, call.hangup).
func (p *PBX) Snoop(ctx context.Context, tenant string, id callapi.CallID, a callapi.SnoopArgs) (*callapi.Call, error) {
	const op = "asterisk.Snoop"
	target, err := p.ctlCall(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	tags := p.calls.tagsOf(target)
	sid := a.SnoopID
	log := p.log.With(zap.String("call_id", string(sid)), zap.String("snooped", string(id)), zap.String("tenant", tenant))
	c := &call{
		id: sid, tenant: tenant, tags: tags, dir: callapi.Outbound, to: "Snoop/" + string(id),
		state: callapi.StateDown, createdAt: time.Now(), pending: true,
	}
	if !p.calls.register(c) {
		return nil, callapi.Errorf(callapi.CodeConflict, "call %s already exists", sid)
	}
	q := url.Values{"spy": {or(a.Spy, "both")}, "whisper": {or(a.Whisper, "none")}, "app": {p.cfg.App}, "snoopId": {string(sid)}}
	var ch ariChannel
	err = p.rest.do(ctx, http.MethodPost, "/channels/"+seg(string(id))+"/snoop", q, nil, &ch)
	if err != nil {
		if st := ariStatus(err); st != 0 {
			// Asterisk answered: nothing was created (500 "Snoop channel
			// could not be created" also when the snoop id is another
			// channel's, which must not be hung up).
			p.calls.forget(sid)
			if st == http.StatusNotFound {
				p.verify(ctx, id)
			}
			log.Info("snoop failed", zap.Error(err))
			return nil, ctlErr(op, err, "call "+string(id), notInStasis)
		}
		// No answer: a snoop channel may exist. Hang it up.
		log.Warn("snoop failed, cleaning up", zap.Error(err))
		p.cleanup(ctx, c)
		return nil, mapErr(op, err, "call "+string(id), notInStasis)
	}
	p.calls.settle(c, ch.Name)
	// Best effort: what a restarted worker needs to adopt the snoop channel
	// with its tenant and tags (as on originated channels).
	vars := [][2]string{{VarTenant, tenant}, {VarDirection, string(callapi.Outbound)}}
	if len(tags) > 0 {
		vars = append(vars, [2]string{VarTags, strings.Join(tags, ",")})
	}
	// Asterisk puts the snoop channel into Stasis on a thread of its own,
	// after answering: until then setting a variable answers 409.
	for _, kv := range vars {
		q := url.Values{"variable": {kv[0]}, "value": {kv[1]}}
		err := p.rest.do(ctx, http.MethodPost, "/channels/"+seg(string(sid))+"/variable", q, nil, nil)
		for try := 1; ariStatus(err) == http.StatusConflict && try < 10 && retry.Sleep(ctx, 20*time.Millisecond); try++ {
			err = p.rest.do(ctx, http.MethodPost, "/channels/"+seg(string(sid))+"/variable", q, nil, nil)
		}
		if err != nil {
			log.Warn("setting a variable on the snoop channel failed", zap.String("variable", kv[0]), zap.Error(err))
			break
		}
	}
	log.Debug("snooping", zap.String("channel", ch.Name))
	return publicCall(p.calls.snapshot(c)), nil
}

// Variable reads a channel variable (or dialplan function) of a call.
func (p *PBX) Variable(ctx context.Context, tenant string, id callapi.CallID, name string) (string, error) {
	var out struct {
		Value string `json:"value"`
	}
	err := p.chanOp(ctx, "asterisk.Variable", tenant, id, http.MethodGet, "/variable", url.Values{"variable": {name}}, nil, &out)
	var e *ariError
	if callapi.ErrorCode(err) == callapi.CodeNotFound && asARIError(err, &e) && strings.Contains(strings.ToLower(e.Message), "variable") {
		// "Provided variable was not found": the call is there, the
		// variable is not set.
		return "", callapi.Wrap(callapi.CodeNotFound, "asterisk.Variable", err, "variable "+name+" is not set on call "+string(id))
	}
	return out.Value, err
}

// SetVariable sets a channel variable of a call. The name and value come
// checked by the executor (callapi.Spec.Validate): callgw's own variables
// (CALLGW_*, which carry the call's tenant) never reach here.
func (p *PBX) SetVariable(ctx context.Context, tenant string, id callapi.CallID, name, value string) error {
	q := url.Values{"variable": {name}, "value": {value}}
	return p.chanOp(ctx, "asterisk.SetVariable", tenant, id, http.MethodPost, "/variable", q, nil, nil)
}

// MOH starts music on hold (class "" = the channel's default) or stops it.
func (p *PBX) MOH(ctx context.Context, tenant string, id callapi.CallID, on bool, class string) error {
	var q url.Values
	if on && class != "" {
		q = url.Values{"mohClass": {class}}
	}
	return p.chanOp(ctx, "asterisk.MOH", tenant, id, onOff(on), "/moh", q, nil, nil)
}
