package arisim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TestContext is the reference dialplan context the simulator implements (deploy/asterisk/extensions.conf).
const TestContext = "callgw-test"

// Endpoint configures how a simulated PJSIP/<name> endpoint answers calls to it.
type Endpoint struct {
	// Outcome: "answer" (default), "busy", "congestion", "ring" (rings until the originate
	// timeout), "noanswer" (same as ring), "reject" (cause 21), "unavailable" (cause 20).
	Outcome string
	// RingFor is how long it rings before Outcome happens (default 0: at once).
	RingFor time.Duration
	// SendDTMF, when set, is sent by the far end once answered (ChannelDtmfReceived on the channel).
	SendDTMF string
	// HangupAfter, when > 0, makes the far end hang up (cause 16) that long after answering.
	HangupAfter time.Duration
	// Offline makes the endpoint unregistered: originate fails as Asterisk's does (500).
	Offline bool

	channels map[string]bool
}

// AddEndpoint configures PJSIP/<name>; calling it again replaces the behaviour.
func (s *Server) AddEndpoint(name string, ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep.channels = map[string]bool{}
	if old := s.endpoints[name]; old != nil {
		ep.channels = old.channels
	}
	s.endpoints[name] = &ep
}

// RemoveEndpoint forgets PJSIP/<name>.
func (s *Server) RemoveEndpoint(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.endpoints, name)
}

// originateReq is the parsed POST /channels body/query.
type originateReq struct {
	endpoint, extension, context, label, app, appArgs, callerID string
	priority                                                    int64
	timeout                                                     int
	channelID, otherID, originator, formats                     string
	vars                                                        map[string]string
	create                                                      bool // POST /channels/create
}

func parseOriginate(p params, channelID string, create bool) (originateReq, error) {
	r := originateReq{
		endpoint: p.str("endpoint"), extension: p.str("extension"), context: p.str("context"),
		label: p.str("label"), app: p.str("app"), appArgs: p.str("appArgs"), callerID: p.str("callerId"),
		priority: int64(p.num("priority", 0)), timeout: p.num("timeout", 30),
		channelID: channelID, otherID: p.str("otherChannelId"), originator: p.str("originator"),
		formats: p.str("formats"), create: create,
	}
	if r.channelID == "" {
		r.channelID = p.str("channelId")
	}
	vars, err := p.variables()
	if err != nil {
		return r, err
	}
	r.vars = vars
	return r, nil
}

