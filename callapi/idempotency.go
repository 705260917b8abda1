package callapi

import "time"

// KeyHorizon is how long after a node went down the gateway still counts it
// as one that may hold an idempotency key's call: a keyed originate that no
// live node knows is refused (retryable) while such a node is missing.
const KeyHorizon = 5 * time.Minute

// KeyLookupArgs are the arguments of ActKeyLookup.
type KeyLookupArgs struct {
	CommandID string `json:"command_id"`
}

// Validate checks that a command id is given.
func (a *KeyLookupArgs) Validate() error {
	if a.CommandID == "" {
		return Invalid("command_id", "required")
	}
	return nil
}

// KeyLookup is a node's answer to ActKeyLookup.
type KeyLookup struct {
	Found   bool   `json:"found"`
	Running bool   `json:"running,omitempty"` // the original still runs on this node
	Reply   *Reply `json:"reply,omitempty"`   // what a retry gets (when it finished or was interrupted)
}
