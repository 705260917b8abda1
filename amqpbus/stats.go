package amqpbus

import "sync/atomic"

type counters struct {
	reconnects     atomic.Int64
	returned       atomic.Int64
	nacked         atomic.Int64
	unknownReplies atomic.Int64
	badReplies     atomic.Int64
	badEvents      atomic.Int64
	poison         atomic.Int64
	expired        atomic.Int64
	duplicates     atomic.Int64
	retried        atomic.Int64

	batches         atomic.Int64 // batch messages sent (two or more commands)
	batchedCommands atomic.Int64 // commands sent in them
	batchWaits      atomic.Int64 // requests that queued behind a full window
	replyBatches    atomic.Int64 // reply messages carrying two or more replies
	batchedReplies  atomic.Int64 // replies sent in them
}

// Stats are cumulative counters since New, for metrics and tests.
type Stats struct {
	Reconnects     int64 // connections made after the first
	Returned       int64 // publishes returned unroutable (node_unavailable)
	Nacked         int64 // publishes the broker refused
	UnknownReplies int64 // replies without a waiting request (dropped)
	BadReplies     int64 // undecodable replies (dropped)
	BadEvents      int64 // undecodable events or heartbeats (dropped)
	Poison         int64 // commands dead-lettered as undecodable or crashing
	Expired        int64 // commands dead-lettered past their deadline, never run
	Duplicates     int64 // commands answered from the worker's memory
	Retried        int64 // requests sent again after their channel was lost

	Batches         int64 // command messages carrying two or more commands
	BatchedCommands int64 // commands sent in such batches
	BatchWaits      int64 // requests that queued behind a full batch window
	ReplyBatches    int64 // reply messages carrying two or more replies
	BatchedReplies  int64 // replies sent in such batches
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	c := &b.stats
	return Stats{
		Reconnects: c.reconnects.Load(), Returned: c.returned.Load(), Nacked: c.nacked.Load(),
		UnknownReplies: c.unknownReplies.Load(), BadReplies: c.badReplies.Load(), BadEvents: c.badEvents.Load(),
		Poison: c.poison.Load(), Expired: c.expired.Load(), Duplicates: c.duplicates.Load(),
		Retried: c.retried.Load(),
		Batches: c.batches.Load(), BatchedCommands: c.batchedCommands.Load(), BatchWaits: c.batchWaits.Load(),
		ReplyBatches: c.replyBatches.Load(), BatchedReplies: c.batchedReplies.Load(),
	}
}
