package arisim

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/asterisk/hangupcause"
)

// ---- /channels: the handlers of channels.json's operations (routes.go maps the paths).

func (s *Server) listChannels(w http.ResponseWriter, _ *request) { reply(w, s.channelList(), nil) }

// originateChannel serves POST /channels and POST /channels/{channelId}.
func (s *Server) originateChannel(w http.ResponseWriter, q *request) {
	s.handleOriginate(w, q.params, q.path("channelId"), false)
}

func (s *Server) createChannel(w http.ResponseWriter, q *request) {
	s.handleOriginate(w, q.params, "", true)
}

func (s *Server) getChannel(w http.ResponseWriter, q *request) {
	c := s.channels[q.path("channelId")]
	if c == nil {
		reply(w, nil, errChannelNotFound)
		return
	}
	reply(w, c.json(), nil)
}

func (s *Server) hangupChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.handleHangup(q.path("channelId"), q.params))
}

func (s *Server) answerChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.controlOp(q.path("channelId"), func(c *channel) error {
		if c.state != "Up" {
			s.setState(c, "Up")
		}
		return nil
	}))
}

// channelNoop serves the operations that change nothing the simulator models (ring, progress,
// music on hold, silence): it checks the channel as Asterisk does and answers 204.
func (s *Server) channelNoop(w http.ResponseWriter, q *request) {
	reply(w, nil, s.controlOp(q.path("channelId"), func(*channel) error { return nil }))
}

// holdChannel: without moh_passthrough Asterisk plays MOH locally and raises no ChannelHold
// (observed).
func (s *Server) holdChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.controlOp(q.path("channelId"), func(c *channel) error { s.interruptAnswer(c); return nil }))
}

func (s *Server) muteChannel(w http.ResponseWriter, q *request) {
	dir := q.str("direction")
	if _, given := q.q["direction"]; !given && dir == "" {
		dir = "both" // the spec's defaultValue, filled in by Asterisk's generated parser
	}
	reply(w, nil, s.controlOp(q.path("channelId"), func(*channel) error {
		switch dir {
		case "in", "out", "both":
			return nil
		case "":
			return errf(400, "Direction is required")
		}
		return errf(400, "Invalid direction specified")
	}))
}

func (s *Server) sendChannelDTMF(w http.ResponseWriter, q *request) {
	reply(w, nil, s.controlOp(q.path("channelId"), func(c *channel) error {
		d := q.str("dtmf")
		if d == "" {
			return errf(400, "DTMF is required")
		}
		s.sendDTMF(c, d, q.num("before", 0), q.num("between", 100), q.num("duration", 100), q.num("after", 0))
		return nil
	}))
}

// playOnChannel serves POST …/play (id in the playbackId parameter) and …/play/{playbackId}.
func (s *Server) playOnChannel(w http.ResponseWriter, q *request) {
	pbID := q.path("playbackId")
	if pbID == "" {
		pbID = q.str("playbackId")
	}
	s.handleChannelPlay(w, q.path("channelId"), pbID, q.params)
}

func (s *Server) recordChannel(w http.ResponseWriter, q *request) {
	s.handleChannelRecord(w, q.path("channelId"), q.params)
}

func (s *Server) getChannelVar(w http.ResponseWriter, q *request) {
	getVariable(w, q, func(name string) (string, error) { return s.channelVar(q.path("channelId"), name) })
}

func (s *Server) setChannelVar(w http.ResponseWriter, q *request) {
	setVariable(w, q, func(name, value string) error { return s.setChannelVarNow(q.path("channelId"), name, value) })
}

func (s *Server) continueChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.handleContinue(q.path("channelId"), q.params))
}

func (s *Server) moveChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.handleMove(q.path("channelId"), q.params))
}

func (s *Server) redirectChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.handleRedirect(q.path("channelId"), q.params))
}

// snoopChannel serves POST …/snoop (id in the snoopId parameter) and …/snoop/{snoopId}.
func (s *Server) snoopChannel(w http.ResponseWriter, q *request) {
	snoopID := q.path("snoopId")
	if snoopID == "" {
		snoopID = q.str("snoopId")
	}
	s.handleSnoop(w, q.path("channelId"), snoopID, q.params)
}

func (s *Server) dialChannel(w http.ResponseWriter, q *request) {
	reply(w, nil, s.handleDial(q.path("channelId"), q.params))
}

// channelRTPStatistics: the simulator keeps no RTP instance, as for a channel without media.
func (s *Server) channelRTPStatistics(w http.ResponseWriter, q *request) {
	if s.channels[q.path("channelId")] == nil {
		reply(w, nil, errChannelNotFound)
		return
	}
	reply(w, nil, errf(404, "RTP info not found"))
}

func (s *Server) handleOriginate(w http.ResponseWriter, p params, id string, create bool) {
	r, err := parseOriginate(p, id, create)
	if err != nil {
		reply(w, nil, err)
		return
	}
	c, err := s.originate(r)
	if err != nil {
		reply(w, nil, err)
		return
	}
	reply(w, c.json(), nil)
}

