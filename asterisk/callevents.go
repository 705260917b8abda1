package asterisk

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/callapi"
)

// Hangup reasons published in callapi.HangupData.Reason.
const (
	ReasonAPI        = "api"         // hung up by a callgw command
	ReasonTimeout    = "timeout"     // hung up by callgw: wait=answered deadline passed
	ReasonRemote     = "remote"      // ended by the far end or by Asterisk
	ReasonLeftStasis = "left_stasis" // left the Stasis application without a hangup
	ReasonLost       = "lost"        // gone when the worker re-read its channels (ended while ARI was disconnected)
)

// meta is what the worker learns about a channel it adopts: its tenant,
// tags and direction (channel variables CALLGW_TENANT, CALLGW_TAGS,
// CALLGW_DIRECTION).
type meta struct {
	tenant string
	tags   []string
	dir    callapi.Direction
}

// event builds the next event of c. Caller holds t.mu.
func (t *callTable) event(c *call, typ callapi.EventType, at time.Time, data any, raw []byte) *callapi.Event {
	c.seq++
	e := &callapi.Event{
		ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: c.tenant,
		CallID: c.id, Seq: c.seq, Tags: c.tags, BridgeID: c.bridge, ARI: publicARI(raw),
	}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	return e
}

func (t *callTable) createdLocked(c *call, at time.Time, args []string, adopted bool, raw []byte) *callapi.Event {
	c.created = true
	d := callapi.CreatedData{Call: *publicCall(c.snapshot(t.node)), Args: args, Adopted: adopted}
	return t.event(c, callapi.EvCallCreated, at, d, raw)
}

// stateLocked moves c to st and returns the events it causes: ringing and
// answered are published once, never backwards.
func (t *callTable) stateLocked(c *call, st callapi.CallState, at time.Time, raw []byte) []*callapi.Event {
	switch st {
	case callapi.StateUp:
		if !c.answeredAt.IsZero() {
			return nil
		}
		if c.toStasis && !c.inStasis {
			c.state = callapi.StateUp
			return nil // call.answered comes with StasisStart
		}
		c.state, c.answeredAt = callapi.StateUp, at
		a := at
		c.signal()
		return []*callapi.Event{t.event(c, callapi.EvCallAnswered, at, callapi.StateData{State: st, AnsweredAt: &a}, raw)}
	case callapi.StateRinging:
		if c.state == callapi.StateRinging || c.state == callapi.StateUp {
			return nil
		}
		c.state = st
		return []*callapi.Event{t.event(c, callapi.EvCallRinging, at, callapi.StateData{State: st}, raw)}
	case callapi.StateBusy, callapi.StateDialing:
		if c.state != callapi.StateUp {
			c.state = st
		}
	}
	return nil
}

// endLocked publishes c's hangup (exactly once) and forgets c. cause 0 is
// refined by the Dial outcome (shared/ari-recordings/busy.txt: the originated
// side of a busy Local call is destroyed with cause 0, the outcome is in
// dialstatus).
func (t *callTable) endLocked(c *call, cause int, text, reason string, at time.Time, raw []byte) *callapi.Event {
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
	c.hangup = &callapi.Hangup{Cause: cause, CauseText: text, DialStatus: ds}
	c.state = callapi.StateEnded
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
	e := t.event(c, callapi.EvCallHangup, at, callapi.HangupData{Hangup: *c.hangup, Reason: reason}, raw)
	e.ID = callapi.HangupEventID(c.tenant, c.id)
	return e
}

// handleEvent maps one ARI event to CallAPI events. adopt, when not nil,
// is what the dispatcher learnt about an unknown channel entering Stasis.
func (t *callTable) handleEvent(ev *ariEvent, raw []byte, adopt *meta) []*callapi.Event {
	at := parseTime(ev.Timestamp)
	if at.IsZero() {
		at = t.now()
	}
	chID, brID := ev.subject()
	if chID == "" {
		if brID == "" {
			return nil
		}
		return t.bridges.handleEvent(ev, callapi.BridgeID(brID), at, raw)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id := callapi.CallID(chID)
	c := t.calls[id]
	if c == nil {
		if ev.Type == "StasisStart" && adopt != nil && ev.Channel != nil && !t.dead.has(id) {
			c = t.adoptLocked(ev.Channel, *adopt, at)
			return []*callapi.Event{t.createdLocked(c, at, ev.Args, false, raw)}
		}
		return nil
	}
	var out []*callapi.Event
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
	out = t.lifecycleLocked(out, c, ev, at, raw)
	out = t.activityLocked(out, c, ev, at, raw)
	return compact(out)
}

// lifecycleLocked appends to out the events of c's life that ev causes:
// Stasis, channel state, Dial outcome and the end of the call.
func (t *callTable) lifecycleLocked(out []*callapi.Event, c *call, ev *ariEvent, at time.Time, raw []byte) []*callapi.Event {
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
			out = append(out, t.stateLocked(c, callapi.StateRinging, at, raw)...)
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
		// ChannelDestroyed after StasisEnd (shared/ari-recordings/inbound-sip.txt):
		// the call ends here, with the best cause known.
		cause, reason := 16, ReasonLeftStasis
		if r := cmp.Or(c.ourReason, c.tryReason); r != "" {
			cause, reason = reasonCause(r), ReasonAPI
		} else if c.farEnd {
			reason = ReasonRemote
		}
		out = append(out, t.endLocked(c, cause, "", reason, at, raw))
	case "ChannelDestroyed":
		out = append(out, t.endLocked(c, ev.Cause, ev.CauseText, ReasonRemote, at, raw))
	}
	return out
}

