package asterisk

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/gateway"
)

// Hangup reasons published in gateway.HangupData.Reason.
const (
	ReasonAPI        = "api"         // hung up by a callgw command
	ReasonTimeout    = "timeout"     // hung up by callgw: wait=answered deadline passed
	ReasonRemote     = "remote"      // ended by the far end or by Asterisk
	ReasonLeftStasis = "left_stasis" // left the Stasis application without a hangup
	ReasonLost       = "lost"        // gone when the worker re-read its channels (ended while ARI was disconnected)
)

// call is the worker's memory of one live call: small, forgotten on hangup.
type call struct {
	id         gateway.CallID
	tenant     string
	tags       []string
	dir        gateway.Direction
	from, to   string
	channel    string
	state      gateway.CallState
	createdAt  time.Time
	answeredAt time.Time
	bridge     gateway.BridgeID
	vars       map[string]string
	seq        uint64
	held       bool // on hold (call.hold published, call.unhold not yet)

	created    bool   // call.created published
	pending    bool   // Originate registered it; POST /channels not answered yet
	abandoned  bool   // its originate failed; kept (unlisted) only until its channel is known gone
	tryReason  string // ARI reason of our DELETE in flight, until it answers
	dialStatus string // last final dialstatus of a Dial event for it
	ourReason  string // ARI reason of our own DELETE, "" if none
	why        string // ReasonAPI / ReasonTimeout when we hung it up
	hangup     *gateway.Hangup
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

// snapshot copies c as the CallAPI shows it. Caller holds tracker.mu.
func (c *call) snapshot(node gateway.NodeID) *gateway.Call {
	out := &gateway.Call{
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
		out.State = gateway.StateEnded
	}
	return out
}

// tombstones remembers the last ids of ended calls, so a late event or a
// stale re-read cannot resurrect them. Fixed size, no growth.
type tombstones struct {
	ring []gateway.CallID
	set  map[gateway.CallID]struct{}
	next int
}

func newTombstones(n int) *tombstones {
	return &tombstones{ring: make([]gateway.CallID, n), set: make(map[gateway.CallID]struct{}, n)}
}

func (t *tombstones) add(id gateway.CallID) {
	if _, ok := t.set[id]; ok {
		return
	}
	if old := t.ring[t.next]; old != "" {
		delete(t.set, old)
	}
	t.ring[t.next] = id
	t.set[id] = struct{}{}
	t.next = (t.next + 1) % len(t.ring)
}

func (t *tombstones) has(id gateway.CallID) bool { _, ok := t.set[id]; return ok }

// meta is what the worker learns about a channel it adopts: its tenant,
// tags and direction (channel variables CALLGW_TENANT, CALLGW_TAGS,
// CALLGW_DIRECTION).
type meta struct {
	tenant string
	tags   []string
	dir    gateway.Direction
}

// tracker turns ARI events into CallAPI events and holds the live calls. It
// is safe for concurrent use; the events of one call must be fed in ARI's
// order by one goroutine at a time (the dispatcher's shard of that call).
type tracker struct {
	// onEnded, when set, is told of each announced call's end (metrics).
	onEnded func(cause int, reason string)
	node    gateway.NodeID
	app     string
	tenant  string // of events of bridges not created through callgw: the node's default tenant
	now     func() time.Time

	mu      sync.Mutex
	calls   map[gateway.CallID]*call
	bridges map[gateway.BridgeID]*bridgeRec // created through callgw, until destroyed
	dead    *tombstones
	// deadBridges are the last bridges callgw announced destroyed, so a
	// BridgeDestroyed arriving after callgw's own DELETE is not announced
	// again (under the node's default tenant).
	deadBridges *tombstones
}

func newTracker(node gateway.NodeID, app, tenant string) *tracker {
	return &tracker{node: node, app: app, tenant: tenant, now: time.Now, calls: make(map[gateway.CallID]*call), bridges: make(map[gateway.BridgeID]*bridgeRec), dead: newTombstones(4096), deadBridges: newTombstones(256)}
}

// register adds a call that Originate is about to create. It fails when the
// id is in use.
func (t *tracker) register(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.calls[c.id]; ok {
		return false
	}
	t.calls[c.id] = c
	return true
}

// forget drops a call without publishing anything (its originate failed).
func (t *tracker) forget(id gateway.CallID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, id)
}

// get returns the call id of tenant, or nil.
func (t *tracker) get(tenant string, id gateway.CallID) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || c.tenant != tenant || c.abandoned {
		return nil
	}
	return c
}