func (s *Server) handleHangup(id string, p params) error {
	c := s.channels[id]
	if c == nil || c.hungup {
		return errChannelNotFound
	}
	reason, code := p.str("reason"), p.str("reason_code")
	cause := 16
	switch {
	case reason != "" && code != "":
		return errf(400, "The reason and reason_code can't both be specified")
	case code != "":
		n, err := strconv.Atoi(code)
		if err != nil {
			return errf(400, "Invalid reason for hangup reason code provided")
		}
		cause = n
	case reason != "":
		n, ok := hangupcause.OfReason(reason)
		if !ok {
			return errf(400, "Invalid reason for hangup reason provided")
		}
		cause = n
	}
	// The softhangup happens on the channel's own thread, after the 204.
	s.after(0, func() { s.hangupNow(c, cause) })
	return nil
}

// hangupNow hangs c up for an ARI DELETE, including a channel that is still dialling.
func (s *Server) hangupNow(c *channel, cause int) {
	if c.hungup {
		return
	}
	if c.half == 2 && c.peer != nil && !c.peer.hungup {
		// Hanging up the ;2 half ends the pair from the far side.
		s.farEndHangup(c, cause)
		return
	}
	s.hangup(c, cause, true)
}

// controlOp runs fn on a channel that must be in Stasis and in a media-capable state.
func (s *Server) controlOp(id string, fn func(*channel) error) error {
	c, err := s.findActive(id)
	if err != nil {
		return err
	}
	return fn(c)
}

