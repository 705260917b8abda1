package arisim

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// External media (POST /channels/externalMedia), as resource_channels.c
// and chan_rtp do it: encapsulation rtp over udp creates a UnicastRTP
// channel into the app (name "UnicastRTP/<host>-<hex>", channel variables
// UNICASTRTP_LOCAL_ADDRESS and UNICASTRTP_LOCAL_PORT, returned in the
// answer's "channelvars"), which sends the audio it is given, 20 ms per
// RTP packet, to external_host and takes the RTP sent back to its local
// port as the audio it reads. In the simulator the audio a bridge gives
// the channel is a tone while a playback plays on the bridge, silence
// otherwise; the audio it reads is written into the recordings of its
// bridge. audiosocket over tcp creates an AudioSocket channel that speaks
// the AudioSocket protocol over a TCP connection to external_host
// (runAudioSocket). The arguments are checked as
// ast_ari_channels_external_media of Asterisk 22.10 checks them
// (externalMediaArgs); websocket has no connection to use (no
// websocket_client.conf, no chan_websocket): 400 for a client
// connection id, 500 for a server connection, as such an Asterisk does.

// extMedia is the media side of an external media channel: RTP over
// conn, or AudioSocket over tcp.
type extMedia struct {
	conn   *net.UDPConn
	tcp    net.Conn
	remote *net.UDPAddr
	pt     byte
	done   chan struct{}
}

// rtpPayloadType is the RTP payload type of a format (ulaw 0, alaw 8,
// g722 9; the others a dynamic one, as chan_rtp takes from the format).
func rtpPayloadType(format string) byte {
	switch format {
	case "ulaw":
		return 0
	case "alaw":
		return 8
	case "g722":
		return 9
	}
	return 118
}

func (s *Server) externalMedia(w http.ResponseWriter, q *request) {
	p := q.params
	vars, err := p.variables()
	if err != nil {
		reply(w, nil, err)
		return
	}
	if err := externalMediaArgs(p); err != nil {
		reply(w, nil, err)
		return
	}
	app, host, format := p.str("app"), p.str("external_host"), p.str("format")
	enc, tr := p.str("encapsulation"), p.str("transport")
	if enc == "" {
		enc = "rtp"
	}
	if tr == "" {
		tr = "udp"
	}
	if strings.EqualFold(enc, "audiosocket") && strings.EqualFold(tr, "tcp") && p.str("data") == "" {
		reply(w, nil, errf(400, "data can not be empty"))
		return
	}
	if !(strings.EqualFold(enc, "rtp") && strings.EqualFold(tr, "udp")) && !(strings.EqualFold(enc, "audiosocket") && strings.EqualFold(tr, "tcp")) {
		if strings.EqualFold(enc, "none") && strings.EqualFold(tr, "websocket") {
			// A WebSocket server connection needs chan_websocket, which
			// the simulator (like an Asterisk built without it) lacks:
			// the originate fails.
			reply(w, nil, errExtMediaFailed)
			return
		}
		reply(w, nil, errf(501, "The encapsulation and/or transport is not supported"))
		return
	}
	// From here on a failure is the originate's, which resource_channels.c
	// answers 500 whatever the originate said (a taken channel id, an
	// unknown format, a host that does not resolve or answer).
	id := p.str("channelId")
	if id == "" {
		id = s.newID()
	} else if s.channels[id] != nil {
		reply(w, nil, errExtMediaFailed)
		return
	}
	if !knownFormats[format] {
		reply(w, nil, errExtMediaFailed)
		return
	}
	var c *channel
	switch {
	case strings.EqualFold(enc, "rtp") && strings.EqualFold(tr, "udp"):
		remote, err := net.ResolveUDPAddr("udp", host)
		if err != nil || remote.IP == nil {
			reply(w, nil, errExtMediaFailed)
			return
		}
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			reply(w, nil, errExtMediaFailed)
			return
		}
		c = s.newChannel(id, fmt.Sprintf("UnicastRTP/%s-0x%x", host, time.Now().UnixNano()&0xffffffffff), "UnicastRTP")
		local := conn.LocalAddr().(*net.UDPAddr)
		c.vars["UNICASTRTP_LOCAL_ADDRESS"] = local.IP.String()
		c.vars["UNICASTRTP_LOCAL_PORT"] = fmt.Sprint(local.Port)
		c.media = &extMedia{conn: conn, remote: remote, pt: rtpPayloadType(format), done: make(chan struct{})}
		s.runExtMedia(c)
	case strings.EqualFold(enc, "audiosocket") && strings.EqualFold(tr, "tcp"):
		data := p.str("data")
		u, err := parseUUID(data)
		if err != nil {
			reply(w, nil, errExtMediaFailed)
			return
		}
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			// chan_audiosocket's request fails: the originate does.
			reply(w, nil, errExtMediaFailed)
			return
		}
		c = s.newChannel(id, fmt.Sprintf("AudioSocket/%s-%s", host, data), "AudioSocket")
		c.media = &extMedia{tcp: conn, done: make(chan struct{})}
		s.runAudioSocket(c, u)
	}
	for k, v := range vars {
		c.vars[k] = v
	}
	c.resource = host
	c.originated = true
	s.subscribe(app, c.id)
	var args []string
	if d := p.str("data"); d != "" {
		args = []string{d}
	}
	out := c.json()
	out.Channelvars = map[string]string{}
	for k, v := range c.vars {
		out.Channelvars[k] = v
	}
	// chan_rtp and chan_audiosocket answer at once; the channel then enters the app.
	s.after(time.Millisecond, func() {
		if c.hungup {
			return
		}
		s.setState(c, "Up")
		if !s.appRegistered(app) {
			// As an originate into an app without a WebSocket: Stasis() fails.
			s.setVar(c, "STASISSTATUS", "FAILED")
			s.hangupNow(c, 16)
			return
		}
		s.enterStasis(c, app, args, true)
	})
	reply(w, out, nil)
}