// isAbandoned reports whether id is a call whose originate failed.
func (t *tracker) isAbandoned(id gateway.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	return c != nil && c.abandoned
}

// abandon marks a call whose originate failed: it is no longer listed nor
// found, and ends (without any event unless it was announced) once its
// channel is known to be gone.
func (t *tracker) abandon(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.abandoned, c.pending = true, false
}

// setTry records (or, with "", clears) the reason of our DELETE in flight.
func (t *tracker) setTry(c *call, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.tryReason = reason
}

// hungUp commits the reason of our DELETE that Asterisk accepted.
func (t *tracker) hungUp(c *call, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.tryReason = ""
	c.ourReason, c.why = reason, ReasonAPI
}

func (t *tracker) known(id gateway.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.calls[id]
	return ok || t.dead.has(id)
}

func (t *tracker) count() int {
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
func (t *tracker) settled() []gateway.CallID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]gateway.CallID, 0, len(t.calls))
	for id, c := range t.calls {
		if !c.pending {
			out = append(out, id)
		}
	}
	return out
}

func (t *tracker) snapshot(c *call) *gateway.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return c.snapshot(t.node)
}

func (t *tracker) list(tenant string) []*gateway.Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*gateway.Call, 0, len(t.calls))
	for _, c := range t.calls {
		if c.tenant == tenant && !c.pending && !c.abandoned {
			out = append(out, c.snapshot(t.node))
		}
	}
	slices.SortFunc(out, func(a, b *gateway.Call) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// event builds the next event of c. Caller holds t.mu.
func (t *tracker) event(c *call, typ gateway.EventType, at time.Time, data any, raw []byte) *gateway.Event {
	c.seq++
	e := &gateway.Event{
		ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: c.tenant,
		CallID: c.id, Seq: c.seq, Tags: c.tags, BridgeID: c.bridge, ARI: raw,
	}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	return e
}

func (t *tracker) createdLocked(c *call, at time.Time, args []string, adopted bool, raw []byte) *gateway.Event {
	c.created = true
	d := gateway.CreatedData{Call: *c.snapshot(t.node), Args: args, Adopted: adopted}
	return t.event(c, gateway.EvCallCreated, at, d, raw)
}

// stateLocked moves c to st and returns the events it causes: ringing and
// answered are published once, never backwards.
func (t *tracker) stateLocked(c *call, st gateway.CallState, at time.Time, raw []byte) []*gateway.Event {
	switch st {
	case gateway.StateUp:
		if !c.answeredAt.IsZero() {
			return nil
		}
		if c.toStasis && !c.inStasis {
			c.state = gateway.StateUp
			return nil // call.answered comes with StasisStart
		}
		c.state, c.answeredAt = gateway.StateUp, at
		a := at
		c.signal()
		return []*gateway.Event{t.event(c, gateway.EvCallAnswered, at, gateway.StateData{State: st, AnsweredAt: &a}, raw)}
	case gateway.StateRinging:
		if c.state == gateway.StateRinging || c.state == gateway.StateUp {
			return nil
		}
		c.state = st
		return []*gateway.Event{t.event(c, gateway.EvCallRinging, at, gateway.StateData{State: st}, raw)}
	case gateway.StateBusy, gateway.StateDialing:
		if c.state != gateway.StateUp {
			c.state = st
		}
	}
	return nil
}

// endLocked publishes c's hangup (exactly once) and forgets c. cause 0 is
// refined by the Dial outcome (busy.txt: the originated side of a busy Local
// call is destroyed with cause 0, the outcome is in dialstatus).
func (t *tracker) endLocked(c *call, cause int, text, reason string, at time.Time, raw []byte) *gateway.Event {
	if cause == 0 && c.answeredAt.IsZero() && finalDialStatus(c.dialStatus) {
		cause, text = dialStatusCause[c.dialStatus], ""
	}
	if text == "" || (cause != 0 && text == "Unknown") {
		text = CauseText(cause)
	}
	ds := c.dialStatus
	if ds == "" && c.answeredAt.IsZero() {
		ds = causeDialStatus(cause)
	}
	switch {
	case c.why != "":
		reason = c.why
	case c.tryReason != "" && reason != ReasonLost:
		// Ended by an event while our DELETE was in flight: most likely
		// by it (its answer comes after the events it caused).
		reason = ReasonAPI
	}
	c.hangup = &gateway.Hangup{Cause: cause, CauseText: text, DialStatus: ds}
	c.state = gateway.StateEnded
	delete(t.calls, c.id)
	t.dead.add(c.id)
	c.signal()
	if !c.created {
		// Never announced (its originate failed before any sign of it):
		// nothing to close for subscribers.
		return nil
	}
	if t.onEnded != nil {
		t.onEnded(cause, reason)
	}
	return t.event(c, gateway.EvCallHangup, at, gateway.HangupData{Hangup: *c.hangup, Reason: reason}, raw)
}

// handleEvent maps one ARI event to CallAPI events. adopt, when not nil,
// is what the dispatcher learnt about an unknown channel entering Stasis.
func (t *tracker) handleEvent(ev *ariEvent, raw []byte, adopt *meta) []*gateway.Event {
	at := parseTime(ev.Timestamp)
	if at.IsZero() {
		at = t.now()
	}
	chID, brID := ev.subject()
	t.mu.Lock()
	defer t.mu.Unlock()
	if chID == "" {
		if brID == "" {
			return nil
		}
		return t.bridgeEventLocked(ev, gateway.BridgeID(brID), at, raw)
	}
	id := gateway.CallID(chID)
	c := t.calls[id]
	if c == nil {
		if ev.Type == "StasisStart" && adopt != nil && ev.Channel != nil && !t.dead.has(id) {
			c = t.adoptLocked(ev.Channel, *adopt, at)
			return []*gateway.Event{t.createdLocked(c, at, ev.Args, false, raw)}
		}
		return nil
	}
	var out []*gateway.Event
	if !c.created {
		// The first sign of an originated channel announces it (the Dial
		// event, in every recording): busy and ringing calls never reach
		// StasisStart, and nothing may precede call.created.
		if ev.Channel != nil && ev.Channel.ID == chID {
			c.channel = ev.Channel.Name
		} else if ev.Peer != nil {
			c.channel = ev.Peer.Name
		}
		out = append(out, t.createdLocked(c, at, ev.Args, false, raw))
	}
	switch ev.Type {
	case "StasisStart":
		c.inStasis = true
		if ev.Channel != nil {
			c.channel = ev.Channel.Name
			out = append(out, t.stateLocked(c, stateOf(ev.Channel.State), at, raw)...)
		}
	case "ChannelStateChange":
		out = append(out, t.stateLocked(c, stateOf(ev.Channel.State), at, raw)...)
	case "Dial":
		if ev.DialStatus == "RINGING" {
			out = append(out, t.stateLocked(c, gateway.StateRinging, at, raw)...)
		}
		if finalDialStatus(ev.DialStatus) {
			c.dialStatus = ev.DialStatus
		}
	case "ChannelHangupRequest":
		// A soft hangup request carries Asterisk's soft-hangup flags in
		// "cause" (32 = AST_SOFTHANGUP_EXPLICIT), not a Q.850 cause, and
		// can be withdrawn (async goto of continue/redirect): it ends
		// nothing. A hard request with a cause is the end, and says why.
		if !ev.Soft && ev.Cause > 0 {
			out = append(out, t.endLocked(c, ev.Cause, "", ReasonRemote, at, raw))
		} else if !ev.Soft {
			c.farEnd = true
		}
	case "StasisEnd":
		// A channel that entered Stasis from the dialplan may deliver no
		// ChannelDestroyed after StasisEnd (inbound-sip.txt): the call ends
		// here, with the best cause known.
		cause, reason := 16, ReasonLeftStasis
		if r := cmp.Or(c.ourReason, c.tryReason); r != "" {
			cause, reason = reasonCause[r], ReasonAPI
		} else if c.farEnd {
			reason = ReasonRemote
		}
		out = append(out, t.endLocked(c, cause, "", reason, at, raw))
	case "ChannelDestroyed":
		out = append(out, t.endLocked(c, ev.Cause, ev.CauseText, ReasonRemote, at, raw))
	case "ChannelDtmfReceived":
		out = append(out, t.event(c, gateway.EvCallDTMF, at, gateway.DTMFData{Digit: ev.Digit, DurationMS: ev.DurationMS}, raw))
	case "ChannelHold":
		out = append(out, t.holdLocked(c, true, gateway.HoldByRemote, at, raw))
	case "ChannelUnhold":
		out = append(out, t.holdLocked(c, false, gateway.HoldByRemote, at, raw))
	case "PlaybackStarted", "PlaybackFinished":
		if ev.Playback == nil {
			break
		}
		typ := gateway.EvCallPlaybackStarted
		if ev.Type == "PlaybackFinished" {
			typ = gateway.EvCallPlaybackFinished
		}
		out = append(out, t.event(c, typ, at, gateway.PlaybackData{PlaybackID: ev.Playback.ID, Media: userMedia(c.tenant, ev.Playback.MediaURI), State: ev.Playback.State}, raw))
	case "RecordingStarted", "RecordingFinished", "RecordingFailed":
		if ev.Recording == nil {
			break
		}
		typ := map[string]gateway.EventType{
			"RecordingStarted":  gateway.EvCallRecordingStarted,
			"RecordingFinished": gateway.EvCallRecordingFinished,
			"RecordingFailed":   gateway.EvCallRecordingFailed,
		}[ev.Type]
		r := ev.Recording
		name := userRecordingName(c.tenant, r.Name)
		out = append(out, t.event(c, typ, at, gateway.RecordingData{Name: name, Format: r.Format, State: r.State, Duration: r.Duration, Cause: r.Cause}, raw))
	case "ChannelEnteredBridge", "ChannelLeftBridge":
		if ev.Bridge == nil {
			break
		}
		b := gateway.BridgeID(ev.Bridge.ID)
		if ev.Type == "ChannelEnteredBridge" {
			c.bridge = b
			out = append(out, t.event(c, gateway.EvCallBridged, at, gateway.BridgedData{BridgeID: b}, raw))
		} else {
			out = append(out, t.event(c, gateway.EvCallUnbridged, at, gateway.BridgedData{BridgeID: b}, raw))
			c.bridge = ""
		}
	}
	return compact(out)
}

// bridgeEventLocked maps bridge.created/destroyed. A bridge created through
// callgw carries its creator's tenant; bridge.created was published when
// CreateBridge succeeded (Asterisk sends BridgeCreated only to apps
// subscribed to all bridges), and bridge.destroyed is published once, from
// BridgeDestroyed or from callgw's own DELETE, whichever comes first. Other
// bridges carry the node's default tenant.
func (t *tracker) bridgeEventLocked(ev *ariEvent, id gateway.BridgeID, at time.Time, raw []byte) []*gateway.Event {
	var typ gateway.EventType
	switch ev.Type {
	case "BridgeCreated":
		if t.bridges[id] != nil {
			return nil // announced by CreateBridge
		}
		typ = gateway.EvBridgeCreated
	case "BridgeDestroyed":
		if t.bridges[id] != nil {
			return compact([]*gateway.Event{t.bridgeGoneLocked(id, at, raw)})
		}
		if t.deadBridges.has(gateway.CallID(id)) {
			return nil // announced when callgw destroyed it
		}
		typ = gateway.EvBridgeDestroyed
	default:
		return nil
	}
	e := &gateway.Event{ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: t.tenant, BridgeID: id, ARI: raw}
	if ev.Bridge != nil {
		e.Data, _ = json.Marshal(gateway.BridgeData{Name: ev.Bridge.Name, Type: ev.Bridge.Type})
	}
	return []*gateway.Event{e}
}

// holdLocked moves c on or off hold and returns call.hold / call.unhold on
// a change (nil otherwise): an API hold and the party's own hold are one
// state, so neither is announced twice.
func (t *tracker) holdLocked(c *call, on bool, source string, at time.Time, raw []byte) *gateway.Event {
	if c.held == on {
		return nil
	}
	c.held = on
	typ := gateway.EvCallHold
	if !on {
		typ = gateway.EvCallUnhold
	}
	return t.event(c, typ, at, gateway.HoldData{Source: source}, raw)
}

// handleHold applies a successful hold/unhold command to call id.
func (t *tracker) handleHold(id gateway.CallID, on bool) []*gateway.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || !c.created {
		return nil
	}
	return compact([]*gateway.Event{t.holdLocked(c, on, gateway.HoldByAPI, at, nil)})
}

