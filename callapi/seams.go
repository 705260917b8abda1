package callapi

import "context"

// Bus carries commands from a gateway to the workers. amqpbus implements it.
type Bus interface {
	// Request publishes cmd to target and waits for its reply until ctx
	// ends (cmd.Deadline is set from ctx by the caller). A command that no
	// queue takes fails with CodeNodeUnavailable at once; a reply that does
	// not come in time fails with CodeTimeout.
	Request(ctx context.Context, target Target, cmd *Command) (*Reply, error)
	// Gather publishes cmd to TargetAll and collects the replies until one
	// came from every node in expect, or ctx ends (then it returns what it
	// has, without error, if at least the broadcast was routed).
	Gather(ctx context.Context, cmd *Command, expect []NodeID) ([]*Reply, error)
	// Send publishes cmd to target without waiting for a reply: the worker
	// publishes the outcome as a command.completed event.
	Send(ctx context.Context, target Target, cmd *Command) error
}

// CommandHandler runs one command on a worker and returns its reply. It
// never returns nil. worker.Executor implements it; amqpbus calls it.
type CommandHandler interface {
	Handle(ctx context.Context, cmd *Command) *Reply
}

// Journal is a worker's idempotency journal: it answers ActKeyLookup, a
// gateway's question whether this node ran (or runs) the keyed originate
// commandID of tenant. worker.Keyed implements it; an Executor without one
// answers the action not_implemented.
type Journal interface {
	Lookup(ctx context.Context, tenant, commandID string) (KeyLookup, error)
}

// EventSink publishes normalized events. amqpbus implements it.
type EventSink interface {
	PublishEvent(ctx context.Context, e *Event) error
}

// HeartbeatSink publishes a worker's heartbeats. amqpbus implements it.
type HeartbeatSink interface {
	PublishHeartbeat(ctx context.Context, hb *Heartbeat) error
}

// PBX drives calls on one Asterisk node. asterisk.PBX implements it.
// Calls are scoped by tenant: a call of another tenant is CodeNotFound.
type PBX interface {
	// Originate places a call whose id is id. With args.Wait ==
	// WaitAnswered it returns once the call is answered or has ended (the
	// returned Call then carries Hangup), or fails with CodeTimeout when ctx
	// ends first, after hanging the call up.
	Originate(ctx context.Context, tenant string, id CallID, args OriginateArgs) (*Call, error)
	Call(ctx context.Context, tenant string, id CallID) (*Call, error)
	// Calls lists the live calls of tenant; of every tenant when tenant is
	// AllTenants.
	Calls(ctx context.Context, tenant string) ([]*Call, error)
	Hangup(ctx context.Context, tenant string, id CallID, reason string) error
	// Info describes the node for heartbeats.
	Info(ctx context.Context) (PBXInfo, error)
}

// PBXInfo describes an Asterisk node.
type PBXInfo struct {
	AsteriskID      string
	AsteriskVersion string
	App             string
	Calls           int
	Healthy         bool
	Reason          string
}
