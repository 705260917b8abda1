package arisim

import (
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the Asterisk version the simulator reports and imitates.
const Version = "22.10.1"

var (
	errNoResource = errf(404, "Resource not found")
	errMethod     = errf(405, "Invalid method")
)

// route dispatches a REST request. Every handler runs under s.mu.
func (s *Server) route(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) == 0 {
		reply(w, nil, errNoResource)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	switch seg[0] {
	case "asterisk":
		s.routeAsterisk(w, method, seg[1:], p)
	case "applications":
		s.routeApplications(w, method, seg[1:], p)
	case "channels":
		s.routeChannels(w, method, seg[1:], p)
	case "bridges":
		s.routeBridges(w, method, seg[1:], p)
	case "playbacks":
		s.routePlaybacks(w, method, seg[1:], p)
	case "recordings":
		s.routeRecordings(w, method, seg[1:], p)
	case "endpoints":
		s.routeEndpoints(w, method, seg[1:], p)
	case "deviceStates":
		s.routeDeviceStates(w, method, seg[1:], p)
	case "events":
		s.routeUserEvents(w, method, seg[1:], p)
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /asterisk

func (s *Server) routeAsterisk(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) != 1 {
		reply(w, nil, errNoResource)
		return
	}
	switch seg[0] + " " + method {
	case "info GET":
		reply(w, s.info(p.list("only")), nil)
	case "ping GET":
		reply(w, map[string]string{"asterisk_id": s.cfg.AsteriskID, "ping": "pong", "timestamp": stamp(time.Now())}, nil)
	case "variable GET":
		name := p.str("variable")
		if name == "" {
			reply(w, nil, errf(400, "Variable name is required"))
			return
		}
		reply(w, map[string]string{"value": s.globals[name]}, nil)
	case "variable POST":
		name := p.str("variable")
		if name == "" {
			reply(w, nil, errf(400, "Variable name is required"))
			return
		}
		s.globals[name] = p.str("value")
		reply(w, nil, nil)
	case "info POST", "ping POST", "info DELETE", "ping DELETE", "variable DELETE":
		reply(w, nil, errMethod)
	default:
		reply(w, nil, errNoResource)
	}
}

func (s *Server) info(only []string) map[string]any {
	all := map[string]any{
		"build": map[string]string{
			"os": "Linux", "kernel": "6.1.0-sim", "options": "", "machine": runtime.GOARCH,
			"date": "2026-01-01 00:00:00 UTC", "user": "arisim",
		},
		"system": map[string]string{"version": Version, "entity_id": s.cfg.AsteriskID},
		"config": map[string]any{
			"name": s.cfg.SystemName, "default_language": "en",
			"setid": map[string]string{"user": "asterisk", "group": "asterisk"},
		},
		"status": map[string]string{"startup_time": stamp(s.started), "last_reload_time": stamp(s.started)},
	}
	if len(only) == 0 {
		return all
	}
	out := map[string]any{}
	for _, k := range only {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// ---- /applications

func (s *Server) routeApplications(w http.ResponseWriter, method string, seg []string, p params) {
	switch {
	case len(seg) == 0 && method == http.MethodGet:
		names := make([]string, 0, len(s.apps))
		for n, a := range s.apps {
			if a.conn != nil {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		out := make([]applicationJSON, 0, len(names))
		for _, n := range names {
			out = append(out, s.apps[n].json())
		}
		reply(w, out, nil)
	case len(seg) == 1 && method == http.MethodGet:
		a := s.apps[seg[0]]
		if a == nil || a.conn == nil {
			reply(w, nil, errf(404, "Application not found"))
			return
		}
		reply(w, a.json(), nil)
	case len(seg) == 2 && seg[1] == "subscription" && (method == http.MethodPost || method == http.MethodDelete):
		a := s.apps[seg[0]]
		if a == nil || a.conn == nil {
			reply(w, nil, errf(404, "Application not found"))
			return
		}
		srcs := p.list("eventSource")
		if len(srcs) == 0 {
			reply(w, nil, errf(400, "Missing parameter eventSource"))
			return
		}
		for _, src := range srcs {
			if err := s.subscription(a, src, method == http.MethodPost); err != nil {
				reply(w, nil, err)
				return
			}
		}
		reply(w, a.json(), nil)
	case len(seg) == 2 && seg[1] == "eventFilter" && method == http.MethodPut:
		a := s.apps[seg[0]]
		if a == nil || a.conn == nil {
			reply(w, nil, errf(404, "Application not found"))
			return
		}
		reply(w, a.json(), nil)
	default:
		reply(w, nil, errNoResource)
	}
}

func (s *Server) subscription(a *app, src string, add bool) error {
	// "channel:" / "bridge:" with no id subscribe to all channels / bridges.
	scheme, id, ok := strings.Cut(src, ":")
	if !ok {
		return errf(400, "Invalid event source URI scheme '"+src+"'")
	}
	var set map[string]bool
	switch scheme {
	case "channel":
		if id != "" && s.channels[id] == nil {
			return errf(422, "Event source does not exist")
		}
		set = a.channels
	case "bridge":
		if id != "" && s.bridges[id] == nil {
			return errf(422, "Event source does not exist")
		}
		set = a.bridges
	case "endpoint":
		set = a.endpoints
	case "deviceState":
		set = a.devices
	default:
		return errf(400, "Invalid event source URI scheme '"+scheme+"'")
	}
	if add {
		set[id] = true
		return nil
	}
	if !set[id] {
		// resource_applications.c: STASIS_ASR_EVENT_SOURCE_NOT_FOUND (the spec's 409 is not what
		// Asterisk 22 answers; observed 2026-12-03 on 22.10.1).
		return errf(422, "Event source was not subscribed to")
	}
	delete(set, id)
	return nil
}

// ---- /channels

func (s *Server) routeChannels(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) == 0 {
		switch method {
		case http.MethodGet:
			reply(w, s.channelList(), nil)
		case http.MethodPost:
			s.handleOriginate(w, p, "", false)
		default:
			reply(w, nil, errMethod)
		}
		return
	}
	id := seg[0]
	if len(seg) == 1 {
		switch {
		case id == "create" && method == http.MethodPost:
			s.handleOriginate(w, p, "", true)
		case id == "externalMedia" && method == http.MethodPost:
			reply(w, nil, errf(501, "External media is not simulated"))
		case method == http.MethodGet:
			c := s.channels[id]
			if c == nil {
				reply(w, nil, errChannelNotFound)
				return
			}
			reply(w, c.json(), nil)
		case method == http.MethodPost:
			s.handleOriginate(w, p, id, false)
		case method == http.MethodDelete:
			reply(w, nil, s.handleHangup(id, p))
		default:
			reply(w, nil, errMethod)
		}
		return
	}
	op := seg[1]
	if len(seg) == 3 && (op == "play" || op == "snoop") && method == http.MethodPost {
		if op == "play" {
			s.handleChannelPlay(w, id, seg[2], p)
		} else {
			s.handleSnoop(w, id, seg[2], p)
		}
		return
	}
	if len(seg) != 2 {
		reply(w, nil, errNoResource)
		return
	}
	switch op + " " + method {
	case "answer POST":
		reply(w, nil, s.controlOp(id, func(c *channel) error {
			if c.state != "Up" {
				s.setState(c, "Up")
			}
			return nil
		}))
	case "ring POST", "ring DELETE", "progress POST", "moh POST", "moh DELETE", "silence POST", "silence DELETE":
		reply(w, nil, s.controlOp(id, func(*channel) error { return nil }))
	case "hold POST", "hold DELETE":
		// Without moh_passthrough Asterisk plays MOH locally and raises no ChannelHold (observed).
		reply(w, nil, s.controlOp(id, func(c *channel) error { s.interruptAnswer(c); return nil }))
	case "mute POST", "mute DELETE":
		dir := p.str("direction")
		if _, given := p.q["direction"]; !given && dir == "" {
			dir = "both" // the spec's defaultValue, filled in by Asterisk's generated parser
		}
		reply(w, nil, s.controlOp(id, func(*channel) error {
			switch dir {
			case "in", "out", "both":
				return nil
			case "":
				return errf(400, "Direction is required")
			}
			return errf(400, "Invalid direction specified")
		}))
	case "dtmf POST":
		reply(w, nil, s.controlOp(id, func(c *channel) error {
			d := p.str("dtmf")
			if d == "" {
				return errf(400, "DTMF is required")
			}
			s.sendDTMF(c, d, p.num("before", 0), p.num("between", 100), p.num("duration", 100), p.num("after", 0))
			return nil
		}))
	case "play POST":
		s.handleChannelPlay(w, id, p.str("playbackId"), p)
	case "record POST":
		s.handleChannelRecord(w, id, p)
	case "variable GET":
		s.handleGetVar(w, id, p)
	case "variable POST":
		reply(w, nil, s.handleSetVar(id, p))
	case "continue POST":
		reply(w, nil, s.handleContinue(id, p))
	case "move POST":
		reply(w, nil, s.handleMove(id, p))
	case "redirect POST":
		reply(w, nil, s.handleRedirect(id, p))
	case "snoop POST":
		s.handleSnoop(w, id, p.str("snoopId"), p)
	case "dial POST":
		reply(w, nil, s.handleDial(id, p))
	case "rtp_statistics GET":
		if s.channels[id] == nil {
			reply(w, nil, errChannelNotFound)
			return
		}
		reply(w, nil, errf(404, "RTP info not found"))
	default:
		reply(w, nil, errNoResource)
	}
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
		n, ok := hangupReasons[reason]
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
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	if err := stateInvalid(c); err != nil {
		return err
	}
	return fn(c)
}

func (s *Server) handleChannelPlay(w http.ResponseWriter, id, pbID string, p params) {
	c, err := s.findControl(id)
	if err == nil {
		err = stateInvalid(c)
	}
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

func (s *Server) handleGetVar(w http.ResponseWriter, id string, p params) {
	name := p.str("variable")
	if name == "" {
		reply(w, nil, errf(400, "Variable name is required"))
		return
	}
	c := s.channels[id]
	if c == nil {
		reply(w, nil, errf(404, "Provided channel was not found"))
		return
	}
	if strings.HasSuffix(name, ")") {
		v, ok := channelFunc(c, name)
		if !ok {
			reply(w, nil, errf(500, "Unable to read provided function"))
			return
		}
		reply(w, map[string]string{"value": v}, nil)
		return
	}
	v, ok := c.vars[name]
	if !ok {
		reply(w, nil, errf(404, "Provided variable was not found"))
		return
	}
	reply(w, map[string]string{"value": v}, nil)
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

func (s *Server) handleSetVar(id string, p params) error {
	name := p.str("variable")
	if name == "" {
		return errf(400, "Variable name is required")
	}
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	value := p.str("value")
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
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	if err := stateInvalid(c); err != nil {
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
	c, err := s.findControl(id)
	if err != nil {
		return err
	}
	if err := stateInvalid(c); err != nil {
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

// ---- /bridges

func (s *Server) routeBridges(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) == 0 {
		switch method {
		case http.MethodGet:
			reply(w, s.bridgeList(), nil)
		case http.MethodPost:
			b, err := s.createBridge(p.str("bridgeId"), p.str("type"), p.str("name"), false)
			if err != nil {
				reply(w, nil, err)
				return
			}
			reply(w, b.json(), nil)
		default:
			reply(w, nil, errMethod)
		}
		return
	}
	id := seg[0]
	b := s.bridges[id]
	if len(seg) == 1 {
		switch method {
		case http.MethodGet:
			if b == nil {
				reply(w, nil, errBridgeNotFound)
				return
			}
			reply(w, b.json(), nil)
		case http.MethodPost:
			if b != nil {
				// Asterisk 22 updates nothing and answers with the existing bridge.
				reply(w, b.json(), nil)
				return
			}
			nb, err := s.createBridge(id, p.str("type"), p.str("name"), true)
			if err != nil {
				reply(w, nil, err)
				return
			}
			reply(w, nb.json(), nil)
		case http.MethodDelete:
			if b == nil {
				reply(w, nil, errBridgeNotFound)
				return
			}
			s.destroyBridge(b)
			reply(w, nil, nil)
		default:
			reply(w, nil, errMethod)
		}
		return
	}
	if b == nil {
		if len(seg) <= 3 {
			reply(w, nil, errBridgeNotFound)
		} else {
			reply(w, nil, errNoResource)
		}
		return
	}
	op := seg[1]
	switch {
	case op == "addChannel" && method == http.MethodPost && len(seg) == 2:
		reply(w, nil, s.addChannels(b, p.list("channel")))
	case op == "removeChannel" && method == http.MethodPost && len(seg) == 2:
		ids := p.list("channel")
		if len(ids) == 0 {
			reply(w, nil, errf(400, "Missing parameter channel"))
			return
		}
		for _, cid := range ids {
			c := s.channels[cid]
			if c == nil {
				reply(w, nil, errf(400, "Channel not found"))
				return
			}
			if c.bridge != b {
				reply(w, nil, errf(422, "Channel not in this bridge"))
				return
			}
		}
		for _, cid := range ids {
			s.leaveBridge(s.channels[cid])
		}
		reply(w, nil, nil)
	case op == "play" && method == http.MethodPost && len(seg) <= 3:
		pbID := p.str("playbackId")
		if len(seg) == 3 {
			pbID = seg[2]
		}
		pb, err := s.play("bridge:"+b.id, pbID, p.str("lang"), p.list("media"), time.Time{})
		if err != nil {
			reply(w, nil, err)
			return
		}
		w.Header().Set("Location", "/playbacks/"+pb.id)
		writeJSON(w, http.StatusCreated, pb.json())
	case op == "record" && method == http.MethodPost && len(seg) == 2:
		audio := false
		for _, c := range b.channels {
			audio = audio || c.tech != "Local"
		}
		r, err := s.record("bridge:"+b.id, audio, p)
		if err != nil {
			reply(w, nil, err)
			return
		}
		w.Header().Set("Location", "/recordings/live/"+r.name)
		writeJSON(w, http.StatusCreated, r.json(false))
	case op == "moh" && (method == http.MethodPost || method == http.MethodDelete) && len(seg) == 2:
		reply(w, nil, nil)
	case op == "videoSource" && method == http.MethodDelete && len(seg) == 2:
		b.videoSource = ""
		reply(w, nil, nil)
	case op == "videoSource" && method == http.MethodPost && len(seg) == 3:
		c := s.channels[seg[2]]
		switch {
		case c == nil:
			reply(w, nil, errf(404, "Channel not found"))
		case c.stasisApp == "":
			reply(w, nil, errNotInStasis)
		case c.bridge != b:
			reply(w, nil, errf(422, "Channel not in this Bridge"))
		default:
			b.videoSource = c.id
			reply(w, nil, nil)
		}
	case op == "variable" && len(seg) == 2 && method == http.MethodGet:
		name := p.str("variable")
		if name == "" {
			reply(w, nil, errf(400, "Variable name is required"))
			return
		}
		v, ok := b.vars[name]
		if !ok {
			reply(w, nil, errf(404, "Provided variable was not found"))
			return
		}
		reply(w, map[string]string{"value": v}, nil)
	case op == "variable" && len(seg) == 2 && method == http.MethodPost:
		name := p.str("variable")
		if name == "" {
			reply(w, nil, errf(400, "Variable name is required"))
			return
		}
		b.vars[name] = p.str("value")
		reply(w, nil, nil)
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /playbacks

func (s *Server) routePlaybacks(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) == 0 || len(seg) > 2 {
		reply(w, nil, errNoResource)
		return
	}
	pb := s.playbacks[seg[0]]
	notFound := errf(404, "Playback not found")
	switch {
	case len(seg) == 1 && method == http.MethodGet:
		if pb == nil {
			reply(w, nil, notFound)
			return
		}
		reply(w, pb.json(), nil)
	case len(seg) == 1 && method == http.MethodDelete:
		if pb == nil {
			reply(w, nil, notFound)
			return
		}
		if pb.state == "queued" {
			delete(s.playbacks, pb.id)
		} else {
			s.finishPlayback(pb)
		}
		reply(w, nil, nil)
	case len(seg) == 2 && seg[1] == "control" && method == http.MethodPost:
		if pb == nil {
			reply(w, nil, notFound)
			return
		}
		op := p.str("operation")
		if op == "" {
			reply(w, nil, errf(400, "Missing parameter operation"))
			return
		}
		reply(w, nil, s.controlPlayback(pb, op))
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /recordings

func (s *Server) routeRecordings(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) == 0 {
		reply(w, nil, errNoResource)
		return
	}
	switch seg[0] {
	case "stored":
		s.routeStored(w, method, seg[1:], p)
	case "live":
		s.routeLive(w, method, seg[1:])
	default:
		reply(w, nil, errNoResource)
	}
}

func (s *Server) routeStored(w http.ResponseWriter, method string, seg []string, p params) {
	notFound := errf(404, "Recording not found")
	if len(seg) == 0 {
		if method != http.MethodGet {
			reply(w, nil, errMethod)
			return
		}
		names := make([]string, 0, len(s.stored))
		for n := range s.stored {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]storedRecordingJSON, 0, len(names))
		for _, n := range names {
			out = append(out, storedRecordingJSON{Name: n, Format: s.stored[n].format})
		}
		reply(w, out, nil)
		return
	}
	st := s.stored[seg[0]]
	switch {
	case len(seg) == 1 && method == http.MethodGet:
		if st == nil {
			reply(w, nil, notFound)
			return
		}
		reply(w, storedRecordingJSON{Name: st.name, Format: st.format}, nil)
	case len(seg) == 1 && method == http.MethodDelete:
		if st == nil {
			reply(w, nil, notFound)
			return
		}
		delete(s.stored, st.name)
		reply(w, nil, nil)
	case len(seg) == 2 && seg[1] == "file" && method == http.MethodGet:
		if st == nil {
			reply(w, nil, notFound)
			return
		}
		w.Header().Set("Content-Type", "audio/"+st.format)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(silentWAV(st.duration))
	case len(seg) == 2 && seg[1] == "copy" && method == http.MethodPost:
		if st == nil {
			reply(w, nil, notFound)
			return
		}
		dst := p.str("destinationRecordingName")
		if dst == "" {
			reply(w, nil, errf(400, "Missing parameter destinationRecordingName"))
			return
		}
		if s.stored[dst] != nil {
			reply(w, nil, errf(409, "A recording with the same name already exists on the system"))
			return
		}
		cp := *st
		cp.name = dst
		s.stored[dst] = &cp
		reply(w, storedRecordingJSON{Name: dst, Format: cp.format}, nil)
	default:
		reply(w, nil, errNoResource)
	}
}

// silentWAV returns a valid 8 kHz mono 16-bit WAV of n seconds of silence (at most 5).
func silentWAV(n int) []byte {
	n = min(max(n, 0), 5)
	data := 16000 * n
	b := make([]byte, 44+data)
	copy(b, "RIFF")
	putLE32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	putLE32(b[16:], 16)
	b[20], b[22] = 1, 1
	putLE32(b[24:], 8000)
	putLE32(b[28:], 16000)
	b[32], b[34] = 2, 16
	copy(b[36:], "data")
	putLE32(b[40:], uint32(data))
	return b
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func (s *Server) routeLive(w http.ResponseWriter, method string, seg []string) {
	if len(seg) == 0 || len(seg) > 2 {
		reply(w, nil, errNoResource)
		return
	}
	r := s.liveRecs[seg[0]]
	if r == nil {
		reply(w, nil, errf(404, "Recording not found"))
		return
	}
	op := ""
	if len(seg) == 2 {
		op = seg[1]
	}
	notInSession := errf(409, "Recording not in session")
	switch op + " " + method {
	case " GET":
		reply(w, r.json(false), nil)
	case " DELETE":
		s.finishRecording(r, "canceled")
		reply(w, nil, nil)
	case "stop POST":
		s.finishRecording(r, "done")
		reply(w, nil, nil)
	case "pause POST":
		if r.state != "recording" && r.state != "paused" {
			reply(w, nil, notInSession)
			return
		}
		if r.state == "recording" {
			r.state, r.pausedAt = "paused", time.Now()
		}
		reply(w, nil, nil)
	case "pause DELETE":
		if r.state != "recording" && r.state != "paused" {
			reply(w, nil, notInSession)
			return
		}
		if r.state == "paused" {
			r.paused += time.Since(r.pausedAt)
			r.state, r.pausedAt = "recording", time.Time{}
		}
		reply(w, nil, nil)
	case "mute POST", "mute DELETE":
		if r.state != "recording" && r.state != "paused" {
			reply(w, nil, notInSession)
			return
		}
		reply(w, nil, nil)
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /endpoints

func (s *Server) endpointJSON(name string, ep *Endpoint) endpointJSON {
	ids := sortedKeys(ep.channels)
	state := "online"
	if ep.Offline {
		state = "offline"
	}
	return endpointJSON{Technology: "PJSIP", Resource: name, State: state, ChannelIDs: ids}
}

func (s *Server) routeEndpoints(w http.ResponseWriter, method string, seg []string, _ params) {
	if method != http.MethodGet {
		if len(seg) >= 1 && (seg[len(seg)-1] == "sendMessage" || seg[len(seg)-1] == "refer") {
			reply(w, nil, errf(404, "Endpoint not found"))
			return
		}
		reply(w, nil, errMethod)
		return
	}
	names := make([]string, 0, len(s.endpoints))
	for n := range s.endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	switch len(seg) {
	case 0:
		out := make([]endpointJSON, 0, len(names))
		for _, n := range names {
			out = append(out, s.endpointJSON(n, s.endpoints[n]))
		}
		reply(w, out, nil)
	case 1:
		if seg[0] != "PJSIP" {
			reply(w, nil, errf(404, "No Endpoints found - invalid tech "+seg[0]))
			return
		}
		out := make([]endpointJSON, 0, len(names))
		for _, n := range names {
			out = append(out, s.endpointJSON(n, s.endpoints[n]))
		}
		reply(w, out, nil)
	case 2:
		ep := s.endpoints[seg[1]]
		if seg[0] != "PJSIP" || ep == nil {
			reply(w, nil, errf(404, "Endpoint not found"))
			return
		}
		reply(w, s.endpointJSON(seg[1], ep), nil)
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /deviceStates

var deviceStateNames = map[string]bool{"UNKNOWN": true, "NOT_INUSE": true, "INUSE": true, "BUSY": true, "INVALID": true, "UNAVAILABLE": true, "RINGING": true, "RINGINUSE": true, "ONHOLD": true}

func (s *Server) routeDeviceStates(w http.ResponseWriter, method string, seg []string, p params) {
	switch {
	case len(seg) == 0 && method == http.MethodGet:
		names := make([]string, 0, len(s.devices))
		for n := range s.devices {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]deviceStateJSON, 0, len(names))
		for _, n := range names {
			out = append(out, deviceStateJSON{Name: n, State: s.devices[n]})
		}
		reply(w, out, nil)
	case len(seg) == 1 && method == http.MethodGet:
		st, ok := s.devices[seg[0]]
		if !ok {
			st = "UNKNOWN"
			if strings.HasPrefix(seg[0], "PJSIP/") && s.endpoints[strings.TrimPrefix(seg[0], "PJSIP/")] != nil {
				st = "NOT_INUSE"
			}
		}
		reply(w, deviceStateJSON{Name: seg[0], State: st}, nil)
	case len(seg) == 1 && (method == http.MethodPut || method == http.MethodDelete):
		if !strings.HasPrefix(seg[0], "Stasis:") {
			reply(w, nil, errf(409, "Uncontrolled device specified"))
			return
		}
		if method == http.MethodDelete {
			if _, ok := s.devices[seg[0]]; !ok {
				reply(w, nil, errf(404, "Device name is missing"))
				return
			}
			delete(s.devices, seg[0])
			reply(w, nil, nil)
			return
		}
		st := p.str("deviceState")
		if !deviceStateNames[st] {
			reply(w, nil, errf(400, "Invalid device state"))
			return
		}
		s.devices[seg[0]] = st
		s.emit(&event{typ: "DeviceStateChanged", body: map[string]any{"device_state": deviceStateJSON{Name: seg[0], State: st}}, allOnly: true})
		reply(w, nil, nil)
	default:
		reply(w, nil, errNoResource)
	}
}

// ---- /events/user/{name}

func (s *Server) routeUserEvents(w http.ResponseWriter, method string, seg []string, p params) {
	if len(seg) != 2 || seg[0] != "user" || method != http.MethodPost {
		reply(w, nil, errNoResource)
		return
	}
	appName := p.str("application")
	if appName == "" {
		reply(w, nil, errf(400, "Missing parameter application"))
		return
	}
	if !s.appRegistered(appName) {
		reply(w, nil, errf(404, "Application not found"))
		return
	}
	body := map[string]any{"eventname": seg[1], "userevent": map[string]any{}}
	if raw, ok := p.body["variables"]; ok {
		body["userevent"] = raw
	}
	for _, src := range p.list("source") {
		scheme, id, _ := strings.Cut(src, ":")
		switch scheme {
		case "channel":
			c := s.channels[id]
			if c == nil {
				reply(w, nil, errf(422, "Event source not found"))
				return
			}
			body["channel"] = c.json()
		case "bridge":
			b := s.bridges[id]
			if b == nil {
				reply(w, nil, errf(422, "Event source not found"))
				return
			}
			body["bridge"] = b.json()
		default:
			reply(w, nil, errf(400, "Invalid event source URI scheme '"+scheme+"'"))
			return
		}
	}
	s.emit(&event{typ: "ChannelUserevent", body: body, toApp: appName})
	reply(w, nil, nil)
}
