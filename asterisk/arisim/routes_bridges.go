package arisim

import (
	"net/http"
	"time"
)

// ---- /bridges: the handlers of bridges.json's operations (routes.go maps the paths).

func (s *Server) listBridges(w http.ResponseWriter, _ *request) { reply(w, s.bridgeList(), nil) }

// postBridge serves POST /bridges (id in the bridgeId parameter) and POST
// /bridges/{bridgeId}. Asterisk 22 updates nothing of an existing bridge and answers with it.
func (s *Server) postBridge(w http.ResponseWriter, q *request) {
	id, withID := q.path("bridgeId"), true
	if id == "" {
		id, withID = q.str("bridgeId"), false
	} else if b := s.bridges[id]; b != nil {
		reply(w, b.json(), nil)
		return
	}
	b, err := s.createBridge(id, q.str("type"), q.str("name"), withID)
	if err != nil {
		reply(w, nil, err)
		return
	}
	reply(w, b.json(), nil)
}

// onBridge adapts a handler of the path's {bridgeId}: 404 "Bridge not found" when it is missing.
func (s *Server) onBridge(fn func(http.ResponseWriter, *request, *bridge)) handlerFunc {
	return onResource("bridgeId", func(id string) *bridge { return s.bridges[id] }, errBridgeNotFound, fn)
}

func (s *Server) getBridge(w http.ResponseWriter, _ *request, b *bridge) { reply(w, b.json(), nil) }

func (s *Server) deleteBridge(w http.ResponseWriter, _ *request, b *bridge) {
	s.destroyBridge(b)
	reply(w, nil, nil)
}

// bridgeNoop serves music on hold for a bridge: nothing the simulator models changes.
func (s *Server) bridgeNoop(w http.ResponseWriter, _ *request, _ *bridge) { reply(w, nil, nil) }

func (s *Server) addToBridge(w http.ResponseWriter, q *request, b *bridge) {
	reply(w, nil, s.addChannels(b, q.list("channel")))
}

func (s *Server) removeFromBridge(w http.ResponseWriter, q *request, b *bridge) {
	ids := q.list("channel")
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
}

// playOnBridge serves POST …/play (id in the playbackId parameter) and …/play/{playbackId}.
func (s *Server) playOnBridge(w http.ResponseWriter, q *request, b *bridge) {
	pbID := q.path("playbackId")
	if pbID == "" {
		pbID = q.str("playbackId")
	}
	pb, err := s.play("bridge:"+b.id, pbID, q.str("lang"), q.list("media"), time.Time{})
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Location", "/playbacks/"+pb.id)
	writeJSON(w, http.StatusCreated, pb.json())
}

// recordBridge records the bridge's mix; it carries audio when one member is not a Local channel.
func (s *Server) recordBridge(w http.ResponseWriter, q *request, b *bridge) {
	audio := false
	for _, c := range b.channels {
		audio = audio || c.tech != "Local"
	}
	r, err := s.record("bridge:"+b.id, audio, q.params)
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Location", "/recordings/live/"+r.name)
	writeJSON(w, http.StatusCreated, r.json(false))
}

func (s *Server) clearVideoSource(w http.ResponseWriter, _ *request, b *bridge) {
	b.videoSource = ""
	reply(w, nil, nil)
}

func (s *Server) setVideoSource(w http.ResponseWriter, q *request, b *bridge) {
	c := s.channels[q.path("channelId")]
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
}

func (s *Server) getBridgeVar(w http.ResponseWriter, q *request, b *bridge) {
	getVariable(w, q, func(name string) (string, error) {
		v, ok := b.vars[name]
		if !ok {
			return "", errVariableNotFound
		}
		return v, nil
	})
}

func (s *Server) setBridgeVar(w http.ResponseWriter, q *request, b *bridge) {
	setVariable(w, q, func(name, value string) error { b.vars[name] = value; return nil })
}
