package arisim

import (
	"net/http"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Version is the Asterisk version the simulator reports and imitates.
const Version = "22.10.1"

// routes is the simulator's whole REST surface: every path and method of Asterisk 22's API
// description (shared/ari-spec), in the spec's order, each with its handler or marked not
// simulated; one function per resource file of the spec. TestRoutesMatchSpec holds the table to
// the spec.
func (s *Server) routes() *router {
	m := newRouter(s)
	s.asteriskRoutes(m)
	s.applicationRoutes(m)
	s.channelRoutes(m)
	s.bridgeRoutes(m)
	s.deviceStateRoutes(m)
	s.endpointRoutes(m)
	s.eventRoutes(m)
	s.mailboxRoutes(m)
	s.playbackRoutes(m)
	s.recordingRoutes(m)
	s.soundRoutes(m)
	return m
}

// asteriskRoutes: asterisk.json.
func (s *Server) asteriskRoutes(m *router) {
	m.notSimulated(
		"GET /asterisk/config/dynamic/{configClass}/{objectType}/{id}",
		"PUT /asterisk/config/dynamic/{configClass}/{objectType}/{id}",
		"DELETE /asterisk/config/dynamic/{configClass}/{objectType}/{id}")
	m.handle("GET /asterisk/info", s.getInfo)
	m.handle("GET /asterisk/ping", s.getPing)
	m.notSimulated(
		"GET /asterisk/modules",
		"GET /asterisk/modules/{moduleName}", "POST /asterisk/modules/{moduleName}",
		"DELETE /asterisk/modules/{moduleName}", "PUT /asterisk/modules/{moduleName}",
		"GET /asterisk/logging",
		"POST /asterisk/logging/{logChannelName}", "DELETE /asterisk/logging/{logChannelName}",
		"PUT /asterisk/logging/{logChannelName}/rotate")
	m.handle("GET /asterisk/variable", s.getGlobalVar)
	m.handle("POST /asterisk/variable", s.setGlobalVar)
}

// applicationRoutes: applications.json.
func (s *Server) applicationRoutes(m *router) {
	m.handle("GET /applications", s.listApplications)
	m.handle("GET /applications/{applicationName}", s.onApp(s.getApplication))
	m.handle("POST /applications/{applicationName}/subscription", s.onApp(s.subscribeApplication))
	m.handle("DELETE /applications/{applicationName}/subscription", s.onApp(s.subscribeApplication))
	m.handle("PUT /applications/{applicationName}/eventFilter", s.onApp(s.filterApplication))
}

// channelRoutes: channels.json.
func (s *Server) channelRoutes(m *router) {
	m.handle("GET /channels", s.listChannels)
	m.handle("POST /channels", s.originateChannel)
	m.handle("POST /channels/create", s.createChannel)
	m.handle("GET /channels/{channelId}", s.getChannel)
	m.handle("POST /channels/{channelId}", s.originateChannel)
	m.handle("DELETE /channels/{channelId}", s.hangupChannel)
	m.handle("POST /channels/{channelId}/continue", s.continueChannel)
	m.handle("POST /channels/{channelId}/move", s.moveChannel)
	m.handle("POST /channels/{channelId}/redirect", s.redirectChannel)
	m.handle("POST /channels/{channelId}/answer", s.answerChannel)
	m.handle("POST /channels/{channelId}/ring", s.channelNoop)
	m.handle("DELETE /channels/{channelId}/ring", s.channelNoop)
	m.handle("POST /channels/{channelId}/progress", s.channelNoop)
	m.handle("POST /channels/{channelId}/dtmf", s.sendChannelDTMF)
	m.handle("POST /channels/{channelId}/mute", s.muteChannel)
	m.handle("DELETE /channels/{channelId}/mute", s.muteChannel)
	m.handle("POST /channels/{channelId}/hold", s.holdChannel)
	m.handle("DELETE /channels/{channelId}/hold", s.holdChannel)
	m.handle("POST /channels/{channelId}/moh", s.channelNoop)
	m.handle("DELETE /channels/{channelId}/moh", s.channelNoop)
	m.handle("POST /channels/{channelId}/silence", s.channelNoop)
	m.handle("DELETE /channels/{channelId}/silence", s.channelNoop)
	m.handle("POST /channels/{channelId}/play", s.playOnChannel)
	m.handle("POST /channels/{channelId}/play/{playbackId}", s.playOnChannel)
	m.handle("POST /channels/{channelId}/record", s.recordChannel)
	m.handle("GET /channels/{channelId}/variable", s.getChannelVar)
	m.handle("POST /channels/{channelId}/variable", s.setChannelVar)
	m.notSimulated("GET /channels/{channelId}/variables", "POST /channels/{channelId}/variables")
	m.handle("POST /channels/{channelId}/snoop", s.snoopChannel)
	m.handle("POST /channels/{channelId}/snoop/{snoopId}", s.snoopChannel)
	m.handle("POST /channels/{channelId}/dial", s.dialChannel)
	m.handle("GET /channels/{channelId}/rtp_statistics", s.channelRTPStatistics)
	m.handle("POST /channels/externalMedia", s.externalMedia)
	m.notSimulated("POST /channels/{channelId}/transfer_progress")
}

// bridgeRoutes: bridges.json.
func (s *Server) bridgeRoutes(m *router) {
	m.handle("GET /bridges", s.listBridges)
	m.handle("POST /bridges", s.postBridge)
	m.handle("POST /bridges/{bridgeId}", s.postBridge)
	m.handle("GET /bridges/{bridgeId}", s.onBridge(s.getBridge))
	m.handle("DELETE /bridges/{bridgeId}", s.onBridge(s.deleteBridge))
	m.handle("GET /bridges/{bridgeId}/variable", s.onBridge(s.getBridgeVar))
	m.handle("POST /bridges/{bridgeId}/variable", s.onBridge(s.setBridgeVar))
	m.notSimulated("GET /bridges/{bridgeId}/variables", "POST /bridges/{bridgeId}/variables")
	m.handle("POST /bridges/{bridgeId}/addChannel", s.onBridge(s.addToBridge))
	m.handle("POST /bridges/{bridgeId}/removeChannel", s.onBridge(s.removeFromBridge))
	m.handle("POST /bridges/{bridgeId}/videoSource/{channelId}", s.onBridge(s.setVideoSource))
	m.handle("DELETE /bridges/{bridgeId}/videoSource", s.onBridge(s.clearVideoSource))
	m.handle("POST /bridges/{bridgeId}/moh", s.onBridge(s.bridgeNoop))
	m.handle("DELETE /bridges/{bridgeId}/moh", s.onBridge(s.bridgeNoop))
	m.handle("POST /bridges/{bridgeId}/play", s.onBridge(s.playOnBridge))
	m.handle("POST /bridges/{bridgeId}/play/{playbackId}", s.onBridge(s.playOnBridge))
	m.handle("POST /bridges/{bridgeId}/record", s.onBridge(s.recordBridge))
}

// deviceStateRoutes: deviceStates.json.
func (s *Server) deviceStateRoutes(m *router) {
	m.handle("GET /deviceStates", s.listDeviceStates)
	m.handle("GET /deviceStates/{deviceName}", s.getDeviceState)
	m.handle("PUT /deviceStates/{deviceName}", s.putDeviceState)
	m.handle("DELETE /deviceStates/{deviceName}", s.deleteDeviceState)
}

// endpointRoutes: endpoints.json.
func (s *Server) endpointRoutes(m *router) {
	m.handle("GET /endpoints", s.listEndpoints)
	m.handle("GET /endpoints/{tech}", s.listEndpoints)
	m.handle("GET /endpoints/{tech}/{resource}", s.getEndpoint)
	m.handle("PUT /endpoints/{tech}/{resource}/sendMessage", s.sendMessage)
	m.notSimulated("PUT /endpoints/sendMessage", "POST /endpoints/refer", "POST /endpoints/{tech}/{resource}/refer")
}

// eventRoutes: events.json.
func (s *Server) eventRoutes(m *router) {
	m.handleWebSocket("GET /events", func(w http.ResponseWriter, q *request) { s.serveEvents(w, q.r) })
	m.handle("POST /events/user/{eventName}", s.userEvent)
	m.notSimulated("POST /events/claim")
}

// mailboxRoutes: mailboxes.json.
func (s *Server) mailboxRoutes(m *router) {
	m.handle("GET /mailboxes", s.listMailboxes)
	m.handle("GET /mailboxes/{mailboxName}", s.getMailbox)
	m.handle("PUT /mailboxes/{mailboxName}", s.putMailbox)
	m.handle("DELETE /mailboxes/{mailboxName}", s.deleteMailbox)
}

// playbackRoutes: playbacks.json.
func (s *Server) playbackRoutes(m *router) {
	m.handle("GET /playbacks/{playbackId}", s.onPlayback(s.getPlayback))
	m.handle("DELETE /playbacks/{playbackId}", s.onPlayback(s.stopPlayback))
	m.handle("POST /playbacks/{playbackId}/control", s.onPlayback(s.postPlaybackControl))
}

// recordingRoutes: recordings.json.
func (s *Server) recordingRoutes(m *router) {
	m.handle("GET /recordings/stored", s.listStored)
	m.handle("GET /recordings/stored/{recordingName}", s.onStored(s.getStored))
	m.handle("DELETE /recordings/stored/{recordingName}", s.onStored(s.deleteStored))
	m.handle("GET /recordings/stored/{recordingName}/file", s.onStored(s.getStoredFile))
	m.handle("POST /recordings/stored/{recordingName}/copy", s.onStored(s.copyStored))
	m.handle("GET /recordings/live/{recordingName}", s.onLive(s.getLive))
	m.handle("DELETE /recordings/live/{recordingName}", s.onLive(s.cancelLive))
	m.handle("POST /recordings/live/{recordingName}/stop", s.onLive(s.stopLive))
	m.handle("POST /recordings/live/{recordingName}/pause", s.onLive(s.pauseLive))
	m.handle("DELETE /recordings/live/{recordingName}/pause", s.onLive(s.unpauseLive))
	m.handle("POST /recordings/live/{recordingName}/mute", s.onLive(s.muteLive))
	m.handle("DELETE /recordings/live/{recordingName}/mute", s.onLive(s.muteLive))
}

// soundRoutes: sounds.json.
func (s *Server) soundRoutes(m *router) {
	m.notSimulated("GET /sounds", "GET /sounds/{soundId}")
}

// ---- /asterisk

func (s *Server) getInfo(w http.ResponseWriter, q *request) { reply(w, s.info(q.list("only")), nil) }

func (s *Server) getPing(w http.ResponseWriter, _ *request) {
	reply(w, map[string]string{"asterisk_id": s.cfg.AsteriskID, "ping": "pong", "timestamp": stamp(time.Now())}, nil)
}

func (s *Server) getGlobalVar(w http.ResponseWriter, q *request) {
	getVariable(w, q, func(name string) (string, error) { return s.globals[name], nil })
}

func (s *Server) setGlobalVar(w http.ResponseWriter, q *request) {
	setVariable(w, q, func(name, value string) error { s.globals[name] = value; return nil })
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

func (s *Server) listApplications(w http.ResponseWriter, _ *request) {
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
}

// onApp adapts a handler of the application the path's {applicationName} names; one that no
// WebSocket serves is 404 "Application not found".
func (s *Server) onApp(fn func(http.ResponseWriter, *request, *app)) handlerFunc {
	return onResource("applicationName", func(name string) *app {
		if a := s.apps[name]; a != nil && a.conn != nil {
			return a
		}
		return nil
	}, errf(404, "Application not found"), fn)
}

func (s *Server) getApplication(w http.ResponseWriter, _ *request, a *app) { reply(w, a.json(), nil) }

// subscribeApplication serves POST (subscribe) and DELETE (unsubscribe) of …/subscription.
func (s *Server) subscribeApplication(w http.ResponseWriter, q *request, a *app) {
	srcs := q.list("eventSource")
	if len(srcs) == 0 {
		reply(w, nil, errf(400, "Missing parameter eventSource"))
		return
	}
	for _, src := range srcs {
		if err := s.subscription(a, src, q.r.Method == http.MethodPost); err != nil {
			reply(w, nil, err)
			return
		}
	}
	reply(w, a.json(), nil)
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

// ---- /endpoints

func (s *Server) endpointJSON(name string, ep *Endpoint) endpointJSON {
	ids := sortedKeys(ep.channels)
	state := "online"
	if ep.Offline {
		state = "offline"
	}
	return endpointJSON{Technology: "PJSIP", Resource: name, State: state, ChannelIDs: ids}
}

// listEndpoints serves GET /endpoints and GET /endpoints/{tech}: the simulator has PJSIP only.
func (s *Server) listEndpoints(w http.ResponseWriter, q *request) {
	if tech := q.path("tech"); tech != "" && tech != "PJSIP" {
		reply(w, nil, errf(404, "No Endpoints found - invalid tech "+tech))
		return
	}
	names := sortedKeys(s.endpoints)
	out := make([]endpointJSON, 0, len(names))
	for _, n := range names {
		out = append(out, s.endpointJSON(n, s.endpoints[n]))
	}
	reply(w, out, nil)
}

func (s *Server) getEndpoint(w http.ResponseWriter, q *request) {
	name := q.path("resource")
	ep := s.endpoints[name]
	if q.path("tech") != "PJSIP" || ep == nil {
		reply(w, nil, errf(404, "Endpoint not found"))
		return
	}
	reply(w, s.endpointJSON(name, ep), nil)
}

// ---- /deviceStates

var deviceStateNames = map[string]bool{"UNKNOWN": true, "NOT_INUSE": true, "INUSE": true, "BUSY": true, "INVALID": true, "UNAVAILABLE": true, "RINGING": true, "RINGINUSE": true, "ONHOLD": true}

func (s *Server) listDeviceStates(w http.ResponseWriter, _ *request) {
	names := sortedKeys(s.devices)
	out := make([]deviceStateJSON, 0, len(names))
	for _, n := range names {
		out = append(out, deviceStateJSON{Name: n, State: s.devices[n]})
	}
	reply(w, out, nil)
}

func (s *Server) getDeviceState(w http.ResponseWriter, q *request) {
	name := q.path("deviceName")
	st, ok := s.devices[name]
	if !ok {
		st = "UNKNOWN"
		if ep := s.endpoints[strings.TrimPrefix(name, "PJSIP/")]; strings.HasPrefix(name, "PJSIP/") && ep != nil {
			st = "NOT_INUSE"
			if ep.Offline {
				st = "UNAVAILABLE"
			}
		}
	}
	reply(w, deviceStateJSON{Name: name, State: st}, nil)
}

var errUncontrolledDevice = errf(409, "Uncontrolled device specified")

func (s *Server) putDeviceState(w http.ResponseWriter, q *request) {
	name := q.path("deviceName")
	if !strings.HasPrefix(name, "Stasis:") {
		reply(w, nil, errUncontrolledDevice)
		return
	}
	st := q.str("deviceState")
	if !deviceStateNames[st] {
		reply(w, nil, errf(400, "Invalid device state"))
		return
	}
	s.devices[name] = st
	s.emitDeviceState(name, st)
	reply(w, nil, nil)
}

func (s *Server) deleteDeviceState(w http.ResponseWriter, q *request) {
	name := q.path("deviceName")
	if !strings.HasPrefix(name, "Stasis:") {
		reply(w, nil, errUncontrolledDevice)
		return
	}
	if name == "Stasis:" {
		reply(w, nil, errf(404, "Device name is missing"))
		return
	}
	// res_stasis_device_state.c clears the cache and raises UNKNOWN, which
	// Asterisk 22.10 forwards to no app; a device never set is no error.
	delete(s.devices, name)
	reply(w, nil, nil)
}

// ---- /events/user/{eventName}

func (s *Server) userEvent(w http.ResponseWriter, q *request) {
	appName := q.str("application")
	if appName == "" {
		reply(w, nil, errf(400, "Missing parameter application"))
		return
	}
	if !s.appRegistered(appName) {
		reply(w, nil, errf(404, "Application not found"))
		return
	}
	body := map[string]any{"eventname": q.path("eventName"), "userevent": map[string]any{}}
	if raw, ok := q.body["variables"]; ok {
		body["userevent"] = raw
	}
	for _, src := range q.list("source") {
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
