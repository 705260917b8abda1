package arisim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

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
	contacts map[string]bool // registered contacts (RegisterContact)
}

// AddEndpoint configures PJSIP/<name>; calling it again replaces the behaviour.
func (s *Server) AddEndpoint(name string, ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep.channels = map[string]bool{}
	if old := s.endpoints[name]; old != nil {
		ep.channels, ep.contacts = old.channels, old.contacts
	}
	s.endpoints[name] = &ep
}

// RemoveEndpoint forgets PJSIP/<name>.
func (s *Server) RemoveEndpoint(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.endpoints, name)
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
		s.endpointChanged(from, ep)
	}
	s.emit(&event{typ: "ChannelCreated", body: map[string]any{"channel": c.json()}, allOnly: true})
	appData := appName + "," + strings.Join(appArgs, ",")
	c.dialplan.AppName, c.dialplan.AppData = "Stasis", appData
	s.emit(&event{typ: "ChannelDialplan", body: map[string]any{"channel": c.json(), "dialplan_app": "Stasis", "dialplan_app_data": appData}, allOnly: true})
	s.enterStasis(c, appName, appArgs, false)
	return id, nil
}