func (s *Server) handleChannelPlay(w http.ResponseWriter, id, pbID string, p params) {
	c, err := s.findActive(id)
	if err == nil && p.num("skipms", 0) < 0 {
		err = errf(400, "skipms cannot be negative")
	}
	if err == nil && p.num("offsetms", 0) < 0 {
		err = errf(400, "offsetms cannot be negative")
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	pb, err := s.play("channel:"+id, pbID, p.str("lang"), p.list("media"), c.busyTill)
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Location", "/playbacks/"+pb.id)
	writeJSON(w, http.StatusCreated, pb.json())
}

func (s *Server) handleChannelRecord(w http.ResponseWriter, id string, p params) {
	if p.num("maxDurationSeconds", 0) < 0 {
		reply(w, nil, errf(400, "max_duration_seconds cannot be negative"))
		return
	}
	c, err := s.findControl(id)
	if err != nil {
		reply(w, nil, err)
		return
	}
	r, err := s.record("channel:"+id, c.tech != "Local", p)
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Location", "/recordings/live/"+r.name)
	writeJSON(w, http.StatusCreated, r.json(false))
}

// channelVar reads a channel variable, or one of the few dialplan functions the simulator knows.
func (s *Server) channelVar(id, name string) (string, error) {
	c := s.channels[id]
	if c == nil {
		return "", errf(404, "Provided channel was not found")
	}
	if strings.HasSuffix(name, ")") {
		v, ok := channelFunc(c, name)
		if !ok {
			return "", errf(500, "Unable to read provided function")
		}
		return v, nil
	}
	v, ok := c.vars[name]
	if !ok {
		return "", errVariableNotFound
	}
	return v, nil
}

// channelFunc evaluates the few dialplan functions the simulator knows.
func channelFunc(c *channel, f string) (string, bool) {
	switch f {
	case "CALLERID(num)", "CALLERID(number)":
		return c.caller.Number, true
	case "CALLERID(name)":
		return c.caller.Name, true
	case "CALLERID(all)":
		return `"` + c.caller.Name + `" <` + c.caller.Number + `>`, true
	case "CHANNEL(name)":
		return c.name, true
	case "CHANNEL(uniqueid)", "UNIQUEID()":
		return c.id, true
	case "CHANNEL(state)":
		return c.state, true
	case "CHANNEL(language)":
		return c.language, true
	case "CHANNEL(linkedid)":
		return c.id, true
	}
	return "", false
}

// setChannelVarNow sets a channel variable, or CALLERID(num|name), on a channel in Stasis.
func (s *Server) setChannelVarNow(id, name, value string) error {
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	if strings.HasSuffix(name, ")") {
		switch name {
		case "CALLERID(num)", "CALLERID(number)":
			c.caller.Number = value
		case "CALLERID(name)":
			c.caller.Name = value
		default:
			return errf(400, "Failed to execute function")
		}
		return nil
	}
	s.setVar(c, name, value)
	return nil
}

func (s *Server) handleContinue(id string, p params) error {
	c, err := s.findActive(id)
	if err != nil {
		return err
	}
	ctx, exten, prio := p.str("context"), p.str("extension"), int64(p.num("priority", 0))
	if ctx == "" {
		ctx = c.dialplan.Context
		if exten == "" {
			exten = c.dialplan.Exten
		}
		if prio == 0 && p.str("extension") == "" {
			prio = c.dialplan.Priority + 1
		}
	} else if exten == "" {
		exten = "s"
	}
	if prio == 0 {
		prio = 1
	}
	s.after(0, func() {
		if c.hungup || c.stasisApp == "" {
			return
		}
		s.leaveStasis(c, "SUCCESS")
		s.runDialplan(c, ctx, exten, prio)
	})
	return nil
}

func (s *Server) handleMove(id string, p params) error {
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	to := p.str("app")
	if to == "" {
		return errf(400, "Missing parameter app")
	}
	args := splitArgs(p.str("appArgs"))
	s.after(0, func() {
		if c.hungup || c.stasisApp == "" {
			return
		}
		if !s.appRegistered(to) {
			s.emit(&event{typ: "ApplicationMoveFailed", body: map[string]any{"channel": c.json(), "destination": to, "args": args}, toApp: c.stasisApp})
			return
		}
		from := c.stasisApp
		s.leaveBridge(c) // leaving the app's Stasis() departs the bridge
		end := s.chanEvent("StasisEnd", c)
		end.toApp = from
		s.emit(end)
		if a := s.apps[from]; a != nil && !c.originated {
			delete(a.channels, c.id)
		}
		s.enterStasis(c, to, args, false)
	})
	return nil
}

func (s *Server) handleRedirect(id string, p params) error {
	c, err := s.findActive(id)
	if err != nil {
		return err
	}
	ep := p.str("endpoint")
	if ep == "" {
		return errf(400, "Required parameter 'endpoint' not provided.")
	}
	tech, res, ok := strings.Cut(ep, "/")
	if !ok || tech == "" {
		return errf(422, "Endpoint parameter '"+ep+"' does not contain tech/resource")
	}
	if res == "" {
		return errf(422, "No resource provided in endpoint parameter '"+ep+"'")
	}
	if !strings.EqualFold(tech, c.tech) {
		return errf(422, "Endpoint technology '"+tech+"' does not match channel technology '"+c.tech+"'")
	}
	if c.tech == "PJSIP" {
		if !strings.Contains(strings.ToLower(res), "sip:") && !strings.HasPrefix(strings.ToLower(strings.TrimLeft(res, "<")), "tel:") {
			// chan_pjsip: "Failed to parse destination URI": the transfer fails, 204 all the same.
			return nil
		}
		// A SIP 302: the channel leaves and hangs up with cause 23, "Redirected to new
		// destination" (observed on 22.10.1 with a sipp call).
		s.after(0, func() { s.farEndHangup(c, 23) })
	}
	// Local: "Unsupported transfer requested" — 204 and nothing happens (observed).
	return nil
}

func (s *Server) handleSnoop(w http.ResponseWriter, id, snoopID string, p params) {
	spy, whisper := p.str("spy"), p.str("whisper")
	valid := map[string]bool{"": true, "none": true, "both": true, "out": true, "in": true}
	switch {
	case !valid[spy]:
		reply(w, nil, errf(400, "Invalid direction specified for spy"))
		return
	case !valid[whisper]:
		reply(w, nil, errf(400, "Invalid direction specified for whisper"))
		return
	case (spy == "" || spy == "none") && (whisper == "" || whisper == "none"):
		reply(w, nil, errf(400, "Direction must be specified for at least spy or whisper"))
		return
	case p.str("app") == "":
		reply(w, nil, errf(400, "Application name is required"))
		return
	}
	c := s.channels[id]
	if c == nil {
		reply(w, nil, errf(404, "Provided channel was not found"))
		return
	}
	if snoopID == "" {
		snoopID = s.newID()
	}
	if s.channels[snoopID] != nil {
		reply(w, nil, errf(500, "Snoop channel could not be created"))
		return
	}
	s.techN["Snoop"]++
	sn := s.newChannel(snoopID, "Snoop/"+c.id+"-"+leftPad(s.techN["Snoop"]), "Snoop")
	sn.state = "Up"
	sn.snoopOf = c
	sn.originated = true
	sn.dialplan = dialplanJSON{Context: "default", Exten: "s", Priority: 1}
	c.snoops = append(c.snoops, sn)
	appName, args := p.str("app"), splitArgs(p.str("appArgs"))
	s.subscribe(appName, sn.id)
	s.after(0, func() {
		if !sn.hungup {
			s.enterStasis(sn, appName, args, false)
		}
	})
	reply(w, sn.json(), nil)
}

func leftPad(n int) string {
	v := strconv.FormatInt(int64(n), 16)
	return strings.Repeat("0", max(0, 8-len(v))) + v
}

func (s *Server) handleDial(id string, p params) error {
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	if c.state != "Down" && c.state != "Rsrvd" {
		return errf(409, "Channel is not in the 'Down' state")
	}
	if c.dialstring == "" {
		return errf(409, "Dialing a channel not created by ARI")
	}
	caller := s.channels[p.str("caller")]
	tmo := p.num("timeout", 0)
	c.ringTmo = time.Duration(tmo) * time.Second
	if tmo <= 0 {
		c.ringTmo = s.cfg.RingTimeout
	}
	r := originateReq{create: true}
	s.after(0, func() { s.dial(c, r, caller) })
	return nil
}
