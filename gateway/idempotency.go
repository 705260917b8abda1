package gateway

import (
	"context"
	"encoding/json"
	"github.com/callgw/callgw/callapi"
	"hash/fnv"
	"time"
)

// Idempotency across workers (docs/decisions.md, docs/protocol.md §11).
//
// An originate with an Idempotency-Key has a deterministic command id, and
// so a deterministic call id. Each worker journals the keyed originates it
// ran (worker side: package journal) and keeps the journal across restarts
// for the idempotency window. Before such an originate runs, the gateway
// asks every live node's journal about the key (a cmd.all broadcast of
// ActKeyLookup) and:
//   - a node that ran it answers with the reply the retry gets (the call as
//     it is now, or as it ended), never running it again;
//   - a node still running it gets the retry (its memory of command ids
//     makes the copy wait for the original's result);
//   - when no node has it but a node that may hold it is missing (a live
//     node that did not answer, or one down for less than KeyHorizon), the
//     answer is node_unavailable: retry later — never a second call.
//
// Keyed originates without a node go to one node picked by rendezvous
// hashing of the key over the healthy up nodes (not to the any queue), so
// that concurrent copies of one key meet in one worker's memory.

// keyLookupTimeout bounds the lookup broadcast: a live node that does not
// answer within it counts as missing.
const keyLookupTimeout = time.Second

// keyOutcome is what the lookup decided for a keyed originate.
type keyOutcome struct {
	reply   *callapi.Reply // answer with this
	running callapi.NodeID // send the retry to this node
}

// lookupKey asks the live nodes' journals about cmd (a keyed originate).
// The node the command is about to go to (target) checks its own journal
// when it runs the command, so with no other node that may hold the key
// nothing is asked.
func (s *Service) lookupKey(ctx context.Context, o Options, cmd *callapi.Command, target callapi.Target) (*keyOutcome, error) {
	now := s.now()
	var live []callapi.NodeID
	var missing []callapi.NodeID
	for _, n := range s.Nodes.List(now) {
		switch {
		case n.State != callapi.NodeDown:
			live = append(live, n.Node)
		case now.Sub(n.LastSeen) < callapi.KeyHorizon:
			missing = append(missing, n.Node)
		}
	}
	if len(missing) == 0 && (len(live) == 0 || (len(live) == 1 && target == callapi.NodeTarget(live[0]))) {
		return &keyOutcome{}, nil
	}
	if len(live) > 0 {
		q, err := s.newCommand(Options{Tenant: o.Tenant}, callapi.ActKeyLookup, callapi.KeyLookupArgs{CommandID: cmd.ID})
		if err != nil {
			return nil, err
		}
		lctx, cancel := context.WithTimeout(ctx, keyLookupTimeout)
		defer cancel()
		q.Deadline = deadlineOf(lctx)
		reps, err := s.Bus.Gather(lctx, q, live)
		if err != nil {
			return nil, err
		}
		answered := make(map[callapi.NodeID]bool, len(reps))
		for _, rep := range reps {
			answered[rep.Node] = true
			if !rep.OK {
				continue // an older worker (unknown action): it journals nothing
			}
			var kl callapi.KeyLookup
			if err := json.Unmarshal(rep.Result, &kl); err != nil || !kl.Found {
				continue
			}
			if kl.Running {
				return &keyOutcome{running: rep.Node}, nil
			}
			if kl.Reply != nil {
				return &keyOutcome{reply: kl.Reply}, nil
			}
		}
		for _, n := range live {
			if !answered[n] {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		return nil, callapi.Errorf(callapi.CodeNodeUnavailable, "node %s, which may hold the call of this Idempotency-Key, is unavailable: retry later with the same key", missing[0])
	}
	return &keyOutcome{}, nil
}

// keyTarget picks the node of a keyed originate without a node: rendezvous
// (highest random weight) hashing of the key over the healthy up nodes, so
// that every gateway sends the copies of one key to the same node while
// the set of nodes stays the same.
func (s *Service) keyTarget(key string) (callapi.Target, error) {
	var best callapi.NodeID
	var bestW uint64
	for _, n := range s.Nodes.List(s.now()) {
		if n.State != callapi.NodeUp || !n.Healthy {
			continue
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(n.Node))
		if w := h.Sum64(); best == "" || w > bestW {
			best, bestW = n.Node, w
		}
	}
	if best == "" {
		return s.createTarget("") // says why: no node up, or none healthy
	}
	return callapi.NodeTarget(best), nil
}
