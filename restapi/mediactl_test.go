package restapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// mediaPBX has playback "mine" and recording "mine" of the default tenant,
// "paused" refuses a forward as Asterisk does (409); everything else is
// another tenant's (not_found), as asterisk.PBX answers.
type mediaPBX struct{ *fakepbx.Full }

func (p mediaPBX) Playback(_ context.Context, tenant, id string) (*callapi.Playback, error) {
	if tenant != callapi.DefaultTenant || (id != "mine" && id != "paused") {
		return nil, callapi.Errorf(callapi.CodeNotFound, "playback %s not found", id)
	}
	return &callapi.Playback{ID: id, State: "playing"}, nil
}

func (p mediaPBX) LiveRecording(_ context.Context, tenant, name string) (*callapi.Recording, error) {
	if tenant != callapi.DefaultTenant || name != "mine" {
		return nil, callapi.Errorf(callapi.CodeNotFound, "recording %s not found", name)
	}
	return &callapi.Recording{Name: name, State: "recording"}, nil
}

func (p mediaPBX) ControlPlayback(ctx context.Context, tenant, id, op string) (*callapi.Playback, error) {
	pb, err := p.Playback(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if id == "paused" && op != callapi.PlaybackUnpause {
		return nil, callapi.Errorf(callapi.CodeConflict, "playback paused: Can only %s while media is playing", op)
	}
	pb.State = op
	return pb, nil
}

func (p mediaPBX) ControlRecording(ctx context.Context, tenant, name, op string) (*callapi.Recording, error) {
	r, err := p.LiveRecording(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	r.State = op
	return r, nil
}

// TestMediaControlRoutes: POST /v1/playbacks/{id}/control and the four
// recording routes through the service and a real executor: the operation
// reaches the PBX (the recording's from its route), bad input is 400
// naming the field, another tenant's playback or recording 404, a state
// that refuses the operation 409.
func TestMediaControlRoutes(t *testing.T) {
	x := &worker.Executor{Node: "pbx1", PBX: mediaPBX{fakepbx.NewFull()}}
	bus := &fakeBus{
		RequestFn: func(_ context.Context, _ callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
			return x.Handle(context.Background(), cmd), nil
		},
		GatherFn: func(_ context.Context, cmd *callapi.Command, _ []callapi.NodeID) ([]*callapi.Reply, error) {
			return []*callapi.Reply{x.Handle(context.Background(), cmd)}, nil
		},
	}
	h := serviceServer(t, bus, Config{})
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, field, state string
	}{
		{"POST", "/v1/playbacks/mine/control", `{"operation":"pause"}`, 200, "", "", "pause"},
		{"POST", "/v1/playbacks/mine/control", `{"operation":"reverse"}`, 200, "", "", "reverse"},
		{"POST", "/v1/playbacks/mine/control", `{"operation":"rewind"}`, 400, "invalid_argument", "operation", ""},
		{"POST", "/v1/playbacks/mine/control", `{}`, 400, "invalid_argument", "operation", ""},
		{"POST", "/v1/playbacks/mine/control", ``, 400, "invalid_argument", "", ""},
		{"POST", "/v1/playbacks/mine/control", `{"operation":"pause","x":1}`, 400, "invalid_argument", "", ""},
		{"POST", "/v1/playbacks/a%20b/control", `{"operation":"pause"}`, 400, "invalid_argument", "id", ""},
		{"POST", "/v1/playbacks/theirs/control", `{"operation":"pause"}`, 404, "not_found", "", ""},
		{"POST", "/v1/playbacks/paused/control", `{"operation":"forward"}`, 409, "conflict", "", ""},
		{"POST", "/v1/recordings/live/mine/pause", ``, 200, "", "", "pause"},
		{"DELETE", "/v1/recordings/live/mine/pause", ``, 200, "", "", "unpause"},
		{"POST", "/v1/recordings/live/mine/mute", `{}`, 200, "", "", "mute"},
		{"DELETE", "/v1/recordings/live/mine/mute", ``, 200, "", "", "unmute"},
		{"POST", "/v1/recordings/live/mine/mute", `{"operation":"pause"}`, 400, "invalid_argument", "", ""},
		{"POST", "/v1/recordings/live/theirs/pause", ``, 404, "not_found", "", ""},
		{"DELETE", "/v1/recordings/live/a%20b/mute", ``, 400, "invalid_argument", "name", ""},
	} {
		rec := do(t, h.Handler(), tc.method, tc.path, tc.body)
		if rec.Code != tc.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.method, tc.path, tc.body, rec.Code, tc.status, rec.Body)
			continue
		}
		if tc.code == "" {
			var v struct{ State string }
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.State != tc.state {
				t.Errorf("%s %s: %s, want state %s", tc.method, tc.path, rec.Body, tc.state)
			}
			continue
		}
		var p struct{ Code, Field string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || p.Code != tc.code || (tc.field != "" && p.Field != tc.field) {
			t.Errorf("%s %s %s: %s %s, want code %s field %s", tc.method, tc.path, tc.body, ct, rec.Body, tc.code, tc.field)
		}
	}
}
