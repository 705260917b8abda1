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