// activityLocked appends to out the events of what happens during c that ev
// reports: DTMF, hold, playbacks, recordings and bridges.
func (t *callTable) activityLocked(out []*callapi.Event, c *call, ev *ariEvent, at time.Time, raw []byte) []*callapi.Event {
	switch ev.Type {
	case "ChannelDtmfReceived":
		out = append(out, t.event(c, callapi.EvCallDTMF, at, callapi.DTMFData{Digit: ev.Digit, DurationMS: ev.DurationMS}, raw))
	case "ChannelHold":
		out = append(out, t.holdLocked(c, true, callapi.HoldByRemote, at, raw))
	case "ChannelUnhold":
		out = append(out, t.holdLocked(c, false, callapi.HoldByRemote, at, raw))
	case "PlaybackStarted", "PlaybackFinished":
		if ev.Playback == nil {
			break
		}
		typ := callapi.EvCallPlaybackStarted
		if ev.Type == "PlaybackFinished" {
			typ = callapi.EvCallPlaybackFinished
			delete(c.playing, ev.Playback.ID)
		} else {
			if c.playing[ev.Playback.ID] {
				break // unpaused: call.playback.unpaused said it
			}
			if c.playing == nil {
				c.playing = map[string]bool{}
			}
			c.playing[ev.Playback.ID] = true
		}
		out = append(out, t.event(c, typ, at, callapi.PlaybackData{PlaybackID: ev.Playback.ID, Media: userMedia(c.tenant, ev.Playback.MediaURI), State: ev.Playback.State}, raw))
	case "RecordingStarted", "RecordingFinished", "RecordingFailed":
		if ev.Recording == nil {
			break
		}
		typ := map[string]callapi.EventType{
			"RecordingStarted":  callapi.EvCallRecordingStarted,
			"RecordingFinished": callapi.EvCallRecordingFinished,
			"RecordingFailed":   callapi.EvCallRecordingFailed,
		}[ev.Type]
		r := ev.Recording
		name := userRecordingName(c.tenant, r.Name)
		out = append(out, t.event(c, typ, at, callapi.RecordingData{Name: name, Format: r.Format, State: r.State, Duration: r.Duration, Cause: r.Cause}, raw))
	case "ChannelEnteredBridge", "ChannelLeftBridge":
		if ev.Bridge == nil {
			break
		}
		b := callapi.BridgeID(ev.Bridge.ID)
		if ev.Type == "ChannelEnteredBridge" {
			c.bridge = b
			out = append(out, t.event(c, callapi.EvCallBridged, at, callapi.BridgedData{BridgeID: b}, raw))
		} else {
			out = append(out, t.event(c, callapi.EvCallUnbridged, at, callapi.BridgedData{BridgeID: b}, raw))
			c.bridge = ""
		}
	}
	return out
}

// holdLocked moves c on or off hold and returns call.hold / call.unhold on
// a change (nil otherwise): an API hold and the party's own hold are one
// state, so neither is announced twice.
func (t *callTable) holdLocked(c *call, on bool, source string, at time.Time, raw []byte) *callapi.Event {
	if c.held == on {
		return nil
	}
	c.held = on
	typ := callapi.EvCallHold
	if !on {
		typ = callapi.EvCallUnhold
	}
	return t.event(c, typ, at, callapi.HoldData{Source: source}, raw)
}

// handleHold applies a successful hold/unhold command to call id.
func (t *callTable) handleHold(id callapi.CallID, on bool) []*callapi.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || !c.created {
		return nil
	}
	return compact([]*callapi.Event{t.holdLocked(c, on, callapi.HoldByAPI, at, nil)})
}

func (t *callTable) adoptLocked(ch *ariChannel, m meta, at time.Time) *call {
	c := &call{
		id: callapi.CallID(ch.ID), tenant: m.tenant, tags: m.tags, dir: m.dir,
		channel: ch.Name, state: stateOf(ch.State), createdAt: parseTime(ch.Creationtime),
	}
	if c.createdAt.IsZero() {
		c.createdAt = at
	}
	if c.dir == "" {
		c.dir = callapi.Inbound
	}
	if c.dir == callapi.Inbound {
		c.from = ch.Caller.Number
		if c.from == "" {
			c.from = ch.Caller.Name
		}
		c.to = ch.Dialplan.Exten
	}
	if c.state == callapi.StateUp {
		c.answeredAt = at
	}
	t.calls[c.id] = c
	return c
}

// handleSeen reconciles a call with a channel read over REST after a
// (re)connect: an unknown channel in the app is adopted (m not nil), a
// known one is announced if it was not yet and moved forward to the
// channel's state. Events are published only for what changed.
func (t *callTable) handleSeen(ch *ariChannel, m *meta) []*callapi.Event {
	at := t.now()
	id := callapi.CallID(ch.ID)
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
		return []*callapi.Event{t.createdLocked(c, at, ch.stasisArgs(), true, nil)}
	}
	var out []*callapi.Event
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
func (t *callTable) handleGone(id callapi.CallID) []*callapi.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[id]
	if c == nil || c.pending {
		return nil
	}
	cause := 0
	if c.ourReason != "" {
		cause = reasonCause(c.ourReason)
	}
	return compact([]*callapi.Event{t.endLocked(c, cause, "", ReasonLost, at, nil)})
}

func compact(evs []*callapi.Event) []*callapi.Event {
	return slices.DeleteFunc(evs, func(e *callapi.Event) bool { return e == nil })
}
