package arisim

import (
	"strconv"
	"strings"
	"time"
)

// TestContext is the reference dialplan context the simulator implements (deploy/asterisk/extensions.conf).
const TestContext = "callgw-test"

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
	if c.tech != "Local" || s.localExists(c) {
		dialEv("") // a Local call to no extension fails before Dial begins
	}
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
	if n, ok := slowSeconds(exten); ok {
		return localPlan{ringFor: time.Duration(n) * time.Second, outcome: "answer", next: "Wait", data: "3600"}, true
	}
	return localPlan{}, false
}

// slowSeconds reads extension slow<N> (_slowZ and _slowZX: N from 1 to 99),
// which rings N seconds like a real phone, then answers.
func slowSeconds(exten string) (int, bool) {
	d, ok := strings.CutPrefix(exten, "slow")
	if !ok || len(d) < 1 || len(d) > 2 || d[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	return n, err == nil && n > 0 && strconv.Itoa(n) == d
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

// localExists reports whether the ;2 half of the Local pair c has an
// extension to run.
func (s *Server) localExists(c *channel) bool {
	_, ok := s.plan(c.peer.dialplan.Context, c.peer.ext)
	return ok
}

// runLocal plays the dialplan on the ;2 half of a Local pair c, in the recorded event order.
func (s *Server) runLocal(c *channel, dialEv func(string), onAnswer func(), ringTimer func()) {
	p := c.peer
	ctx := p.dialplan.Context
	lp, ok := s.plan(ctx, p.ext)
	if !ok {
		// local_call: "No such extension/context" → the dial fails at once,
		// and Asterisk publishes no Dial event for it (dial.c hangs the
		// attempt up before any): both halves are only destroyed.
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
// makes it move on ~100 ms later (observed in shared/ari-recordings/answer-lifecycle.txt: Wait
// 100 ms after the hold).
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
