package asterisk

import (
	"slices"
	"sync"
	"time"

	"github.com/callgw/callgw/callapi"
)

// call is the worker's memory of one live call: small, forgotten on hangup.
type call struct {
	id         callapi.CallID
	tenant     string
	tags       []string
	dir        callapi.Direction
	from, to   string
	channel    string
	state      callapi.CallState
	createdAt  time.Time
	answeredAt time.Time
	bridge     callapi.BridgeID
	vars       map[string]string
	seq        uint64
	held       bool // on hold (call.hold published, call.unhold not yet)
	// playing: the playbacks whose call.playback.started was published and
	// call.playback.finished not yet (Asterisk announces an unpaused
	// playback as started again).
	playing map[string]bool

	created    bool   // call.created published
	pending    bool   // Originate registered it; POST /channels not answered yet
	abandoned  bool   // its originate failed; kept (unlisted) only until its channel is known gone
	tryReason  string // ARI reason of our DELETE in flight, until it answers
	dialStatus string // last final dialstatus of a Dial event for it
	ourReason  string // ARI reason of our own DELETE, "" if none
	why        string // ReasonAPI / ReasonTimeout when we hung it up
	hangup     *callapi.Hangup
	done       chan struct{} // closed when answered or ended (only for wait=answered)
	// toStasis: an originate into the app. Asterisk reports the answer
	// (ChannelStateChange Up, Dial ANSWER) before StasisStart, and until
	// StasisStart ARI refuses control with 409 "not in Stasis": such a call
	// is answered for the CallAPI (call.answered, wait=answered) only once
	// it is in Stasis, so that a command sent on the answer finds it there.
	toStasis, inStasis bool
	// farEnd: a hard hang-up request without a cause came, as chan_pjsip
	// raises one for a BYE (recording inbound-sip; 22.10.1 with sipp): the
	// far end hung up, whatever ends the call next (StasisEnd).
	farEnd bool
}

func (c *call) signal() {
	if c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
}

// snapshot copies c as the CallAPI shows it. Caller holds callTable.mu.
func (c *call) snapshot(node callapi.NodeID) *callapi.Call {
	out := &callapi.Call{
		ID: c.id, Node: node, Tenant: c.tenant, State: c.state, Direction: c.dir,
		From: c.from, To: c.to, Channel: c.channel, CreatedAt: c.createdAt,
		Tags: c.tags, Variables: c.vars, BridgeID: c.bridge,
	}
	if !c.answeredAt.IsZero() {
		t := c.answeredAt
		out.AnsweredAt = &t
	}
	if c.hangup != nil {
		h := *c.hangup
		out.Hangup = &h
		out.State = callapi.StateEnded
	}
	return out
}

// callTable holds the live calls and turns ARI events into CallAPI events
// (callevents.go; those of bridges through its bridgeTable). It owns its
// locking: code outside calls.go and callevents.go reads and changes a call
// only through its methods. It
// is safe for concurrent use; the events of one call must be fed in ARI's
// order by one goroutine at a time (the dispatcher's shard of that call).
type callTable struct {
	// onEnded, when set, is told of each announced call's end (metrics).
	onEnded func(cause int, reason string)
	node    callapi.NodeID
	now     func() time.Time

	// bridges maps the events of bridges (no channel); it has its own lock.
	bridges *bridgeTable

	mu    sync.Mutex // guards calls, dead and every field of every call in calls
	calls map[callapi.CallID]*call
	dead  *ring[callapi.CallID] // the last calls ended
}

// newCallTable returns an empty call table of node; tenant is the one of
// the events of bridges not created through callgw (the node's default).
func newCallTable(node callapi.NodeID, tenant string) *callTable {
	return &callTable{
		node: node, now: time.Now,
		bridges: newBridgeTable(node, tenant),
		calls:   make(map[callapi.CallID]*call), dead: newRing[callapi.CallID](4096),
	}
}

