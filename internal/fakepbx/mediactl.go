package fakepbx

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

var _ callapi.MediaOps = (*Full)(nil)

func (p *Full) ControlPlayback(_ context.Context, _, id, _ string) (*callapi.Playback, error) {
	p.note("ControlPlayback")
	return &callapi.Playback{ID: id}, nil
}

func (p *Full) ControlRecording(_ context.Context, _, name, _ string) (*callapi.Recording, error) {
	p.note("ControlRecording")
	return &callapi.Recording{Name: name}, nil
}

var _ callapi.ExternalMediaControl = (*Full)(nil)

func (p *Full) StartExternalMedia(_ context.Context, _ string, id callapi.CallID, a callapi.ExternalMediaArgs) (*callapi.ExternalMedia, error) {
	p.note("StartExternalMedia")
	e := a.Effective()
	return &callapi.ExternalMedia{ID: a.MediaID, CallID: id, Host: a.Host, Encapsulation: e.Encapsulation, Transport: e.Transport, Format: e.Format}, nil
}

func (p *Full) StopExternalMedia(context.Context, string, callapi.CallID, string) error {
	p.note("StopExternalMedia")
	return nil
}
