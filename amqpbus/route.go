package amqpbus

import (
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Batching modes (Config.Batching).
const (
	// BatchAuto batches requests to a node whose heartbeat announces
	// protocol version 2 or later (the default).
	BatchAuto = "auto"
	// BatchOn batches requests to every node, heard or not (a gateway
	// that knows every worker is of version 2; tests and benchmarks).
	BatchOn = "on"
	// BatchOff sends one command per message, as protocol version 1.
	BatchOff = "off"
)

// cmdRoute gathers the requests for one node into batches (docs/protocol.md
// §10). Requests queue in arrival order; while fewer than window batches
// of this route are in flight, whatever has queued leaves at once as one
// message (a lone request as a version 1 message, so that at low load
// nothing changes on the wire). A batch is in flight until every one of
// its requests has its outcome (reply or error), or for BatchHold at most,
// so that one slow command cannot hold the route up. Under load, requests
// arriving while the window is full gather into the next batch: the broker
// routes, confirms and delivers one message for many commands. All batches
// of a route go out on one pooled channel, so commands keep their order.
//
// Only requests of commands that create nothing are batched: a batch is
// one delivery, acknowledged as a whole, and creating commands must be
// acknowledged before they run (at most once) one by one.
type cmdRoute struct {
	b      *Bus
	node   callapi.NodeID
	x, key string
	slot   uint32

	mu       sync.Mutex
	queue    []*queued
	inflight int // batches in flight (see flight), and slots being filled

	// pubMu makes taking a batch from the queue and writing it one step,
	// so that batches leave in the order their commands arrived.
	pubMu sync.Mutex
}

// queued is one request waiting in a route's queue or in a batch.
type queued struct {
	cmd  *callapi.Command
	c    *call
	w    *pubWaiter  // quiet: the verdict of the message that carried it
	gone atomic.Bool // its requester returned: leave it out
	fl   atomic.Pointer[flight]
	// written is set just before the message carrying it is handed to
	// the channel: until then a request that times out says
	// node_unavailable (nothing reached the broker), after it timeout.
	written atomic.Bool
}

// done tells q's batch that q's requester has its outcome.
func (q *queued) done() {
	q.gone.Store(true)
	if fl := q.fl.Load(); fl != nil {
		fl.itemDone()
	}
}

// flight is one batch in flight: it holds a window slot until each of its
// requests is done, or until its hold time passed.
type flight struct {
	r        *cmdRoute
	left     atomic.Int32
	released atomic.Bool
	timer    atomic.Pointer[time.Timer]
}

func (f *flight) itemDone() {
	if f.left.Add(-1) == 0 {
		f.release()
	}
}

func (f *flight) release() {
	if !f.released.CompareAndSwap(false, true) {
		return
	}
	if t := f.timer.Load(); t != nil {
		t.Stop()
	}
	f.r.release()
}

// batchRoute returns the route that batches cmd for target, or nil when
// cmd goes alone (protocol version 1).
func (b *Bus) batchRoute(target callapi.Target, cmd *callapi.Command) *cmdRoute {
	if b.cfg.Batching == BatchOff || cmd.Action.Creates() ||
		target == callapi.TargetAny || target == callapi.TargetAll {
		return nil
	}
	node := callapi.NodeID(target)
	if b.cfg.Batching == BatchAuto {
		v, ok := b.peers.Load(node)
		if !ok || v.(int) < ProtocolVersion {
			return nil
		}
	}
	if r, ok := b.routes.Load(node); ok {
		return r.(*cmdRoute)
	}
	x, key := b.route(target, callapi.Action("batch"))
	h := fnv.New32a()
	_, _ = h.Write([]byte(node))
	r, _ := b.routes.LoadOrStore(node, &cmdRoute{b: b, node: node, x: x, key: key, slot: h.Sum32()})
	return r.(*cmdRoute)
}

// notePeer records the protocol version a node announced (heartbeats).
func (b *Bus) notePeer(hb *callapi.Heartbeat) {
	v := hb.Protocol
	if v == 0 {
		v = 1
	}
	if old, ok := b.peers.Load(hb.Node); !ok || old.(int) != v {
		b.peers.Store(hb.Node, v)
	}
}

// enqueue adds q to the route and sends a batch when the window allows.
func (r *cmdRoute) enqueue(q *queued) {
	r.mu.Lock()
	r.queue = append(r.queue, q)
	if r.inflight >= r.b.cfg.BatchWindow {
		r.mu.Unlock()
		r.b.stats.batchWaits.Add(1)
		return
	}
	r.inflight++
	r.mu.Unlock()
	// On the requester's goroutine: no hand-off at low load. While another
	// batch is being written (which, the broker away, waits for it until
	// the last deadline of its own requests), the send goes to a goroutine
	// of the bus instead: a requester waits for its outcome until its own
	// deadline, never for another request's publish.
	if r.pubMu.TryLock() {
		r.sendLocked()
		return
	}
	r.sendInBackground()
}

// sendInBackground fills a reserved window slot on a goroutine of the
// bus, or fails what is queued when the bus is stopping.
func (r *cmdRoute) sendInBackground() {
	if !r.b.background(r.sendNext) {
		r.drain(ErrClosed) // Run is returning: nothing will be sent
	}
}

// sendNext fills a reserved window slot with what has queued.
func (r *cmdRoute) sendNext() {
	r.pubMu.Lock()
	r.sendLocked()
}

// sendLocked is sendNext with pubMu held; it unlocks it.
func (r *cmdRoute) sendLocked() {
	r.mu.Lock()
	batch := r.takeLocked()
	r.mu.Unlock()
	if len(batch) == 0 { // another sender took them: give the slot back
		r.pubMu.Unlock()
		r.release()
		return
	}
	r.send(batch)
	r.pubMu.Unlock()
}

// takeLocked removes the next batch from the queue.
func (r *cmdRoute) takeLocked() []*queued {
	n := len(r.queue)
	if n > r.b.cfg.BatchMax {
		n = r.b.cfg.BatchMax
	}
	batch := make([]*queued, n)
	copy(batch, r.queue)
	rest := copy(r.queue, r.queue[n:])
	for i := rest; i < len(r.queue); i++ {
		r.queue[i] = nil
	}
	r.queue = r.queue[:rest]
	return batch
}

// release frees a window slot (a batch is done, failed, or held long
// enough) and sends what queued meanwhile. Called by a requester or a
// timer, so the send runs on its own goroutine (owned by the bus, which
// waits for it).
func (r *cmdRoute) release() {
	r.mu.Lock()
	r.inflight--
	if len(r.queue) == 0 || r.inflight >= r.b.cfg.BatchWindow {
		r.mu.Unlock()
		return
	}
	r.inflight++
	r.mu.Unlock()
	r.sendInBackground()
}

// send publishes batch as one message (mandatory, confirmed) on the
// route's channel. Items whose requester is gone or whose deadline passed
// are left out. The message's verdict (return, nack, confirm, channel
// lost) becomes every item's; a failure to publish at all fails them as
// not sent (node_unavailable). Exactly one release follows.
func (r *cmdRoute) send(batch []*queued) {
	const op = "amqpbus.Request"
	now := time.Now()
	live := batch[:0]
	var last time.Time
	for _, q := range batch {
		if q.gone.Load() || !now.Before(q.cmd.Deadline) {
			continue
		}
		live = append(live, q)
		if q.cmd.Deadline.After(last) {
			last = q.cmd.Deadline
		}
	}
	if len(live) == 0 {
		r.release()
		return
	}
	fl := &flight{r: r}
	fl.left.Store(int32(len(live)))
	w, msgErr := r.message(live, now)
	if msgErr != nil {
		r.fail(live, fl, msgErr)
		return
	}
	fl.timer.Store(time.AfterFunc(r.b.cfg.BatchHold, fl.release))
	for _, q := range live {
		q.fl.Store(fl)
	}
	ctx, cancel := context.WithDeadline(context.Background(), last)
	defer cancel()
	err := r.publish(ctx, op, live, w)
	if err != nil {
		r.fail(live, fl, err)
	}
}

// message builds the message of live and its waiter: a lone request goes
// as a version 1 command with its own waiter; several as a batch whose
// waiter passes its verdict on to theirs.
func (r *cmdRoute) message(live []*queued, now time.Time) (*queuedMsg, error) {
	if len(live) == 1 {
		q := live[0]
		msg, err := encodeCommand(q.cmd, directReplyTo, now)
		if err != nil {
			return nil, err
		}
		return &queuedMsg{msg: msg, w: q.w}, nil
	}
	cmds := make([]*callapi.Command, len(live))
	ws := make([]*pubWaiter, len(live))
	for i, q := range live {
		cmds[i], ws[i] = q.cmd, q.w
	}
	id := uuid.NewString()
	msg, err := encodeBatch(id, cmds, directReplyTo, now)
	if err != nil {
		return nil, err
	}
	r.b.stats.batches.Add(1)
	r.b.stats.batchedCommands.Add(int64(len(live)))
	return &queuedMsg{msg: msg, w: &pubWaiter{msgID: id, done: make(chan pubResult, 1), group: ws}}, nil
}

// publish writes m on the route's channel, waiting for a connection (and
// an unblocked broker) until ctx ends. Each item's request is bound to the
// channel first, so that it learns of the channel's death.
func (r *cmdRoute) publish(ctx context.Context, op string, live []*queued, m *queuedMsg) error {
	pick := func(s *session) (*pubChan, error) { return s.channelAt(r.slot) }
	_, err := r.b.publishWaiter(ctx, op, pick, r.x, r.key, true, m.msg, m.w, func(pc *pubChan) {
		for _, q := range live {
			r.b.pending.bind(q.c, pc)
			q.written.Store(true)
		}
	})
	return err
}

// drain fails everything queued as not sent and gives back the slot
// reserved for it.
func (r *cmdRoute) drain(err error) {
	r.mu.Lock()
	queued := r.queue
	r.queue = nil
	r.inflight--
	r.mu.Unlock()
	for _, q := range queued {
		q.w.resolve(pubResult{err: err, unsent: true})
	}
}

// fail ends the items of a batch that was never written, then frees its
// window slot.
func (r *cmdRoute) fail(live []*queued, fl *flight, err error) {
	r.b.log.Debug("batch not published", zap.String("node", string(r.node)), zap.Int("commands", len(live)), zap.Error(err))
	for _, q := range live {
		q.w.resolve(pubResult{err: err, unsent: true})
	}
	fl.release()
}

type queuedMsg struct {
	msg amqp.Publishing
	w   *pubWaiter
}