// register adds a call that Originate is about to create. It fails when the
// id is in use.
func (t *callTable) register(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.calls[c.id]; ok {
		return false
	}
	t.calls[c.id] = c
	return true
}

// forget drops a call without publishing anything (its originate failed).
func (t *callTable) forget(id callapi.CallID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, id)
}

// get returns the call id of tenant, or nil.
func (t *callTable) get(tenant string, id callapi.CallID) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || c.tenant != tenant || c.abandoned {
		return nil
	}
	return c
}

// isAbandoned reports whether id is a call whose originate failed.
func (t *callTable) isAbandoned(id callapi.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	return c != nil && c.abandoned
}

// abandon marks a call whose originate failed: it is no longer listed nor
// found, and ends (without any event unless it was announced) once its
// channel is known to be gone.
func (t *callTable) abandon(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.abandoned, c.pending = true, false
}

// setTry records (or, with "", clears) the reason of our DELETE in flight.
func (t *callTable) setTry(c *call, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.tryReason = reason
}

// hungUp commits the reason of our DELETE that Asterisk accepted.
func (t *callTable) hungUp(c *call, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.tryReason = ""
	c.ourReason, c.why = reason, ReasonAPI
}

// expectHangup records reason as the one of a DELETE callgw is about to
// send on c's behalf (the transferer of an attended transfer), so that its
// hangup says api; unexpectHangup withdraws it when the DELETE failed.
func (t *callTable) expectHangup(c *call, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.ourReason, c.why = reason, ReasonAPI
}

// unexpectHangup withdraws what expectHangup recorded.
func (t *callTable) unexpectHangup(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.ourReason, c.why = "", ""
}

// settle records that POST /channels (or /snoop) answered for c: its
// channel exists, named name unless an event named it first.
func (t *callTable) settle(c *call, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.pending = false
	if c.channel == "" {
		c.channel = name
	}
}

// timedOut marks c as hung up by callgw because it was not answered in
// time (wait=answered).
func (t *callTable) timedOut(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.why = ReasonTimeout
}

// cleaningUp prepares c for the DELETE that cleans up after a failed
// originate: the reason is normal unless one was already chosen.
func (t *callTable) cleaningUp(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.ourReason == "" {
		c.ourReason = "normal"
	}
	c.pending = false
}

// tagsOf returns c's tags.
func (t *callTable) tagsOf(c *call) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return c.tags
}

// bridgeOf returns the bridge c is in, "" if none.
func (t *callTable) bridgeOf(c *call) callapi.BridgeID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return c.bridge
}

func (t *callTable) known(id callapi.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.calls[id]
	return ok || t.dead.has(id)
}

// claimLost takes the end of id for a lost hang-up (PBX.CloseLost): it
// reports false when the table tracks id or published its end, else it
// marks id ended, so that no later event or re-read adopts it.
func (t *callTable) claimLost(id callapi.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.calls[id]; ok || t.dead.has(id) {
		return false
	}
	t.dead.add(id)
	return true
}

func (t *callTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.calls {
		if !c.abandoned {
			n++
		}
	}
	return n
}

// ids returns the ids of the calls whose channel exists for sure (not
// pending an originate answer).
func (t *callTable) settled() []callapi.CallID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]callapi.CallID, 0, len(t.calls))
	for id, c := range t.calls {
		if !c.pending {
			out = append(out, id)
		}
	}
	return out
}

func (t *callTable) snapshot(c *call) *callapi.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return c.snapshot(t.node)
}

func (t *callTable) list(tenant string) []*callapi.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*callapi.Call, 0, len(t.calls))
	for _, c := range t.calls {
		if (c.tenant == tenant || tenant == callapi.AllTenants) && !c.pending && !c.abandoned {
			out = append(out, c.snapshot(t.node))
		}
	}
	slices.SortFunc(out, func(a, b *callapi.Call) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}
