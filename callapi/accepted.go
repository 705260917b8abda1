package callapi

// Accepted is returned (with a nil result) by async requests.
type Accepted struct {
	CommandID string `json:"command_id"`
	CallID    CallID `json:"call_id,omitempty"`
	Node      NodeID `json:"node,omitempty"`
	// Created is the id the Service gave what the command creates (a
	// playback, a snoop call), for an answer to point to (restapi's
	// Location); not part of the 202 body.
	Created string `json:"-"`
}
