package arisim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/callgw/callgw/asterisk/hangupcause"
)

// channel is a simulated Asterisk channel.
type channel struct {
	id, name, state string
	tech            string // "Local", "PJSIP", "Snoop"
	resource        string // the dialled resource: "answer@callgw-test", "alice"
	protocolID      string
	caller          callerJSON
	connected       callerJSON
	language        string
	dialplan        dialplanJSON
	created         time.Time
	vars            map[string]string

	peer *channel // the other half of a Local pair
	half int      // 1 or 2 for Local channels

	stasisApp  string   // app while in Stasis, "" otherwise
	stasisArgs []string // args of StasisStart
	originated bool     // subscribed by an originate/create: stays subscribed after StasisEnd
	dialstring string   // for /channels/create + /dial
	ext        string   // Local: extension the ;2 half runs

	bridge   *bridge
	hungup   bool
	busyTill time.Time // the control queue is busy (DTMF being sent) until then
	snoops   []*channel
	snoopOf  *channel
	endpoint *Endpoint
	ringTmo  time.Duration
	stepSeq  int       // Local ;2: pending step after Answer()
	stepFn   func()    // nil when none is pending
	media    *extMedia // UnicastRTP: its RTP (extmedia.go)
}

func (c *channel) json() channelJSON {
	return channelJSON{
		ID:           c.id,
		Name:         c.name,
		State:        c.state,
		ProtocolID:   c.protocolID,
		Caller:       c.caller,
		Connected:    c.connected,
		Accountcode:  "",
		Dialplan:     c.dialplan,
		Creationtime: stamp(c.created),
		Language:     c.language,
	}
}

// newID returns an Asterisk uniqueid: "<systemname>-<epoch>.<seq>".
func (s *Server) newID() string {
	s.uniq++
	return fmt.Sprintf("%s-%d.%d", s.cfg.SystemName, time.Now().Unix(), s.uniq)
}

func (s *Server) newChannel(id, name, tech string) *channel {
	c := &channel{id: id, name: name, tech: tech, state: "Down", language: "en", created: time.Now(), vars: map[string]string{}}
	s.channels[id] = c
	return c
}

// chanSubjects lists the ids an event about c is addressed to.
func chanSubjects(c *channel) []string { return []string{c.id} }

// chanEvent builds an event about c with extra fields.
func (s *Server) chanEvent(typ string, c *channel, kv ...any) *event {
	body := map[string]any{"channel": c.json()}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i].(string)] = kv[i+1]
	}
	// Channel events go to apps subscribed to the channel; Asterisk does not forward them to the
	// subscribers of the bridge the channel is in.
	return &event{typ: typ, body: body, channels: chanSubjects(c)}
}

func (s *Server) setState(c *channel, state string) {
	if c.state == state {
		return
	}
	c.state = state
	s.emit(s.chanEvent("ChannelStateChange", c))
}

func (s *Server) setDialplan(c *channel, ctx, exten string, prio int64, appName, appData string, announce bool) {
	c.dialplan = dialplanJSON{Context: ctx, Exten: exten, Priority: prio, AppName: appName, AppData: appData}
	if announce {
		s.emit(s.chanEvent("ChannelDialplan", c, "dialplan_app", appName, "dialplan_app_data", appData))
	}
}

func (s *Server) setVar(c *channel, name, value string) {
	c.vars[name] = value
	s.emit(s.chanEvent("ChannelVarset", c, "variable", name, "value", value))
}

func (s *Server) subscribe(appName string, ids ...string) {
	a := s.apps[appName]
	if a == nil {
		a = newApp(appName)
		s.apps[appName] = a
	}
	for _, id := range ids {
		a.channels[id] = true
	}
}

func (s *Server) unsubscribeAll(id string) {
	for _, a := range s.apps {
		delete(a.channels, id)
	}
}

// appRegistered reports whether appName has a live WebSocket (Stasis() fails otherwise).
func (s *Server) appRegistered(appName string) bool {
	a := s.apps[appName]
	return a != nil && a.conn != nil && !a.conn.closed
}