// bridgeRec is the worker's memory of a bridge created through callgw:
// small, forgotten once the bridge is destroyed.
type bridgeRec struct {
	id        gateway.BridgeID
	tenant    string
	typ, name string
	createdAt time.Time
	pending   bool // CreateBridge registered it; POST /bridges not answered yet
}

func (b *bridgeRec) data() gateway.BridgeData { return gateway.BridgeData{Name: b.name, Type: b.typ} }

// addBridge remembers a bridge; false when the id is in use.
func (t *tracker) addBridge(b *bridgeRec) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.bridges[b.id]; ok {
		return false
	}
	t.bridges[b.id] = b
	return true
}

// bridge returns the bridge id of tenant, or nil.
func (t *tracker) bridge(tenant string, id gateway.BridgeID) *bridgeRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bridges[id]
	if b == nil || b.tenant != tenant || b.pending {
		return nil
	}
	return b
}

// bridgesOf returns the bridges of tenant.
func (t *tracker) bridgesOf(tenant string) []*bridgeRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*bridgeRec
	for _, b := range t.bridges {
		if b.tenant == tenant && !b.pending {
			out = append(out, b)
		}
	}
	return out
}

// bridgeIDs returns the ids of the bridges created through callgw.
func (t *tracker) bridgeIDs() []gateway.BridgeID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]gateway.BridgeID, 0, len(t.bridges))
	for id, b := range t.bridges {
		if !b.pending {
			out = append(out, id)
		}
	}
	return out
}

