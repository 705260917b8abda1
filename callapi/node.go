package callapi

import "time"

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

// DefaultHeartbeatInterval is how often a worker announces itself unless
// configured (CALLGW_HEARTBEAT_INTERVAL); a node whose heartbeat does not
// say its interval is judged by this one.
const DefaultHeartbeatInterval = 2 * time.Second

func (n *Node) StateAt(now time.Time) NodeState {
	iv := time.Duration(n.IntervalMS) * time.Millisecond
	if iv <= 0 {
		iv = DefaultHeartbeatInterval
	}
	if n.State == NodeDown || now.Sub(n.LastSeen) > MissedBeats*iv {
		return NodeDown
	}
	return n.State
}
