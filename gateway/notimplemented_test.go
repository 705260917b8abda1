package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// bridgePBX implements every port and holds one bridge.
type bridgePBX struct {
	*fakepbx.Full
	node callapi.NodeID
	id   callapi.BridgeID
}

func (p *bridgePBX) Bridge(_ context.Context, _ string, id callapi.BridgeID) (*callapi.Bridge, error) {
	if id != p.id {
		return nil, callapi.Errorf(callapi.CodeNotFound, "bridge %s not found", id)
	}
	return &callapi.Bridge{ID: id, Node: p.node}, nil
}

func (p *bridgePBX) Bridges(context.Context, string) ([]*callapi.Bridge, error) {
	return []*callapi.Bridge{{ID: p.id, Node: p.node}}, nil
}

// TestNotImplementedByEveryNode: an action on an existing bridge, playback
// or recording, and a listing, answer not_implemented when every node
// answered so; a node that answered not_implemented holds nothing, so a
// listing does not name it missing; one node that may implement the action
// (it answered, did not, or is silent) keeps the usual answers.
func TestNotImplementedByEveryNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	core := func(n callapi.NodeID) *worker.Executor {
		return &worker.Executor{Node: n, PBX: fakepbx.NewBasic()}
	}
	full := func(n callapi.NodeID) *worker.Executor {
		return &worker.Executor{Node: n, PBX: &bridgePBX{Full: fakepbx.NewFull(), node: n, id: "b2"}}
	}
	type cluster struct {
		execs  map[callapi.NodeID]*worker.Executor
		silent []callapi.NodeID // beat once, an hour ago
	}
	service := func(c cluster) *Service {
		reg := NewRegistry()
		now := time.Now()
		for n := range c.execs {
			reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, now)
		}
		for _, n := range c.silent {
			reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, now.Add(-time.Hour))
		}
		return NewService(&loopBus{nodes: c.execs}, reg, NewLocations(0))
	}

	t.Run("every node lacks the port", func(t *testing.T) {
		s := service(cluster{execs: map[callapi.NodeID]*worker.Executor{"pbx1": core("pbx1"), "pbx2": core("pbx2")}})
		o := Options{Tenant: "acme"}
		var b callapi.Bridge
		if _, err := s.BridgeAction(ctx, o, "b2", callapi.ActBridgeGet, nil, &b); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("bridge.get: %v, want not_implemented", err)
		}
		if _, err := s.BridgeAction(ctx, o, "b2", callapi.ActBridgeAdd, &callapi.BridgeCallArgs{CallID: "c1"}, nil); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("bridge.add: %v, want not_implemented", err)
		}
		if err := s.PlaybackAction(ctx, o, "p1", callapi.ActPlaybackStop, nil); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("playback.stop: %v, want not_implemented", err)
		}
		if err := s.RecordingAction(ctx, o, "r1", callapi.ActRecordingGet, &callapi.Recording{}); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("recording.get: %v, want not_implemented", err)
		}
		if err := s.StoredRecording(ctx, o, "r1", callapi.ActStoredDelete, nil); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("recording.stored.delete: %v, want not_implemented", err)
		}
		if l, missing, err := s.Bridges(ctx, o); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("bridge.list: %v %v %v, want not_implemented", l, missing, err)
		}
		if l, missing, err := s.StoredRecordings(ctx, o); callapi.ErrorCode(err) != callapi.CodeNotImplemented {
			t.Errorf("recording.stored.list: %v %v %v, want not_implemented", l, missing, err)
		}
	})

	t.Run("one node has it", func(t *testing.T) {
		s := service(cluster{execs: map[callapi.NodeID]*worker.Executor{"pbx1": core("pbx1"), "pbx2": full("pbx2")}})
		o := Options{Tenant: "acme"}
		var b callapi.Bridge
		if _, err := s.BridgeAction(ctx, o, "b2", callapi.ActBridgeGet, nil, &b); err != nil || b.Node != "pbx2" {
			t.Errorf("bridge.get: %+v %v, want pbx2's bridge", b, err)
		}
		if _, err := s.BridgeAction(ctx, o, "b9", callapi.ActBridgeGet, nil, &b); callapi.ErrorCode(err) != callapi.CodeNotFound {
			t.Errorf("bridge.get of an unknown bridge: %v, want not_found", err)
		}
		l, missing, err := s.Bridges(ctx, o)
		if err != nil || len(l) != 1 || len(missing) != 0 {
			t.Errorf("bridge.list: %v missing %v %v, want pbx2's bridge and no node missing", l, missing, err)
		}
	})

	t.Run("a node did not answer", func(t *testing.T) {
		s := service(cluster{execs: map[callapi.NodeID]*worker.Executor{"pbx1": core("pbx1")}})
		s.Nodes.Observe(callapi.Heartbeat{Node: "pbx2", State: callapi.NodeUp, Healthy: true, IntervalMS: 1000}, time.Now())
		o := Options{Tenant: "acme"}
		if _, err := s.BridgeAction(ctx, o, "b2", callapi.ActBridgeGet, nil, &callapi.Bridge{}); callapi.ErrorCode(err) != callapi.CodeNotFound {
			t.Errorf("bridge.get: %v, want not_found", err)
		}
		if l, missing, err := s.Bridges(ctx, o); err != nil || len(l) != 0 || len(missing) != 1 || missing[0] != "pbx2" {
			t.Errorf("bridge.list: %v missing %v %v, want none with pbx2 missing", l, missing, err)
		}
	})

	t.Run("a node is silent", func(t *testing.T) {
		s := service(cluster{execs: map[callapi.NodeID]*worker.Executor{"pbx1": core("pbx1")}, silent: []callapi.NodeID{"pbx2"}})
		if l, missing, err := s.Bridges(ctx, Options{Tenant: "acme"}); err != nil || len(l) != 0 || len(missing) != 1 || missing[0] != "pbx2" {
			t.Errorf("bridge.list: %v missing %v %v, want none with pbx2 missing", l, missing, err)
		}
	})
}