// knownBridge reports whether id is a bridge callgw remembers or destroyed.
func (t *tracker) knownBridge(id gateway.BridgeID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.bridges[id]
	return ok || t.deadBridges.has(gateway.CallID(id))
}

// forgetBridge drops a bridge without publishing anything (its creation
// failed).
func (t *tracker) forgetBridge(id gateway.BridgeID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.bridges, id)
}

// bridgeEvent builds an event of bridge b (no call, no seq).
func (t *tracker) bridgeEvent(b *bridgeRec, typ gateway.EventType, at time.Time, raw []byte) *gateway.Event {
	data, _ := json.Marshal(b.data())
	return &gateway.Event{ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: b.tenant, BridgeID: b.id, Data: data, ARI: raw}
}

// bridgeGoneLocked forgets bridge id and returns its bridge.destroyed, or
// nil when it was already forgotten.
func (t *tracker) bridgeGoneLocked(id gateway.BridgeID, at time.Time, raw []byte) *gateway.Event {
	b := t.bridges[id]
	if b == nil {
		return nil
	}
	delete(t.bridges, id)
	t.deadBridges.add(gateway.CallID(id))
	return t.bridgeEvent(b, gateway.EvBridgeDestroyed, at, raw)
}

// handleBridgeGone ends a bridge that callgw destroyed or found missing.
func (t *tracker) handleBridgeGone(id gateway.BridgeID) []*gateway.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return compact([]*gateway.Event{t.bridgeGoneLocked(id, at, nil)})
}

