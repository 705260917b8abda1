package gateway

import (
	"sort"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Registry is the gateway's view of the live nodes, built from heartbeats.
// It is safe for concurrent use; time is passed in so tests control it.
type Registry struct {
	mu    sync.Mutex
	nodes map[callapi.NodeID]*callapi.Node
	// silent are the nodes that went down by missing heartbeats (not by
	// announcing it): their calls may still exist, unseen.
	silent map[callapi.NodeID]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{nodes: make(map[callapi.NodeID]*callapi.Node), silent: make(map[callapi.NodeID]bool)}
}

// Silent returns, sorted, the nodes that stopped beating without
// announcing they were going down, until they beat again: listings name
// them in missing_nodes, since the calls they held may still be up.
func (r *Registry) Silent(now time.Time) []callapi.NodeID {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []callapi.NodeID
	for id, n := range r.nodes {
		if r.silent[id] || (n.State != callapi.NodeDown && n.StateAt(now) == callapi.NodeDown) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Observe records a heartbeat received at now and returns the state change
// it causes, if any.
func (r *Registry) Observe(hb callapi.Heartbeat, now time.Time) *callapi.NodeChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.nodes[hb.Node]
	from := callapi.NodeDown
	if ok {
		from = old.StateAt(now)
	}
	r.nodes[hb.Node] = &callapi.Node{Heartbeat: hb, LastSeen: now}
	delete(r.silent, hb.Node)
	to := r.nodes[hb.Node].StateAt(now)
	if !ok || from != to {
		return &callapi.NodeChange{Node: hb.Node, From: from, To: to}
	}
	return nil
}

// Sweep returns the nodes that went down since their last heartbeat (by
// missed beats) and marks them down so each is reported once.
func (r *Registry) Sweep(now time.Time) []callapi.NodeChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []callapi.NodeChange
	for id, n := range r.nodes {
		if n.State != callapi.NodeDown && n.StateAt(now) == callapi.NodeDown {
			out = append(out, callapi.NodeChange{Node: id, From: n.State, To: callapi.NodeDown})
			n.State = callapi.NodeDown
			r.silent[id] = true
		}
	}
	return out
}

// Get returns the node with its state at now.
func (r *Registry) Get(id callapi.NodeID, now time.Time) (callapi.Node, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.nodes[id]
	if !ok {
		return callapi.Node{}, false
	}
	c := *n
	c.State = n.StateAt(now)
	return c, true
}

// Alive reports whether the node can take commands at now (up or draining:
// a draining node still serves the calls it holds).
func (r *Registry) Alive(id callapi.NodeID, now time.Time) bool {
	n, ok := r.Get(id, now)
	return ok && n.State != callapi.NodeDown
}

// List returns every known node, sorted by id, with its state at now.
func (r *Registry) List(now time.Time) []callapi.Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]callapi.Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		c := *n
		c.State = n.StateAt(now)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// Live returns the ids of the nodes that are up or draining at now.
func (r *Registry) Live(now time.Time) []callapi.NodeID {
	var ids []callapi.NodeID
	for _, n := range r.List(now) {
		if n.State != callapi.NodeDown {
			ids = append(ids, n.Node)
		}
	}
	return ids
}