// enterStasis puts c into app with args: STASISSTATUS reset, StasisStart.
func (s *Server) enterStasis(c *channel, appName string, args []string, varset bool) {
	appData := appName
	if len(args) > 0 {
		appData += "," + strings.Join(args, ",")
	}
	c.dialplan.AppName, c.dialplan.AppData = "Stasis", appData
	s.subscribe(appName, c.id)
	if varset {
		s.setVar(c, "STASISSTATUS", "")
	}
	c.stasisApp, c.stasisArgs = appName, args
	if args == nil {
		args = []string{}
	}
	// StasisStart and StasisEnd go to the owning app only (app_send), not to subscribeAll listeners
	// of other apps.
	e := s.chanEvent("StasisStart", c, "args", args)
	e.toApp = appName
	s.emit(e)
}

// leaveStasis emits StasisEnd; inbound channels are unsubscribed (Asterisk then sends no ChannelDestroyed).
func (s *Server) leaveStasis(c *channel, status string) {
	if c.stasisApp == "" {
		return
	}
	appName := c.stasisApp
	s.leaveBridge(c)
	s.stopMediaOn("channel:" + c.id)
	end := s.chanEvent("StasisEnd", c)
	end.toApp = appName
	s.emit(end)
	c.stasisApp, c.stasisArgs = "", nil
	if c.originated {
		s.setVar(c, "STASISSTATUS", status)
	} else if a := s.apps[appName]; a != nil {
		delete(a.channels, c.id)
	}
}

// destroy removes c: ChannelDestroyed with cause, then forget it.
func (s *Server) destroy(c *channel, cause int) {
	if _, ok := s.channels[c.id]; !ok {
		return
	}
	s.stopMediaOn("channel:" + c.id)
	s.leaveBridge(c)
	s.stopExtMedia(c)
	c.hungup = true
	s.emit(s.chanEvent("ChannelDestroyed", c, "cause", cause, "cause_txt", hangupcause.Text(cause)))
	delete(s.channels, c.id)
	s.unsubscribeAll(c.id)
	for _, sn := range c.snoops {
		if !sn.hungup {
			s.hangup(sn, 16, true)
		}
	}
	if c.endpoint != nil {
		delete(c.endpoint.channels, c.id)
		s.endpointChanged(c.resource, c.endpoint)
	}
}

// hangup is DELETE /channels/{id} (explicit: soft hangup 32) or a far-end hangup with cause.
func (s *Server) hangup(c *channel, cause int, explicit bool) {
	if c.hungup {
		return
	}
	c.hungup = true
	// Recordings end before the hangup is signalled (as recorded).
	s.finishRecordingsOn("channel:" + c.id)
	s.rtpStats(c)
	if explicit {
		s.emit(s.chanEvent("ChannelHangupRequest", c, "cause", 32, "soft", true))
		if c.tech == "Local" && c.half == 1 && c.state != "Up" && c.dialstring != "" {
			// The originate's dial is still ringing: it ends with NOANSWER (observed on 22.10.1).
			s.emit(&event{typ: "Dial", body: map[string]any{"dialstatus": "NOANSWER", "forward": "", "dialstring": c.dialstring, "peer": c.json()}, channels: []string{c.id}})
		}
	} else {
		s.emit(s.chanEvent("ChannelHangupRequest", c, "cause", cause))
	}
	s.leaveStasis(c, "SUCCESS")
	if c.snoopOf == nil && c.tech == "Local" {
		c.dialplan.AppName, c.dialplan.AppData = "AppDial2", "(Outgoing Line)"
	}
	p := c.peer
	if p != nil && !p.hungup {
		p.hungup = true
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", cause))
		s.destroy(c, cause)
		s.emit(s.chanEvent("ChannelHangupRequest", p, "cause", 16, "soft", true))
		p.dialplan.AppName, p.dialplan.AppData = "", ""
		s.destroy(p, cause)
		return
	}
	s.destroy(c, cause)
}

