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
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	c := &b.stats
	return Stats{
		Reconnects: c.reconnects.Load(), Returned: c.returned.Load(), Nacked: c.nacked.Load(),
		UnknownReplies: c.unknownReplies.Load(), BadReplies: c.badReplies.Load(), BadEvents: c.badEvents.Load(),
		Poison: c.poison.Load(), Expired: c.expired.Load(), Duplicates: c.duplicates.Load(),
		Retried: c.retried.Load(),
	}
}
