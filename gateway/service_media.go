package gateway

import (
	"context"
	"github.com/callgw/callgw/callapi"
	"strings"
)

// The playback and recording side of Service.

// PlaybackAction gets (ActPlaybackGet) or stops (ActPlaybackStop) a playback.
func (s *Service) PlaybackAction(ctx context.Context, o Options, id string, a callapi.Action, out any) error {
	if !callapi.ValidID(id) {
		return callapi.Invalid("id", "%q is not a valid playback id", id)
	}
	if err := onResource(a, "playback"); err != nil {
		return err
	}
	_, err := s.routed(ctx, o, playbackRes(o.Tenant, id), a, nil, out)
	return err
}

// RecordingAction gets (ActRecordingGet) or stops (ActRecordingStop) a
// live recording.
func (s *Service) RecordingAction(ctx context.Context, o Options, name string, a callapi.Action, out any) error {
	if !callapi.ValidID(name) {
		return callapi.Invalid("name", "%q is not a valid recording name", name)
	}
	if err := onResource(a, "recording"); err != nil {
		return err
	}
	_, err := s.routed(ctx, o, recordingRes(o.Tenant, name), a, nil, out)
	return err
}

// StoredRecordings lists the stored recordings of every live node.
func (s *Service) StoredRecordings(ctx context.Context, o Options) ([]*callapi.Recording, []callapi.NodeID, error) {
	out := []*callapi.Recording{}
	missing, err := s.gatherAll(ctx, o, callapi.ActStoredList, nil, func(r *callapi.Reply) error {
		var l callapi.RecordingList
		if err := r.Decode(&l); err != nil {
			return err
		}
		out = append(out, l.Recordings...)
		return nil
	})
	return out, missing, err
}

// StoredRecording gets (ActStoredGet) or deletes (ActStoredDelete) a stored
// recording, on whichever node has it.
func (s *Service) StoredRecording(ctx context.Context, o Options, name string, a callapi.Action, out any) error {
	if !callapi.ValidID(name) {
		return callapi.Invalid("name", "%q is not a valid recording name", name)
	}
	if err := onResource(a, "recording.stored"); err != nil {
		return err
	}
	r := resource{storedKey(o.Tenant, name), callapi.ActStoredGet, func(c *callapi.Command) { c.ResourceID = name }, "stored recording " + name}
	_, err := s.routed(ctx, o, r, a, nil, out)
	return err
}

// onResource checks that a is an action on an existing playback or
// recording whose actions start with prefix.
func onResource(a callapi.Action, prefix string) error {
	spec, ok := callapi.SpecOf(a)
	if !ok || !spec.NeedsExisting(callapi.IDResource) || !strings.HasPrefix(string(a), prefix+".") ||
		(prefix == "recording" && strings.HasPrefix(string(a), "recording.stored.")) {
		return callapi.Invalid("action", "%s is not an action on an existing %s", a, prefix)
	}
	return nil
}
