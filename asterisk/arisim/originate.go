package arisim

import (
	"fmt"
	"strings"
	"time"
)

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
	tech, res, err := s.checkOriginate(r)
	if err != nil {
		return nil, err
	}
	c, err := s.newOutbound(tech, res, r)
	if err != nil {
		return nil, err
	}
	s.announceOriginated(c, r, res)
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

// checkOriginate refuses an originate as Asterisk does, in Asterisk's order, and splits the
// endpoint into technology and resource.
func (s *Server) checkOriginate(r originateReq) (tech, res string, err error) {
	if len(r.channelID) > 127 || len(r.otherID) > 127 {
		return "", "", errf(400, "Uniqueid length exceeds maximum of 127")
	}
	if r.endpoint == "" {
		return "", "", errf(400, "Endpoint must be specified")
	}
	if r.originator != "" && r.formats != "" {
		return "", "", errf(400, "Originator and formats can't both be specified")
	}
	tech, res, _ = strings.Cut(r.endpoint, "/")
	if tech == "" || res == "" {
		return "", "", errf(400, "Invalid endpoint specified")
	}
	if r.create {
		if r.app == "" {
			return "", "", errf(400, "Application name is required") // the spec marks app as required
		}
	} else if r.app == "" && r.extension == "" {
		return "", "", errf(400, "Application or extension must be specified")
	}
	if r.originator != "" && s.channels[r.originator] == nil {
		return "", "", errf(400, "Provided originator channel was not found")
	}
	if r.formats != "" {
		for _, f := range splitList(r.formats) {
			if !knownFormats[f] {
				return "", "", errf(400, "Provided format ("+f+") was not found")
			}
		}
	}
	if r.channelID != "" && s.channels[r.channelID] != nil || r.otherID != "" && s.channels[r.otherID] != nil {
		return "", "", errf(409, "Channel with given unique ID already exists")
	}
	return tech, res, nil
}

// newOutbound creates the channel an originate dials: a Local pair or a PJSIP channel.
func (s *Server) newOutbound(tech, res string, r originateReq) (*channel, error) {
	switch {
	case strings.EqualFold(tech, "Local"):
		return s.newLocalPair(res, r.channelID, r.otherID), nil
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
		c := s.newChannel(id, fmt.Sprintf("PJSIP/%s-%08x", res, s.techN["PJSIP"]), "PJSIP")
		c.resource, c.endpoint = res, ep
		c.protocolID = fmt.Sprintf("%s-%d@sim", strings.ReplaceAll(id, ".", ""), s.uniq)
		ep.channels[id] = true
		s.endpointChanged(res, ep)
		return c, nil
	}
	// ast_request fails for an unknown technology → ast_dial_prerun fails.
	return nil, errAllocFailed
}

// announceOriginated gives a new originated channel its caller id, variables and dialplan
// location, raises its ChannelCreated and subscribes the originating app to it.
func (s *Server) announceOriginated(c *channel, r originateReq, res string) {
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