// errExtMediaFailed is resource_channels.c's answer when the originate
// behind an external media channel fails.
var errExtMediaFailed = errf(500, "An internal error prevented this request from being handled")

// externalMediaArgs checks the arguments of POST /channels/externalMedia
// in the order and with the answers of ast_ari_channels_external_media
// (Asterisk 22.10): the encapsulation and transport pairs (compared
// case-sensitively there; the choice of channel after them is not),
// connection_type, external_host (<host>:<port>, or with websocket the
// id of a websocket_client.conf connection, of which the simulator has
// none), format and direction.
func externalMediaArgs(p params) error {
	enc, tr, ct, host := p.str("encapsulation"), p.str("transport"), p.str("connection_type"), p.str("external_host")
	if p.str("app") == "" {
		return errf(400, "app cannot be empty")
	}
	if tr == "" {
		tr = "udp"
	}
	if enc == "" {
		enc = "rtp"
	}
	switch {
	case tr == "websocket" && enc != "none":
		return errf(400, "encapsulation must be 'none' for websocket transport")
	case enc == "rtp" && tr != "udp":
		return errf(400, "transport must be 'udp' for rtp encapsulation")
	case enc == "audiosocket" && tr != "tcp":
		return errf(400, "transport must be 'tcp' for audiosocket encapsulation")
	}
	if ct == "" {
		ct = "client"
	}
	if tr != "websocket" && ct == "server" {
		return errf(400, "'server' connection_type can only be used with the websocket transport")
	}
	if host == "" {
		if ct == "client" {
			return errf(400, "external_host is required for all but websocket server connections")
		}
		host = "INCOMING"
	}
	if tr == "websocket" {
		if ct == "client" {
			return errf(400, "external_host must be a valid websocket_client connection id.")
		}
	} else if !splitHostPortRequired(host) {
		return errf(400, "external_host must be <host>:<port> for all transports other than websocket")
	}
	if p.str("format") == "" {
		return errf(400, "format cannot be empty")
	}
	if d := p.str("direction"); d != "" && d != "both" && d != "in" && d != "out" {
		return errf(400, "Invalid direction specified")
	}
	return nil
}

// splitHostPortRequired reports whether ast_sockaddr_split_hostport with
// PARSE_PORT_REQUIRE accepts s: a host (possibly empty) and a port
// separator, the port possibly empty ("127.0.0.1:" passes; the originate
// then fails), an IPv6 address in brackets.
func splitHostPortRequired(s string) bool {
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		return i > 0 && strings.HasPrefix(s[i+1:], ":")
	}
	return strings.Count(s, ":") == 1
}

// runExtMedia starts the RTP of external media channel c: a packet every
// 20 ms to its remote, and a reader of what comes back. Both end when the
// channel is destroyed or the server closes (stopExtMedia).
func (s *Server) runExtMedia(c *channel) {
	m := c.media
	s.extMedia[c.id] = m
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var seq uint16
		var ts uint32
		ssrc := uint32(time.Now().UnixNano())
		pkt := make([]byte, 12+160)
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
			}
			s.mu.Lock()
			tone := c.bridge != nil && s.playingOnBridge(c.bridge.id)
			s.mu.Unlock()
			pkt[0], pkt[1] = 0x80, m.pt
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], ts)
			binary.BigEndian.PutUint32(pkt[8:], ssrc)
			for i := range 160 {
				pkt[12+i] = 0xff // ulaw silence
				if tone {
					pkt[12+i] = toneSample(int(ts) + i)
				}
			}
			seq++
			ts += 160
			_, _ = m.conn.WriteToUDP(pkt, m.remote)
		}
	}()
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, _, err := m.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			payload, ok := rtpPayload(buf[:n])
			if !ok {
				continue
			}
			s.mu.Lock()
			if c.bridge != nil {
				s.hearOnBridge(c.bridge.id, payload)
			}
			s.mu.Unlock()
		}
	}()
}

