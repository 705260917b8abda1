package asterisk

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Playbacks and recordings (callapi.MediaControl).
//
// Tenancy without memory: a playback belongs to the tenant of its target
// (the call or bridge in target_uri, as ARI reports it), so the worker
// keeps no table of playbacks. A recording's name on Asterisk is
// "<tenant>.<name>" (a tenant id contains no dot): stored recordings of
// different tenants never collide, survive worker restarts with their
// tenant, and a tenant lists, reads, plays ("recording:<name>") and deletes
// only its own. Recordings made outside callgw (no tenant prefix) are not
// visible through the CallAPI.

var _ callapi.MediaControl = (*PBX)(nil)

// ariRecordingName is the name on Asterisk of tenant's recording name.
func ariRecordingName(tenant, name string) string { return tenant + "." + name }

// userRecordingName is the CallAPI name of a recording of tenant.
func userRecordingName(tenant, ariName string) string {
	return strings.TrimPrefix(ariName, tenant+".")
}

// ariMediaList rewrites recording: media URIs to tenant's recordings.
func ariMediaList(tenant string, media []string) []string {
	out := make([]string, len(media))
	for i, m := range media {
		if name, ok := strings.CutPrefix(m, "recording:"); ok {
			m = "recording:" + ariRecordingName(tenant, name)
		}
		out[i] = m
	}
	return out
}

// userMedia is the CallAPI form of a media URI of tenant.
func userMedia(tenant, uri string) string {
	if name, ok := strings.CutPrefix(uri, "recording:"); ok {
		return "recording:" + userRecordingName(tenant, name)
	}
	return uri
}

func asARIError(err error, e **ariError) bool { return errors.As(err, e) }

func asGatewayError(err error, e **callapi.Error) bool { return errors.As(err, e) }

// targetID is the id of a "channel:<id>" or "bridge:<id>" target.
func targetID(uri string) string {
	_, id, _ := strings.Cut(uri, ":")
	return id
}

// playback converts an ARI playback of tenant.
func (p *PBX) playback(tenant string, pb *ariPlayback) *callapi.Playback {
	return &callapi.Playback{ID: pb.ID, Node: p.cfg.Node, Media: userMedia(tenant, pb.MediaURI), State: pb.State, TargetID: targetID(pb.TargetURI)}
}

// recording converts an ARI live recording of tenant.
func (p *PBX) recording(tenant string, r *ariRecording) *callapi.Recording {
	out := &callapi.Recording{Name: userRecordingName(tenant, r.Name), Node: p.cfg.Node, Format: r.Format, State: r.State, TargetID: targetID(r.TargetURI)}
	if r.Duration != nil {
		out.DurationSeconds = *r.Duration
	}
	return out
}

// ownsTarget reports whether a playback's or recording's target is a call
// or a bridge of tenant on this worker.
func (p *PBX) ownsTarget(tenant, uri string) bool {
	ch, br := splitTarget(uri)
	switch {
	case ch != "":
		return p.calls.get(tenant, callapi.CallID(ch)) != nil
	case br != "":
		return p.bridges.get(tenant, callapi.BridgeID(br)) != nil
	}
	return false
}

// Playback returns a playback of tenant (queued or playing: a finished
// playback is gone).
func (p *PBX) Playback(ctx context.Context, tenant, id string) (*callapi.Playback, error) {
	const op = "asterisk.Playback"
	var pb ariPlayback
	if err := p.rest.do(ctx, http.MethodGet, "/playbacks/"+seg(id), nil, nil, &pb); err != nil {
		return nil, mapErr(op, err, "playback "+id, "")
	}
	if !p.ownsTarget(tenant, pb.TargetURI) {
		return nil, callapi.Errorf(callapi.CodeNotFound, "playback %s not found", id)
	}
	return p.playback(tenant, &pb), nil
}

// StopPlayback stops a playback of tenant (call.playback.finished follows).
func (p *PBX) StopPlayback(ctx context.Context, tenant, id string) error {
	if _, err := p.Playback(ctx, tenant, id); err != nil {
		return err
	}
	err := p.rest.do(ctx, http.MethodDelete, "/playbacks/"+seg(id), nil, nil, nil)
	if err != nil {
		p.log.Info("stopping playback failed", zap.String("playback_id", id), zap.Error(err))
	}
	return mapErr("asterisk.StopPlayback", err, "playback "+id, "")
}

// LiveRecording returns a recording of tenant in progress.
func (p *PBX) LiveRecording(ctx context.Context, tenant, name string) (*callapi.Recording, error) {
	var r ariRecording
	if err := p.rest.do(ctx, http.MethodGet, "/recordings/live/"+seg(ariRecordingName(tenant, name)), nil, nil, &r); err != nil {
		return nil, mapErr("asterisk.LiveRecording", err, "recording "+name, "")
	}
	return p.recording(tenant, &r), nil
}

// StopRecording stops a recording of tenant and keeps the file
// (call.recording.finished follows).
func (p *PBX) StopRecording(ctx context.Context, tenant, name string) error {
	err := p.rest.do(ctx, http.MethodPost, "/recordings/live/"+seg(ariRecordingName(tenant, name))+"/stop", nil, nil, nil)
	if err != nil {
		p.log.Info("stopping recording failed", zap.String("recording", name), zap.String("tenant", tenant), zap.Error(err))
	}
	return mapErr("asterisk.StopRecording", err, "recording "+name, "recording "+name+" is not in progress")
}

// ariStored is ARI's StoredRecording.
type ariStored struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// StoredRecordings lists the stored recordings of tenant, by name.
func (p *PBX) StoredRecordings(ctx context.Context, tenant string) ([]*callapi.Recording, error) {
	var all []ariStored
	if err := p.rest.do(ctx, http.MethodGet, "/recordings/stored", nil, nil, &all); err != nil {
		return nil, mapErr("asterisk.StoredRecordings", err, "stored recordings", "")
	}
	out := []*callapi.Recording{}
	for _, r := range all {
		if name, ok := strings.CutPrefix(r.Name, tenant+"."); ok && name != "" {
			out = append(out, &callapi.Recording{Name: name, Node: p.cfg.Node, Format: r.Format})
		}
	}
	slices.SortFunc(out, func(a, b *callapi.Recording) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// StoredRecording returns a stored recording of tenant.
func (p *PBX) StoredRecording(ctx context.Context, tenant, name string) (*callapi.Recording, error) {
	var r ariStored
	if err := p.rest.do(ctx, http.MethodGet, "/recordings/stored/"+seg(ariRecordingName(tenant, name)), nil, nil, &r); err != nil {
		return nil, mapErr("asterisk.StoredRecording", err, "stored recording "+name, "")
	}
	return &callapi.Recording{Name: name, Node: p.cfg.Node, Format: r.Format}, nil
}

// DeleteStoredRecording deletes a stored recording of tenant.
func (p *PBX) DeleteStoredRecording(ctx context.Context, tenant, name string) error {
	err := p.rest.do(ctx, http.MethodDelete, "/recordings/stored/"+seg(ariRecordingName(tenant, name)), nil, nil, nil)
	if err == nil {
		p.log.Info("stored recording deleted", zap.String("recording", name), zap.String("tenant", tenant))
	}
	return mapErr("asterisk.DeleteStoredRecording", err, "stored recording "+name, "")
}
