package gateway

import (
	"sort"
	"sync"
	"time"
)

// NodeState is a node's announced or inferred state.
type NodeState string

// Node states.
const (
	NodeUp       NodeState = "up"
	NodeDraining NodeState = "draining"
	NodeDown     NodeState = "down"
)

// MissedBeats is how many heartbeat intervals may pass before a node is
// considered down.
const MissedBeats = 3

// Heartbeat is what a worker announces on callapi.nodes.
type Heartbeat struct {
	Node            NodeID    `json:"node"`
	State           NodeState `json:"state"`
	AsteriskID      string    `json:"asterisk_id,omitempty"`
	AsteriskVersion string    `json:"asterisk_version,omitempty"`
	App             string    `json:"app"`
	Calls           int       `json:"calls"`
	Capacity        int       `json:"capacity"`
	Healthy         bool      `json:"healthy"`
	Reason          string    `json:"reason,omitempty"` // why unhealthy, when it is
	IntervalMS      int64     `json:"interval_ms"`
	StartedAt       time.Time `json:"started_at"`
	Time            time.Time `json:"time"`
	// Protocol is the highest command protocol version the node's worker
	// speaks (docs/protocol.md §0); absent (0) means version 1: single
	// commands only. Gateways batch commands only to nodes of version 2+.
	Protocol int `json:"protocol,omitempty"`
}

// Node is a node as the gateway's registry knows it.
type Node struct {
	Heartbeat
	LastSeen time.Time `json:"last_seen"`
}

// NodeChange is a state transition seen by the registry.
type NodeChange struct {
	Node NodeID
	From NodeState
	To   NodeState
}

// Registry is the gateway's view of the live nodes, built from heartbeats.
// It is safe for concurrent use; time is passed in so tests control it.
type Registry struct {
	mu    sync.Mutex
	nodes map[NodeID]*Node
	// silent are the nodes that went down by missing heartbeats (not by
	// announcing it): their calls may still exist, unseen.
	silent map[NodeID]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{nodes: make(map[NodeID]*Node), silent: make(map[NodeID]bool)}
}

// Silent returns, sorted, the nodes that stopped beating without
// announcing they were going down, until they beat again: listings name
// them in missing_nodes, since the calls they held may still be up.
func (r *Registry) Silent(now time.Time) []NodeID {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []NodeID
	for id, n := range r.nodes {
		if r.silent[id] || (n.State != NodeDown && n.stateAt(now) == NodeDown) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (n *Node) stateAt(now time.Time) NodeState {
	iv := time.Duration(n.IntervalMS) * time.Millisecond
	if iv <= 0 {
		iv = DefaultHeartbeatInterval
	}
	if n.State == NodeDown || now.Sub(n.LastSeen) > MissedBeats*iv {
		return NodeDown
	}
	return n.State
}

// Observe records a heartbeat received at now and returns the state change
// it causes, if any.
func (r *Registry) Observe(hb Heartbeat, now time.Time) *NodeChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.nodes[hb.Node]
	from := NodeDown
	if ok {
		from = old.stateAt(now)
	}
	r.nodes[hb.Node] = &Node{Heartbeat: hb, LastSeen: now}
	delete(r.silent, hb.Node)
	to := r.nodes[hb.Node].stateAt(now)
	if !ok || from != to {
		return &NodeChange{Node: hb.Node, From: from, To: to}
	}
	return nil
}

// Sweep returns the nodes that went down since their last heartbeat (by
// missed beats) and marks them down so each is reported once.
func (r *Registry) Sweep(now time.Time) []NodeChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []NodeChange
	for id, n := range r.nodes {
		if n.State != NodeDown && n.stateAt(now) == NodeDown {
			out = append(out, NodeChange{Node: id, From: n.State, To: NodeDown})
			n.State = NodeDown
			r.silent[id] = true
		}
	}
	return out
}

// Get returns the node with its state at now.
func (r *Registry) Get(id NodeID, now time.Time) (Node, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.nodes[id]
	if !ok {
		return Node{}, false
	}
	c := *n
	c.State = n.stateAt(now)
	return c, true
}

// Alive reports whether the node can take commands at now (up or draining:
// a draining node still serves the calls it holds).
func (r *Registry) Alive(id NodeID, now time.Time) bool {
	n, ok := r.Get(id, now)
	return ok && n.State != NodeDown
}

// List returns every known node, sorted by id, with its state at now.
func (r *Registry) List(now time.Time) []Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		c := *n
		c.State = n.stateAt(now)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// Live returns the ids of the nodes that are up or draining at now.
func (r *Registry) Live(now time.Time) []NodeID {
	var ids []NodeID
	for _, n := range r.List(now) {
		if n.State != NodeDown {
			ids = append(ids, n.Node)
		}
	}
	return ids
}