func (t *tracker) adoptLocked(ch *ariChannel, m meta, at time.Time) *call {
	c := &call{
		id: gateway.CallID(ch.ID), tenant: m.tenant, tags: m.tags, dir: m.dir,
		channel: ch.Name, state: stateOf(ch.State), createdAt: parseTime(ch.Creationtime),
	}
	if c.createdAt.IsZero() {
		c.createdAt = at
	}
	if c.dir == "" {
		c.dir = gateway.Inbound
	}
	if c.dir == gateway.Inbound {
		c.from = ch.Caller.Number
		if c.from == "" {
			c.from = ch.Caller.Name
		}
		c.to = ch.Dialplan.Exten
	}
	if c.state == gateway.StateUp {
		c.answeredAt = at
	}
	t.calls[c.id] = c
	return c
}

// handleSeen reconciles a call with a channel read over REST after a
// (re)connect: an unknown channel in the app is adopted (m not nil), a
// known one is announced if it was not yet and moved forward to the
// channel's state. Events are published only for what changed.
func (t *tracker) handleSeen(ch *ariChannel, m *meta) []*gateway.Event {
	at := t.now()
	id := gateway.CallID(ch.ID)
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil {
		if m == nil || t.dead.has(id) {
			return nil
		}
		c = t.adoptLocked(ch, *m, at)
		// A restarted worker has lost the seq of the calls it adopts;
		// starting from the clock in microseconds keeps each call's seq
		// increasing across worker restarts (a call never has a million
		// events per second) and below 2^53, exact in JavaScript.
		c.seq = uint64(at.UnixMicro())
		return []*gateway.Event{t.createdLocked(c, at, ch.stasisArgs(), true, nil)}
	}
	var out []*gateway.Event
	if c.channel == "" {
		c.channel = ch.Name
	}
	if !c.created {
		out = append(out, t.createdLocked(c, at, nil, false, nil))
	}
	out = append(out, t.stateLocked(c, stateOf(ch.State), at, nil)...)
	return out
}

// handleGone ends a call whose channel no longer exists (404 on re-read).
func (t *tracker) handleGone(id gateway.CallID) []*gateway.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || c.pending {
		return nil
	}
	cause := 0
	if c.ourReason != "" {
		cause = reasonCause[c.ourReason]
	}
	return compact([]*gateway.Event{t.endLocked(c, cause, "", ReasonLost, at, nil)})
}

func compact(evs []*gateway.Event) []*gateway.Event {
	return slices.DeleteFunc(evs, func(e *gateway.Event) bool { return e == nil })
}