// stopExtMedia ends the RTP of channel c. Caller holds s.mu.
func (s *Server) stopExtMedia(c *channel) {
	m := s.extMedia[c.id]
	if m == nil {
		return
	}
	delete(s.extMedia, c.id)
	close(m.done)
	if m.conn != nil {
		_ = m.conn.Close()
	}
	if m.tcp != nil {
		_, _ = m.tcp.Write([]byte{0x00, 0, 0}) // AudioSocket hangup
		_ = m.tcp.Close()
	}
}

// parseUUID reads a UUID in its text form.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return u, fmt.Errorf("not a UUID")
	}
	for i := range 16 {
		var b byte
		if _, err := fmt.Sscanf(h[2*i:2*i+2], "%02x", &b); err != nil {
			return u, err
		}
		u[i] = b
	}
	return u, nil
}

// runAudioSocket speaks AudioSocket on channel c's connection: the UUID
// first (kind 0x01), then 20 ms of signed linear 8 kHz audio (kind 0x10)
// every 20 ms, as runExtMedia sends RTP; audio frames received go into the
// recordings of its bridge, a hangup frame (0x00) or a closed connection
// hangs the channel up.
func (s *Server) runAudioSocket(c *channel, u [16]byte) {
	m := c.media
	s.extMedia[c.id] = m
	_, _ = m.tcp.Write(append([]byte{0x01, 0, 16}, u[:]...))
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		frame := make([]byte, 3+320)
		frame[0] = 0x10
		binary.BigEndian.PutUint16(frame[1:], 320)
		n := 0
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
			}
			s.mu.Lock()
			tone := c.bridge != nil && s.playingOnBridge(c.bridge.id)
			s.mu.Unlock()
			for i := range 160 {
				var v int16
				if tone {
					v = ulawToLinear(toneSample(n + i))
				}
				binary.LittleEndian.PutUint16(frame[3+2*i:], uint16(v))
			}
			n += 160
			if _, err := m.tcp.Write(frame); err != nil {
				return
			}
		}
	}()
	go func() {
		defer s.wg.Done()
		hdr := make([]byte, 3)
		for {
			if _, err := io.ReadFull(m.tcp, hdr); err != nil || hdr[0] == 0x00 {
				break
			}
			body := make([]byte, binary.BigEndian.Uint16(hdr[1:]))
			if _, err := io.ReadFull(m.tcp, body); err != nil {
				break
			}
			if hdr[0] != 0x10 {
				continue
			}
			audio := make([]byte, len(body)/2)
			for i := range audio {
				audio[i] = linearToUlaw(int16(binary.LittleEndian.Uint16(body[2*i:])))
			}
			s.mu.Lock()
			if c.bridge != nil {
				s.hearOnBridge(c.bridge.id, audio)
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-m.done: // hung up from our side
		default:
			if !c.hungup && s.channels[c.id] == c {
				s.farEndHangup(c, 16)
			}
		}
	}()
}

// linearToUlaw encodes a sample as G.711 µ-law.
func linearToUlaw(v int16) byte {
	const bias, clip = 0x84, 32635
	x := int(v)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// rtpPayload returns the payload of an RTP packet (version 2, CSRCs and
// an extension header skipped).
func rtpPayload(b []byte) ([]byte, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return nil, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	if len(b) < off {
		return nil, false
	}
	return b[off:], true
}

// toneSample is sample i of the simulator's playback audio: a 500 Hz
// square wave in ulaw.
func toneSample(i int) byte {
	if (i/8)%2 == 0 {
		return 0x20
	}
	return 0xa0
}

// playingOnBridge reports whether a playback plays on bridge id. Caller holds s.mu.
func (s *Server) playingOnBridge(id string) bool {
	for _, p := range s.playbacks {
		if p.target == "bridge:"+id && p.state == "playing" {
			return true
		}
	}
	return false
}

// hearOnBridge writes audio (ulaw) a channel of bridge id sent into the
// bridge's recordings: as it is while recording, as silence while muted,
// not at all while paused. Caller holds s.mu.
func (s *Server) hearOnBridge(id string, audio []byte) {
	for _, r := range s.liveRecs {
		if r.target != "bridge:"+id || r.state != "recording" {
			continue
		}
		if r.muted {
			r.samples = append(r.samples, make([]byte, len(audio))...)
			for i := len(r.samples) - len(audio); i < len(r.samples); i++ {
				r.samples[i] = 0xff
			}
			continue
		}
		r.samples = append(r.samples, audio...)
	}
}

// StoredRecordingFile returns the file of stored recording name as
// GET /recordings/stored/{name}/file answers it.
func (s *Server) StoredRecordingFile(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stored[name]
	if st == nil {
		return nil, false
	}
	if st.samples != nil {
		return audioWAV(st.samples), true
	}
	return silentWAV(st.duration), true
}

// ulawToLinear decodes one G.711 µ-law sample.
func ulawToLinear(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// audioWAV returns an 8 kHz mono 16-bit WAV of ulaw samples.
func audioWAV(ulaw []byte) []byte {
	b := wav(2 * len(ulaw))
	for i, u := range ulaw {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(ulawToLinear(u)))
	}
	return b
}