// farEndHangup: the remote party (or the ;2 dialplan) hangs up c with cause.
func (s *Server) farEndHangup(c *channel, cause int) {
	if c.hungup {
		return
	}
	if c.tech == "Local" && c.half == 2 && c.peer != nil {
		c = c.peer
	}
	p := c.peer
	c.hungup = true
	s.finishRecordingsOn("channel:" + c.id)
	s.rtpStats(c)
	if c.tech == "PJSIP" && cause == 16 {
		// A BYE: chan_pjsip raises the hang-up request before any cause is set (recording
		// inbound-sip; 22.10.1 with sipp, 2026-12-03).
		s.emit(s.chanEvent("ChannelHangupRequest", c))
	} else {
		s.emit(s.chanEvent("ChannelHangupRequest", c, "cause", cause))
	}
	s.leaveStasis(c, "SUCCESS")
	if p != nil && !p.hungup {
		p.hungup = true
		p.dialplan.AppName, p.dialplan.AppData = "", ""
		s.destroy(p, cause)
	}
	s.destroy(c, cause)
}

// findControl mirrors Asterisk's find_control: 404 when absent, 409 when not in Stasis.
func (s *Server) findControl(id string) (*channel, error) {
	c := s.channels[id]
	if c == nil {
		return nil, errChannelNotFound
	}
	if c.stasisApp == "" {
		return nil, errNotInStasis
	}
	return c, nil
}

// findActive is findControl, then stateInvalid: a channel in Stasis that can take media and
// state operations.
func (s *Server) findActive(id string) (*channel, error) {
	c, err := s.findControl(id)
	if err != nil {
		return nil, err
	}
	if err := stateInvalid(c); err != nil {
		return nil, err
	}
	return c, nil
}

// stateInvalid mirrors channel_state_invalid: Down, Reserved and Ringing channels refuse media/state ops.
func stateInvalid(c *channel) error {
	switch c.state {
	case "Down", "Rsrvd", "Ringing":
		return errInvalidState
	}
	return nil
}

// ChannelCount is the number of live channels (both halves of a Local pair count).
func (s *Server) ChannelCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels)
}

// HangupChannel makes the far end of channel id hang up with cause (e.g. 16 normal, 17 busy).
func (s *Server) HangupChannel(id string, cause int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels[id]; c != nil {
		s.farEndHangup(c, cause)
	}
}

// Restart simulates an Asterisk restart: every channel, bridge, playback and live recording is gone
// without events, every WebSocket is dropped and apps are unregistered. Stored recordings survive.
func (s *Server) Restart() {
	s.mu.Lock()
	s.gen++
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.timers = map[*time.Timer]struct{}{}
	for _, c := range s.channels {
		s.stopExtMedia(c)
	}
	s.channels = map[string]*channel{}
	s.bridges = map[string]*bridge{}
	s.playbacks = map[string]*playback{}
	s.liveRecs = map[string]*liveRec{}
	s.mediaQueue = map[string][]func(){}
	for _, ep := range s.endpoints {
		ep.channels = map[string]bool{}
	}
	conns := s.dropConnsLocked()
	s.apps = map[string]*app{}
	s.started = time.Now()
	s.mu.Unlock()
	for _, c := range conns {
		c.wait()
	}
}

func (s *Server) channelList() []channelJSON {
	out := make([]channelJSON, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.json())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Creationtime+out[i].ID < out[j].Creationtime+out[j].ID })
	return out
}

// rtpQoS are the RTP statistics chan_pjsip sets on an answered channel as it hangs up (recorded in
// shared/ari-recordings/inbound-sip.txt), each raising a ChannelVarset before the ChannelHangupRequest.
var rtpQoS = [][2]string{
	{"RTPAUDIOQOS", "ssrc=1110360466;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount=0;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000"},
	{"RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;"},
	{"RTPAUDIOQOSLOSS", "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;"},
	{"RTPAUDIOQOSRTT", "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;"},
	{"RTPAUDIOQOSMES", "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   avgtxmes=000.000000;   stdevtxmes=000.000000;"},
}

func (s *Server) rtpStats(c *channel) {
	if c.tech != "PJSIP" || c.state != "Up" {
		return
	}
	for _, kv := range rtpQoS {
		s.setVar(c, kv[0], kv[1])
	}
}
