package gateway

import (
	"context"
	"testing"
	"time"
)

// bridgePBX implements every port and holds one bridge.
type bridgePBX struct {
	*fullPBX
	node NodeID
	id   BridgeID
}

func (p *bridgePBX) Bridge(_ context.Context, _ string, id BridgeID) (*Bridge, error) {
	if id != p.id {
		return nil, Errorf(ENotFound, "bridge %s not found", id)
	}
	return &Bridge{ID: id, Node: p.node}, nil
}

func (p *bridgePBX) Bridges(context.Context, string) ([]*Bridge, error) {
	return []*Bridge{{ID: p.id, Node: p.node}}, nil
}

// TestNotImplementedByEveryNode: an action on an existing bridge, playback
// or recording, and a listing, answer not_implemented when every node
// answered so; a node that answered not_implemented holds nothing, so a
// listing does not name it missing; one node that may implement the action
// (it answered, did not, or is silent) keeps the usual answers.
func TestNotImplementedByEveryNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	core := func(n NodeID) *Executor { return &Executor{Node: n, PBX: &fakePBX{calls: map[CallID]*Call{}}} }
	full := func(n NodeID) *Executor {
		return &Executor{Node: n, PBX: &bridgePBX{fullPBX: &fullPBX{fakePBX: &fakePBX{calls: map[CallID]*Call{}}}, node: n, id: "b2"}}
	}
	type cluster struct {
		execs  map[NodeID]*Executor
		silent []NodeID // beat once, an hour ago
	}
	service := func(c cluster) *Service {
		reg := NewRegistry()
		now := time.Now()
		for n := range c.execs {
			reg.Observe(Heartbeat{Node: n, State: NodeUp, Healthy: true, IntervalMS: 1000}, now)
		}
		for _, n := range c.silent {
			reg.Observe(Heartbeat{Node: n, State: NodeUp, Healthy: true, IntervalMS: 1000}, now.Add(-time.Hour))
		}
		return NewService(&loopBus{nodes: c.execs}, reg, NewLocations(0))
	}

	t.Run("every node lacks the port", func(t *testing.T) {
		s := service(cluster{execs: map[NodeID]*Executor{"pbx1": core("pbx1"), "pbx2": core("pbx2")}})
		o := Options{Tenant: "acme"}
		var b Bridge
		if _, err := s.BridgeAction(ctx, o, "b2", ActBridgeGet, nil, &b); ErrorCode(err) != ENotImplemented {
			t.Errorf("bridge.get: %v, want not_implemented", err)
		}
		if _, err := s.BridgeAction(ctx, o, "b2", ActBridgeAdd, &BridgeCallArgs{CallID: "c1"}, nil); ErrorCode(err) != ENotImplemented {
			t.Errorf("bridge.add: %v, want not_implemented", err)
		}
		if err := s.PlaybackAction(ctx, o, "p1", ActPlaybackStop, nil); ErrorCode(err) != ENotImplemented {
			t.Errorf("playback.stop: %v, want not_implemented", err)
		}
		if err := s.RecordingAction(ctx, o, "r1", ActRecordingGet, &Recording{}); ErrorCode(err) != ENotImplemented {
			t.Errorf("recording.get: %v, want not_implemented", err)
		}
		if err := s.StoredRecording(ctx, o, "r1", ActStoredDelete, nil); ErrorCode(err) != ENotImplemented {
			t.Errorf("recording.stored.delete: %v, want not_implemented", err)
		}
		if l, missing, err := s.Bridges(ctx, o); ErrorCode(err) != ENotImplemented {
			t.Errorf("bridge.list: %v %v %v, want not_implemented", l, missing, err)
		}
		if l, missing, err := s.StoredRecordings(ctx, o); ErrorCode(err) != ENotImplemented {
			t.Errorf("recording.stored.list: %v %v %v, want not_implemented", l, missing, err)
		}
	})

	t.Run("one node has it", func(t *testing.T) {
		s := service(cluster{execs: map[NodeID]*Executor{"pbx1": core("pbx1"), "pbx2": full("pbx2")}})
		o := Options{Tenant: "acme"}
		var b Bridge
		if _, err := s.BridgeAction(ctx, o, "b2", ActBridgeGet, nil, &b); err != nil || b.Node != "pbx2" {
			t.Errorf("bridge.get: %+v %v, want pbx2's bridge", b, err)
		}
		if _, err := s.BridgeAction(ctx, o, "b9", ActBridgeGet, nil, &b); ErrorCode(err) != ENotFound {
			t.Errorf("bridge.get of an unknown bridge: %v, want not_found", err)
		}
		l, missing, err := s.Bridges(ctx, o)
		if err != nil || len(l) != 1 || len(missing) != 0 {
			t.Errorf("bridge.list: %v missing %v %v, want pbx2's bridge and no node missing", l, missing, err)
		}
	})

	t.Run("a node did not answer", func(t *testing.T) {
		s := service(cluster{execs: map[NodeID]*Executor{"pbx1": core("pbx1")}})
		s.Nodes.Observe(Heartbeat{Node: "pbx2", State: NodeUp, Healthy: true, IntervalMS: 1000}, time.Now())
		o := Options{Tenant: "acme"}
		if _, err := s.BridgeAction(ctx, o, "b2", ActBridgeGet, nil, &Bridge{}); ErrorCode(err) != ENotFound {
			t.Errorf("bridge.get: %v, want not_found", err)
		}
		if l, missing, err := s.Bridges(ctx, o); err != nil || len(l) != 0 || len(missing) != 1 || missing[0] != "pbx2" {
			t.Errorf("bridge.list: %v missing %v %v, want none with pbx2 missing", l, missing, err)
		}
	})

	t.Run("a node is silent", func(t *testing.T) {
		s := service(cluster{execs: map[NodeID]*Executor{"pbx1": core("pbx1")}, silent: []NodeID{"pbx2"}})
		if l, missing, err := s.Bridges(ctx, Options{Tenant: "acme"}); err != nil || len(l) != 0 || len(missing) != 1 || missing[0] != "pbx2" {
			t.Errorf("bridge.list: %v missing %v %v, want none with pbx2 missing", l, missing, err)
		}
	})
}