// originate implements ari_channels_handle_originate_with_id (and create). Caller holds s.mu.
func (s *Server) originate(r originateReq) (*channel, error) {
	if len(r.channelID) > 127 || len(r.otherID) > 127 {
		return nil, errf(400, "Uniqueid length exceeds maximum of 127")
	}
	if r.endpoint == "" {
		return nil, errf(400, "Endpoint must be specified")
	}
	if r.originator != "" && r.formats != "" {
		return nil, errf(400, "Originator and formats can't both be specified")
	}
	tech, res, _ := strings.Cut(r.endpoint, "/")
	if tech == "" || res == "" {
		return nil, errf(400, "Invalid endpoint specified")
	}
	if r.create {
		if r.app == "" {
			return nil, errf(400, "Application name is required") // the spec marks app as required
		}
	} else if r.app == "" && r.extension == "" {
		return nil, errf(400, "Application or extension must be specified")
	}
	if r.originator != "" && s.channels[r.originator] == nil {
		return nil, errf(400, "Provided originator channel was not found")
	}
	if r.formats != "" {
		for _, f := range splitList(r.formats) {
			if !knownFormats[f] {
				return nil, errf(400, "Provided format ("+f+") was not found")
			}
		}
	}
	if r.channelID != "" && s.channels[r.channelID] != nil || r.otherID != "" && s.channels[r.otherID] != nil {
		return nil, errf(409, "Channel with given unique ID already exists")
	}
	var c *channel
	switch {
	case strings.EqualFold(tech, "Local"):
		c = s.newLocalPair(res, r.channelID, r.otherID)
	case strings.EqualFold(tech, "PJSIP"):
		ep := s.endpoints[res]
		if ep == nil || ep.Offline {
			// chan_pjsip: "Unable to create PJSIP channel - endpoint was not found" → ast_dial_prerun fails.
			return nil, errAllocFailed
		}
		id := r.channelID
		if id == "" {
			id = s.newID()
		}
		s.techN["PJSIP"]++
		c = s.newChannel(id, fmt.Sprintf("PJSIP/%s-%08x", res, s.techN["PJSIP"]), "PJSIP")
		c.resource, c.endpoint = res, ep
		c.protocolID = fmt.Sprintf("%s-%d@sim", strings.ReplaceAll(id, ".", ""), s.uniq)
		ep.channels[id] = true
	default:
		// ast_request fails for an unknown technology → ast_dial_prerun fails.
		return nil, errAllocFailed
	}
	if r.callerID != "" {
		name, num := parseCallerID(r.callerID)
		c.caller = callerJSON{Name: name, Number: num}
		c.connected = c.caller
	}
	for k, v := range r.vars {
		c.vars[k] = v
	}
	ctx, exten := "default", "s"
	if c.tech == "Local" {
		ctx, exten = localContext(res)
	}
	c.dialplan = dialplanJSON{Context: ctx, Exten: exten, Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	c.dialstring = res
	// ChannelCreated happens before the app subscribes: only subscribeAll listeners see it.
	s.emit(&event{typ: "ChannelCreated", body: map[string]any{"channel": c.json()}, allOnly: true})
	if c.peer != nil {
		s.emit(&event{typ: "ChannelCreated", body: map[string]any{"channel": c.peer.json()}, allOnly: true})
	}
	if r.app != "" {
		c.originated = true
		s.subscribe(r.app, c.id)
		if c.peer != nil {
			c.peer.originated = true
			s.subscribe(r.app, c.peer.id)
		}
	}
	if r.create {
		c.dialplan.AppName, c.dialplan.AppData = "", ""
		args := splitArgs(r.appArgs)
		s.after(0, func() {
			if !c.hungup {
				s.enterStasis(c, r.app, args, false)
			}
		})
		return c, nil
	}
	timeout := time.Duration(r.timeout) * time.Second
	switch {
	case r.timeout == -1:
		timeout = 0
	case r.timeout <= 0:
		timeout = s.cfg.RingTimeout
	}
	c.ringTmo = timeout
	s.after(0, func() { s.dial(c, r, nil) })
	return c, nil
}

var knownFormats = map[string]bool{"ulaw": true, "alaw": true, "gsm": true, "g722": true, "g729": true, "slin": true, "slin16": true, "opus": true, "wav": true, "h264": true, "vp8": true}

func localContext(res string) (ctx, exten string) {
	exten, ctx, ok := strings.Cut(res, "@")
	if !ok {
		ctx = "default"
	}
	exten, _, _ = strings.Cut(exten, "/") // Local/x@y/n options
	return ctx, exten
}

func (s *Server) newLocalPair(res, id1, id2 string) *channel {
	if id1 == "" {
		id1 = s.newID()
	}
	if id2 == "" {
		if strings.Contains(id1, ".") && strings.HasPrefix(id1, s.cfg.SystemName+"-") {
			id2 = s.newID()
		} else {
			id2 = id1 + ";2"
		}
	}
	s.localN++
	base := fmt.Sprintf("Local/%s-%08x", strings.SplitN(res, "/", 2)[0], s.localN)
	c1 := s.newChannel(id1, base+";1", "Local")
	c2 := s.newChannel(id2, base+";2", "Local")
	c1.peer, c2.peer, c1.half, c2.half = c2, c1, 1, 2
	c1.resource, c2.resource = res, res
	ctx, exten := localContext(res)
	c2.ext = exten
	c2.dialplan = dialplanJSON{Context: ctx, Exten: exten, Priority: 1}
	return c1
}

// parseCallerID splits `"Name" <num>` / `<num>` / `num` as ast_callerid_parse does.
func parseCallerID(v string) (name, num string) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "<"); i >= 0 {
		if j := strings.Index(v[i:], ">"); j > 0 {
			num = v[i+1 : i+j]
			name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
			return name, num
		}
	}
	if strings.Trim(v, "0123456789+*#") == "" {
		return "", v
	}
	return strings.Trim(v, `"`), ""
}

