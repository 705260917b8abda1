package gateway

import (
	"context"
	"github.com/callgw/callgw/callapi"
)

// The locating side of Service: finding the node that owns a call, bridge,
// playback or recording (a cached location, else a broadcast), and
// broadcasting listings to every live node.

// resource names what a routed command is about, for locating it.
type resource struct {
	key    string                     // location cache key
	locate callapi.Action             // broadcast to find the owner
	set    func(cmd *callapi.Command) // puts the id into a command
	what   string                     // for messages: "call 4f7c…"
}

func callRes(tenant string, id callapi.CallID) resource {
	return resource{callKey(tenant, id), callapi.ActCallLocate, func(c *callapi.Command) { c.CallID = id }, "call " + string(id)}
}

func bridgeRes(tenant string, id callapi.BridgeID) resource {
	return resource{bridgeKey(tenant, id), callapi.ActBridgeLocate, func(c *callapi.Command) { c.BridgeID = id }, "bridge " + string(id)}
}

func playbackRes(tenant, id string) resource {
	return resource{playbackKey(tenant, id), callapi.ActPlaybackGet, func(c *callapi.Command) { c.ResourceID = id }, "playback " + id}
}

func recordingRes(tenant, name string) resource {
	return resource{recordingKey(tenant, name), callapi.ActRecordingGet, func(c *callapi.Command) { c.ResourceID = name }, "recording " + name}
}

// Locate returns the node that owns a call: from the cache, else by
// asking every live node.
func (s *Service) Locate(ctx context.Context, o Options, id callapi.CallID) (callapi.NodeID, error) {
	if !callapi.ValidID(string(id)) {
		return "", callapi.Invalid("id", "%q is not a valid call id", id)
	}
	return s.locate(ctx, o, callRes(o.Tenant, id))
}

func (s *Service) locate(ctx context.Context, o Options, r resource) (callapi.NodeID, error) {
	if n, ok := s.Locations.Get(r.key); ok {
		return n, nil
	}
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, r.locate, nil)
	if err != nil {
		return "", err
	}
	r.set(cmd)
	cmd.Deadline = deadlineOf(ctx)
	live := s.Nodes.Live(s.now())
	if len(live) == 0 {
		return "", callapi.Errorf(callapi.CodeNodeUnavailable, "no node is up")
	}
	reps, err := s.Bus.Gather(ctx, cmd, live)
	if err != nil {
		return "", err
	}
	for _, rep := range reps {
		if rep.OK && rep.Node != "" {
			s.Locations.Put(r.key, rep.Node)
			return rep.Node, nil
		}
	}
	if err := notImplementedByAll(cmd, reps, live); err != nil {
		return "", err
	}
	return "", callapi.Errorf(callapi.CodeNotFound, "%s not found", r.what)
}

// notImplementedByAll returns a not_implemented error when every node in
// expect answered the broadcast cmd, and each with not_implemented: no
// node can hold what was asked for, or serve the action, so the request is
// one this cluster does not implement (501), not one about something
// missing (404) or an incomplete answer. Nil otherwise: a node that did
// not answer may implement it.
func notImplementedByAll(cmd *callapi.Command, reps []*callapi.Reply, expect []callapi.NodeID) error {
	said := make(map[callapi.NodeID]bool, len(reps))
	for _, r := range reps {
		if callapi.ErrorCode(r.Err()) != callapi.CodeNotImplemented {
			return nil
		}
		said[r.Node] = true
	}
	for _, n := range expect {
		if !said[n] {
			return nil
		}
	}
	what := "it"
	if spec, ok := callapi.SpecOf(cmd.Action); ok {
		what = spec.Port.String()
	}
	return callapi.Errorf(callapi.CodeNotImplemented, "no node implements %s (%s)", what, cmd.Action)
}

// gatherAll broadcasts a listing to every live node and hands each OK
// reply to each; it returns the nodes that did not answer. A node that
// answers not_implemented lacks the capability, so it holds nothing to
// list: it answered, and is not missing. When every live node answers so
// and none is silent, the listing fails with not_implemented.
func (s *Service) gatherAll(ctx context.Context, o Options, a callapi.Action, args any, each func(*callapi.Reply) error) ([]callapi.NodeID, error) {
	expect := s.Nodes.Live(s.now())
	if len(expect) == 0 {
		return s.Nodes.Silent(s.now()), nil
	}
	cmd, err := s.newCommand(Options{Tenant: o.Tenant}, a, args)
	if err != nil {
		return nil, err
	}
	cmd.Deadline = deadlineOf(ctx)
	reps, err := s.Bus.Gather(ctx, cmd, expect)
	if err != nil {
		return nil, err
	}
	silent := s.Nodes.Silent(s.now())
	if len(silent) == 0 {
		if err := notImplementedByAll(cmd, reps, expect); err != nil {
			return nil, err
		}
	}
	answered := map[callapi.NodeID]bool{}
	for _, r := range reps {
		if callapi.ErrorCode(r.Err()) == callapi.CodeNotImplemented || each(r) == nil {
			answered[r.Node] = true
		}
	}
	var missing []callapi.NodeID
	for _, n := range expect {
		if !answered[n] {
			missing = append(missing, n)
		}
	}
	// Nodes that went silent were not asked, but may hold calls.
	return append(missing, silent...), nil
}
