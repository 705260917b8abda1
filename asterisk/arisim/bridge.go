package arisim

import (
	"sort"
	"strings"
	"time"
)

// bridge is a Stasis bridge.
type bridge struct {
	id, name, typ string // typ: "mixing" or "holding"
	created       time.Time
	channels      []*channel
	videoSource   string
	vars          map[string]string
}

func (b *bridge) json() bridgeJSON {
	ids := make([]string, 0, len(b.channels))
	for _, c := range b.channels {
		ids = append(ids, c.id)
	}
	tech := "simple_bridge"
	switch {
	case b.typ == "holding":
		tech = "holding_bridge"
	case len(b.channels) > 2:
		tech = "softmix"
	}
	vm := "talker"
	if b.typ == "holding" {
		vm = "none"
	}
	return bridgeJSON{
		ID: b.id, Technology: tech, BridgeType: b.typ, BridgeClass: "stasis", Creator: "Stasis",
		Name: b.name, Channels: ids, Creationtime: stamp(b.created), VideoMode: vm, VideoSource: b.videoSource,
	}
}

// createBridge implements POST /bridges[/{id}] (withID: the id came in the path). The types are
// parsed as res_stasis.c's bridge_create_common does: unknown words are ignored, and a request
// that leaves no capability ("dtmf_events" alone, a misspelt type) or asks for holding and mixing
// at once makes stasis_app_bridge_create fail, which resource_bridges.c answers with 500.
func (s *Server) createBridge(id, types, name string, withID bool) (*bridge, error) {
	if id != "" && s.bridges[id] != nil {
		return nil, errf(409, "Bridge with id '"+id+"' already exists")
	}
	if types == "" {
		types = "mixing"
	}
	typ, mixing, holding, sfu := "mixing", false, false, false
	for _, t := range strings.Split(types, ",") {
		switch strings.TrimSpace(t) {
		case "mixing":
			mixing = true
		case "holding":
			holding, typ = true, "holding"
		case "video_sfu":
			sfu = true
		}
	}
	if sfu { // an SFU bridge is always multimix
		mixing, holding, typ = true, false, "mixing"
	}
	if !mixing && !holding || mixing && holding {
		if withID {
			return nil, errf(500, "Unable to create bridge")
		}
		return nil, errf(500, "Unable to create bridge. Possible duplicate bridge id '"+nullStr(id)+"'")
	}
	if id == "" {
		id = newUUID()
	}
	b := &bridge{id: id, name: name, typ: typ, created: time.Now(), vars: map[string]string{}}
	s.bridges[id] = b
	s.emit(&event{typ: "BridgeCreated", body: map[string]any{"bridge": b.json()}, bridges: []string{id}, allOnly: true})
	return b, nil
}

// addChannels implements POST /bridges/{id}/addChannel.
func (s *Server) addChannels(b *bridge, ids []string) error {
	if len(ids) == 0 {
		return errf(400, "Missing parameter channel")
	}
	chans := make([]*channel, 0, len(ids))
	for _, id := range ids {
		c := s.channels[id]
		if c == nil {
			return errf(400, "Channel not found")
		}
		if c.stasisApp == "" {
			return errf(422, "Channel not in Stasis application")
		}
		chans = append(chans, c)
	}
	for _, c := range chans {
		if c.bridge == b {
			continue
		}
		if c.bridge != nil {
			s.leaveBridge(c) // Asterisk moves a bridged channel to the new bridge
		}
		c.bridge = b
		b.channels = append(b.channels, c)
		// The app is subscribed to the bridge while its channel is in it (so BridgeDestroyed after
		// the channels left is not seen, as recorded).
		if a := s.apps[c.stasisApp]; a != nil {
			a.bridgeRefs[b.id]++
		}
		s.emit(&event{typ: "ChannelEnteredBridge", body: map[string]any{"bridge": b.json(), "channel": c.json()}, channels: []string{c.id}, bridges: []string{b.id}})
	}
	s.updateBridgePeers(b)
	return nil
}

// updateBridgePeers sets BRIDGEPEER on members of a bridge of two or more.
func (s *Server) updateBridgePeers(b *bridge) {
	if len(b.channels) < 2 {
		return
	}
	for _, c := range b.channels {
		var others []string
		for _, o := range b.channels {
			if o != c {
				others = append(others, o.name)
			}
		}
		sort.Strings(others)
		v := strings.Join(others, ",")
		if c.vars["BRIDGEPEER"] != v {
			s.setVar(c, "BRIDGEPEER", v)
		}
	}
}

// leaveBridge takes c out of its bridge: BRIDGEPEER cleared, ChannelLeftBridge.
func (s *Server) leaveBridge(c *channel) {
	b := c.bridge
	if b == nil {
		return
	}
	if c.vars["BRIDGEPEER"] != "" {
		s.setVar(c, "BRIDGEPEER", "")
	}
	for i, o := range b.channels {
		if o == c {
			b.channels = append(b.channels[:i:i], b.channels[i+1:]...)
			break
		}
	}
	s.emit(&event{typ: "ChannelLeftBridge", body: map[string]any{"bridge": b.json(), "channel": c.json()}, channels: []string{c.id}, bridges: []string{b.id}})
	c.bridge = nil
	if a := s.apps[c.stasisApp]; a != nil && a.bridgeRefs[b.id] > 0 {
		if a.bridgeRefs[b.id]--; a.bridgeRefs[b.id] == 0 {
			delete(a.bridgeRefs, b.id)
		}
	}
	if len(b.channels) >= 2 {
		s.updateBridgePeers(b)
	}
}

// destroyBridge implements DELETE /bridges/{id}: members leave (they stay in Stasis), BridgeDestroyed.
func (s *Server) destroyBridge(b *bridge) {
	for len(b.channels) > 0 {
		s.leaveBridge(b.channels[0])
	}
	s.stopMediaOn("bridge:" + b.id)
	s.finishRecordingsOn("bridge:" + b.id)
	s.emit(&event{typ: "BridgeDestroyed", body: map[string]any{"bridge": b.json()}, bridges: []string{b.id}})
	delete(s.bridges, b.id)
	for _, a := range s.apps {
		delete(a.bridges, b.id)
		delete(a.bridgeRefs, b.id)
	}
}

func (s *Server) bridgeList() []bridgeJSON {
	out := make([]bridgeJSON, 0, len(s.bridges))
	for _, b := range s.bridges {
		out = append(out, b.json())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Creationtime+out[i].ID < out[j].Creationtime+out[j].ID })
	return out
}

// nullStr is what Asterisk's printf shows for a NULL string argument.
func nullStr(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}