func splitArgs(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// dial runs the outbound call of c (originate, or POST /channels/{id}/dial with caller).
func (s *Server) dial(c *channel, r originateReq, caller *channel) {
	if c.hungup {
		return
	}
	dialEv := func(status string) {
		body := map[string]any{"dialstatus": status, "forward": "", "dialstring": c.dialstring, "peer": c.json()}
		subj := []string{c.id}
		if caller != nil {
			body["caller"] = caller.json()
			subj = append(subj, caller.id)
		}
		s.emit(&event{typ: "Dial", body: body, channels: subj})
	}
	dialEv("")
	onAnswer := func() {
		if r.create || c.stasisApp != "" {
			return // /dial on a channel already in Stasis: nothing more
		}
		if r.app != "" {
			if !s.appRegistered(r.app) {
				// Stasis(): "Stasis app '…' not registered": STASISSTATUS=FAILED and the
				// originate thread hangs the channel up.
				c.dialplan.AppName, c.dialplan.AppData = "Stasis", r.app
				s.setVar(c, "STASISSTATUS", "")
				s.setVar(c, "STASISSTATUS", "FAILED")
				s.after(0, func() { s.hangupNow(c, 16) })
				return
			}
			s.enterStasis(c, r.app, splitArgs(r.appArgs), true)
			return
		}
		s.runDialplan(c, r.context, r.extension, r.priority)
	}
	var ringTimer func()
	if c.ringTmo > 0 {
		ringTimer = func() {
			s.after(c.ringTmo, func() {
				if c.hungup || c.state == "Up" {
					return
				}
				s.noAnswer(c, dialEv)
			})
		}
	}
	if c.tech == "Local" {
		s.runLocal(c, dialEv, onAnswer, ringTimer)
		return
	}
	s.runEndpoint(c, dialEv, onAnswer, ringTimer)
}

// localPlan is what the ;2 half of a Local channel does for one extension of callgw-test.
type localPlan struct {
	ringFor     time.Duration // Ringing() + Wait before the outcome (0: none)
	outcome     string        // answer, busy, congestion, ring
	next, data  string        // application after Answer(): Wait 3600, Echo, SendDTMF …
	dtmf        string        // digits SendDTMF sends
	hangupAfter time.Duration // Hangup() that long after answering (0: never)
}

// plan returns the behaviour of exten in context callgw-test: the reference dialplan, or an
// extension a test added with AddExtension.
func (s *Server) plan(ctx, exten string) (localPlan, bool) {
	if ctx != TestContext {
		return localPlan{}, false
	}
	if ep, ok := s.extensions[exten]; ok {
		lp := localPlan{ringFor: ep.RingFor, outcome: ep.Outcome, next: "Wait", data: "3600", dtmf: ep.SendDTMF, hangupAfter: ep.HangupAfter}
		switch lp.outcome {
		case "":
			lp.outcome = "answer"
		case "noanswer":
			lp.outcome = "ring"
		case "reject", "unavailable":
			lp.outcome = "congestion"
		}
		if lp.dtmf != "" {
			lp.next, lp.data = "SendDTMF", lp.dtmf
		}
		return lp, true
	}
	switch exten {
	case "answer":
		return localPlan{outcome: "answer", next: "Wait", data: "3600"}, true
	case "echo":
		return localPlan{outcome: "answer", next: "Echo"}, true
	case "dtmf":
		return localPlan{outcome: "answer", next: "SendDTMF", data: "123#", dtmf: "123#"}, true
	case "busy", "congestion", "ring":
		return localPlan{outcome: exten}, true
	case "slow":
		return localPlan{ringFor: 1500 * time.Millisecond, outcome: "answer", next: "Wait", data: "3600"}, true
	}
	return localPlan{}, false
}

// AddExtension adds (or replaces) extension exten of context callgw-test for this simulator only:
// Local/<exten>@callgw-test then rings for ep.RingFor and ends as ep.Outcome ("answer" default,
// "busy", "congestion", "ring"), sends ep.SendDTMF after answering and hangs up after
// ep.HangupAfter. (A real Asterisk needs the same extension in its dialplan.)
func (s *Server) AddExtension(exten string, ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extensions[exten] = ep
}

// runLocal plays the dialplan on the ;2 half of a Local pair c, in the recorded event order.
func (s *Server) runLocal(c *channel, dialEv func(string), onAnswer func(), ringTimer func()) {
	p := c.peer
	ctx := p.dialplan.Context
	lp, ok := s.plan(ctx, p.ext)
	if !ok {
		// local_call: "No such extension/context" → the dial fails at once.
		dialEv("CHANUNAVAIL")
		p.hungup = true
		s.destroy(p, 0)
		c.hungup = true
		s.destroy(c, 0)
		return
	}
	p.state = "Ring"
	prio := int64(1)
	if lp.ringFor > 0 || lp.outcome == "ring" {
		s.setDialplan(p, ctx, p.ext, prio, "Ringing", "", true)
		c.state = "Ringing"
		s.emit(s.chanEvent("ChannelStateChange", c))
		wait := "3600"
		if lp.outcome != "ring" {
			wait = strconv.FormatFloat(lp.ringFor.Seconds(), 'f', -1, 64)
		}
		prio++
		s.setDialplan(p, ctx, p.ext, prio, "Wait", wait, true)
		dialEv("RINGING")
		if ringTimer != nil {
			ringTimer()
		}
		if lp.outcome == "ring" {
			return
		}
		prio++
		s.after(lp.ringFor, func() {
			if !c.hungup && !p.hungup {
				s.localOutcome(c, lp, prio, dialEv, onAnswer)
			}
		})
		return
	}
	s.localOutcome(c, lp, prio, dialEv, onAnswer)
}

// localOutcome runs Answer()/Busy()/Congestion() at priority prio of the ;2 half.
func (s *Server) localOutcome(c *channel, lp localPlan, prio int64, dialEv func(string), onAnswer func()) {
	p := c.peer
	ctx := p.dialplan.Context
	switch lp.outcome {
	case "answer":
		s.setDialplan(p, ctx, p.ext, prio, "Answer", "", true)
		s.setState(p, "Up")
		s.setState(c, "Up")
		dialEv("ANSWER")
		onAnswer()
		s.answerStep(p, s.cfg.DialplanStep, func() {
			s.setDialplan(p, ctx, p.ext, prio+1, lp.next, lp.data, true)
			if lp.dtmf != "" {
				s.sendDigits(c, lp.dtmf, s.cfg.DTMFInterval, func() {
					s.setDialplan(p, ctx, p.ext, prio+2, "Wait", "3600", true)
				})
			}
		})
		if lp.hangupAfter > 0 {
			s.after(lp.hangupAfter, func() { s.farEndHangup(c, 16) })
		}
	case "busy", "congestion":
		cause, status, app := 17, "BUSY", "Busy"
		if lp.outcome == "congestion" {
			cause, status, app = 34, "CONGESTION", "Congestion"
		}
		s.setDialplan(p, ctx, p.ext, prio, app, "", true)
		// Busy() and Congestion() both set the state of a channel that is not up to Busy
		// (pbx_builtins.c indicate_busy/indicate_congestion): a ChannelStateChange before the Dial.
		s.setState(p, "Busy")
		dialEv(status)
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", 0))
		c.hungup = true
		s.destroy(c, 0)
		p.hungup = true
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", 16, "soft", true))
		p.dialplan.AppName, p.dialplan.AppData = "", ""
		s.destroy(p, cause)
	}
}

// answerStep schedules what follows Answer() on a Local ;2 half; interruptAnswer may bring it forward.
func (s *Server) answerStep(p *channel, d time.Duration, fn func()) {
	p.stepSeq++
	seq := p.stepSeq
	p.stepFn = fn
	s.after(d, func() {
		if p.hungup || p.stepSeq != seq || p.stepFn == nil {
			return
		}
		p.stepFn = nil
		fn()
	})
}

// interruptAnswer: a control frame (hold) towards a Local ;2 half that still sits in Answer()'s wait
// makes it move on ~100 ms later (observed in answer-lifecycle: Wait 100 ms after the hold).
func (s *Server) interruptAnswer(c *channel) {
	p := c.peer
	if p == nil || p.stepFn == nil {
		return
	}
	fn := p.stepFn
	s.answerStep(p, 100*time.Millisecond, fn)
}

// noAnswer ends an unanswered call at the originate timeout (cause 19), in the recorded order.
func (s *Server) noAnswer(c *channel, _ func(string)) {
	// No Dial NOANSWER reaches the app (recorded): the dial is torn down with the channels.
	if p := c.peer; p != nil {
		p.hungup = true
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", 19))
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", 16, "soft", true))
		p.dialplan.AppName, p.dialplan.AppData = "", ""
		s.destroy(p, 19)
	}
	c.hungup = true
	s.destroy(c, 19)
}

// runEndpoint simulates a PJSIP endpoint's answer according to its configured behaviour.
func (s *Server) runEndpoint(c *channel, dialEv func(string), onAnswer func(), ringTimer func()) {
	ep := c.endpoint
	s.setState(c, "Ringing")
	dialEv("RINGING")
	outcome := func() {
		if c.hungup {
			return
		}
		switch ep.Outcome {
		case "", "answer":
			s.setState(c, "Up")
			dialEv("ANSWER")
			onAnswer()
			if ep.SendDTMF != "" {
				s.after(s.cfg.DialplanStep, func() { s.sendDigits(c, ep.SendDTMF, s.cfg.DTMFInterval, nil) })
			}
			if ep.HangupAfter > 0 {
				s.after(ep.HangupAfter, func() { s.farEndHangup(c, 16) })
			}
		case "busy", "congestion", "reject", "unavailable":
			cause, status := map[string]int{"busy": 17, "congestion": 34, "reject": 21, "unavailable": 20}[ep.Outcome], "BUSY"
			switch ep.Outcome {
			case "congestion":
				status = "CONGESTION"
			case "reject", "unavailable":
				status = "CHANUNAVAIL"
			}
			dialEv(status)
			c.hungup = true
			s.emit(s.chanEvent("ChannelHangupRequest", c, "cause", cause))
			s.destroy(c, cause)
		default: // ring / noanswer
			if ringTimer != nil {
				ringTimer()
			}
		}
	}
	if ep.RingFor > 0 {
		s.after(ep.RingFor, outcome)
	} else {
		outcome()
	}
}

// sendDigits makes the far end send digits to c: ChannelDtmfReceived on c, one per interval.
func (s *Server) sendDigits(c *channel, digits string, interval time.Duration, done func()) {
	for i, d := range digits {
		digit := string(d)
		s.after(time.Duration(i)*interval, func() {
			if !c.hungup {
				s.emit(s.chanEvent("ChannelDtmfReceived", c, "digit", digit, "duration_ms", 100))
				s.bridgeDTMF(c, digit, 100)
			}
		})
	}
	if done != nil {
		s.after(time.Duration(len(digits))*interval, func() {
			if !c.hungup && (c.peer == nil || !c.peer.hungup) {
				done()
			}
		})
	}
}

// runDialplan runs a channel that was originated into the dialplan (context/extension) once it
// answered. The inbound context sends it to Stasis(InboundApp,exten); the reference context's
// extensions behave as in extensions.conf; anything else hangs up (no such extension).
func (s *Server) runDialplan(c *channel, ctx, exten string, prio int64) {
	if ctx == "" {
		ctx = "default"
	}
	if prio <= 0 {
		prio = 1
	}
	c.originated = false
	switch {
	case ctx == s.cfg.InboundContext:
		s.setDialplan(c, ctx, exten, prio, "Stasis", s.cfg.InboundApp+","+exten, true)
		if !s.appRegistered(s.cfg.InboundApp) {
			s.farEndHangup(c, 16)
			return
		}
		s.enterStasis(c, s.cfg.InboundApp, []string{exten}, false)
	case ctx == TestContext && s.knownExten(exten):
		switch exten {
		case "busy":
			s.setDialplan(c, ctx, exten, prio, "Busy", "", true)
			s.farEndHangup(c, 17)
		case "congestion":
			s.setDialplan(c, ctx, exten, prio, "Congestion", "", true)
			s.farEndHangup(c, 34)
		default:
			s.setDialplan(c, ctx, exten, prio, "Wait", "3600", true)
		}
	default:
		s.setDialplan(c, ctx, exten, prio, "", "", false)
		s.farEndHangup(c, 16)
	}
}

func (s *Server) knownExten(exten string) bool {
	_, ok := s.plan(TestContext, exten)
	return ok
}

// ErrAppNotRegistered is returned by InboundCall when no WebSocket serves the Stasis app:
// Asterisk's Stasis() would fail and hang the call up.
var ErrAppNotRegistered = errors.New("arisim: stasis application not registered")

// InboundCall makes a call from the PJSIP endpoint from arrive for exten and enter
// Stasis(InboundApp,appArgs…) from the dialplan, as context callgw-in does. With no appArgs the
// dialled extension is the single argument (Stasis(callgw,${EXTEN})).
func (s *Server) InboundCall(from, exten string, appArgs ...string) (string, error) {
	return s.InboundCallApp(s.cfg.InboundApp, from, exten, appArgs...)
}

// InboundCallApp is InboundCall into a chosen Stasis app.
func (s *Server) InboundCallApp(appName, from, exten string, appArgs ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("arisim: closed")
	}
	if !s.appRegistered(appName) {
		return "", ErrAppNotRegistered
	}
	if len(appArgs) == 0 {
		appArgs = []string{exten}
	}
	id := s.newID()
	s.techN["PJSIP"]++
	c := s.newChannel(id, fmt.Sprintf("PJSIP/%s-%08x", from, s.techN["PJSIP"]), "PJSIP")
	c.state = "Ring"
	c.resource = from
	c.protocolID = fmt.Sprintf("%d-%d@127.0.0.1", s.uniq, time.Now().UnixNano()%100000)
	c.caller = callerJSON{Name: from, Number: from}
	c.dialplan = dialplanJSON{Context: s.cfg.InboundContext, Exten: exten, Priority: 1}
	if ep := s.endpoints[from]; ep != nil {
		c.endpoint = ep
		ep.channels[id] = true
	}
	s.emit(&event{typ: "ChannelCreated", body: map[string]any{"channel": c.json()}, allOnly: true})
	appData := appName + "," + strings.Join(appArgs, ",")
	c.dialplan.AppName, c.dialplan.AppData = "Stasis", appData
	s.emit(&event{typ: "ChannelDialplan", body: map[string]any{"channel": c.json(), "dialplan_app": "Stasis", "dialplan_app_data": appData}, allOnly: true})
	s.enterStasis(c, appName, appArgs, false)
	return id, nil
}

// bridgeDTMF passes a digit c received on to the other channels of c's bridge, as a bridge does
// with DTMF frames: a Local ;1 half sends it through its pair, so its ;2 half raises
// ChannelDtmfReceived (observed on 22.10.1); other channels send it to their far end (no event).
func (s *Server) bridgeDTMF(c *channel, digit string, duration int) {
	if c.bridge == nil {
		return
	}
	for _, o := range c.bridge.channels {
		if o != c && o.half == 1 && o.peer != nil && !o.peer.hungup {
			s.emit(s.chanEvent("ChannelDtmfReceived", o.peer, "digit", digit, "duration_ms", duration))
		}
	}
}
