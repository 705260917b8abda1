package arisim_test

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestExternalMediaRTP: POST /channels/externalMedia (rtp over udp) makes
// a UnicastRTP channel into the app whose answer names its local RTP
// address; bridged with a call, it sends RTP to the test's own UDP
// listener (a tone while a playback plays on the bridge), and the audio the
// test sends back to its local port is in the bridge's recording. On the
// simulator and, with CALLGW_TEST_ARI_URL, on Asterisk 22.
func TestExternalMediaRTP(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	a := tg.originate(t, ev, tg.app, "answer")
	bot, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	host := bot.LocalAddr().String()
	em := uniq("em")
	m := tg.mustDo(t, 200, "POST", "/channels/externalMedia", url.Values{"app": {tg.app}, "external_host": {host}, "format": {"ulaw"}, "channelId": {em}}, nil)
	vars, _ := m["channelvars"].(map[string]any)
	if name, _ := m["name"].(string); !strings.HasPrefix(name, "UnicastRTP/"+host+"-") || vars["UNICASTRTP_LOCAL_ADDRESS"] == nil || vars["UNICASTRTP_LOCAL_PORT"] == nil {
		t.Fatalf("external media channel %v", m)
	}
	ev.wait(t, "StasisStart", isChan(em), 5*time.Second)
	br := uniq("br")
	tg.mustDo(t, 200, "POST", "/bridges/"+br, url.Values{"type": {"mixing"}}, nil)
	defer tg.do(t, "DELETE", "/bridges/"+br, nil, nil)
	tg.mustDo(t, 204, "POST", "/bridges/"+br+"/addChannel", url.Values{"channel": {a + "," + em}}, nil)

	// A playback on the bridge reaches the bot as RTP.
	pb := uniq("pb")
	tg.mustDo(t, 201, "POST", "/bridges/"+br+"/play/"+pb, url.Values{"media": {"tone:ring;tonezone=us"}}, nil)
	var from *net.UDPAddr
	buf := make([]byte, 2048)
	_ = bot.SetReadDeadline(time.Now().Add(5 * time.Second))
	for from == nil {
		n, addr, err := bot.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no RTP with audio from the external media channel: %v", err)
		}
		if n > 12 && buf[0]>>6 == 2 && loud(buf[12:n]) {
			from = addr
		}
	}
	tg.mustDo(t, 204, "DELETE", "/playbacks/"+pb, nil, nil)

	// The bot's answer is in the bridge's recording.
	rec := uniq("emrec")
	tg.mustDo(t, 201, "POST", "/bridges/"+br+"/record", url.Values{"name": {rec}, "format": {"wav"}}, nil)
	ev.wait(t, "RecordingStarted", nil, 3*time.Second)
	pkt := make([]byte, 12+160)
	for i := range 50 { // 1 s of a loud square wave
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
		binary.BigEndian.PutUint32(pkt[8:], 0x1234)
		for j := range 160 {
			pkt[12+j] = 0x10
			if (j/10)%2 == 1 {
				pkt[12+j] = 0x90
			}
		}
		if _, err := bot.WriteToUDP(pkt, from); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tg.mustDo(t, 204, "POST", "/recordings/live/"+rec+"/stop", nil, nil)
	ev.wait(t, "RecordingFinished", nil, 3*time.Second)
	defer tg.do(t, "DELETE", "/recordings/stored/"+rec, nil, nil)
	st, wav := tg.do(t, "GET", "/recordings/stored/"+rec+"/file", nil, nil)
	if st != 200 || len(wav) < 44 {
		t.Fatalf("recording file: %d, %d bytes", st, len(wav))
	}
	n := 0
	for i := 44; i+1 < len(wav); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(wav[i:])); v > 4000 || v < -4000 {
			n++
		}
	}
	if n < 4000 { // half of the second sent
		t.Errorf("the recording holds %d loud samples of the 8000 the bot sent", n)
	}
	tg.mustDo(t, 204, "DELETE", "/channels/"+em, nil, nil)
}

// loud reports whether ulaw audio is more than near-silence.
func loud(b []byte) bool {
	for _, u := range b {
		if u&0x7f < 0x60 {
			return true
		}
	}
	return false
}

// TestExternalMediaBadInput: the answers of resource_channels.c
// (ast_ari_channels_external_media, Asterisk 22.10) to a request it
// refuses, in its order of checks; a failing originate (nobody listening
// for AudioSocket, an unknown format) is its 500 whatever the cause.
func TestExternalMediaBadInput(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // a port nobody listens on
	ln.Close()
	const h, uuid = "127.0.0.1:4000", "4a3b2c1d-0e0f-4a1b-8c2d-3e4f5a6b7c8d"
	q := func(kv ...string) url.Values {
		v := url.Values{"app": {tg.app}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(v, kv[i])
				continue
			}
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		q      url.Values
		status int
		msg    string
	}{
		{q("app", "", "external_host", h, "format", "ulaw"), 400, "app cannot be empty"},
		{q("external_host", h, "format", "ulaw", "transport", "websocket"), 400, "encapsulation must be 'none' for websocket transport"},
		{q("external_host", h, "format", "ulaw", "transport", "websocket", "encapsulation", "rtp"), 400, "encapsulation must be 'none' for websocket transport"},
		{q("external_host", h, "format", "ulaw", "transport", "tcp"), 400, "transport must be 'udp' for rtp encapsulation"},
		{q("external_host", h, "format", "ulaw", "encapsulation", "audiosocket"), 400, "transport must be 'tcp' for audiosocket encapsulation"},
		{q("external_host", h, "format", "ulaw", "connection_type", "server"), 400, "'server' connection_type can only be used with the websocket transport"},
		{q("format", "ulaw"), 400, "external_host is required for all but websocket server connections"},
		{q("format", "ulaw", "transport", "websocket", "encapsulation", "none"), 400, "external_host is required for all but websocket server connections"},
		{q("external_host", "127.0.0.1", "format", "ulaw"), 400, "external_host must be <host>:<port> for all transports other than websocket"},
		{q("external_host", "127.0.0.1", "format", "slin", "encapsulation", "audiosocket", "transport", "tcp", "data", uuid), 400, "external_host must be <host>:<port> for all transports other than websocket"},
		{q("external_host", "nosuchconnection", "format", "ulaw", "transport", "websocket", "encapsulation", "none"), 400, "external_host must be a valid websocket_client connection id."},
		{q("external_host", "nosuchconnection", "transport", "websocket", "encapsulation", "none", "connection_type", "client"), 400, "external_host must be a valid websocket_client connection id."},
		{q("external_host", h), 400, "format cannot be empty"},
		{q("external_host", h, "format", "ulaw", "direction", "up"), 400, "Invalid direction specified"},
		{q("external_host", h, "format", "slin", "encapsulation", "audiosocket", "transport", "tcp"), 400, "data can not be empty"},
		{q("external_host", h, "format", "ulaw", "encapsulation", "none", "transport", "udp"), 501, "The encapsulation and/or transport is not supported"},
		{q("external_host", closed, "format", "slin", "encapsulation", "audiosocket", "transport", "tcp", "data", uuid), 500, "An internal error prevented this request from being handled"},
		{q("external_host", h, "format", "nosuchformat"), 500, "An internal error prevented this request from being handled"},
	} {
		st, body := tg.do(t, "POST", "/channels/externalMedia", tc.q, nil)
		var m struct{ Message string }
		_ = json.Unmarshal(body, &m)
		if st != tc.status || (tc.msg != "" && m.Message != tc.msg) {
			t.Errorf("%v: %d %s, want %d %q", tc.q, st, body, tc.status, tc.msg)
		}
	}
}

// TestExternalMediaAudioSocket: encapsulation audiosocket over tcp makes
// Asterisk connect to the test's TCP listener, send the UUID given in
// data, then signed linear audio (a tone while a playback plays on the
// bridge); the audio the test sends back is in the bridge's recording, and
// the test closing the connection hangs the channel up.
func TestExternalMediaAudioSocket(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	a := tg.originate(t, ev, tg.app, "answer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const uuid = "4a3b2c1d-0e0f-4a1b-8c2d-3e4f5a6b7c8d"
	em := uniq("as")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	tg.mustDo(t, 200, "POST", "/channels/externalMedia", url.Values{"app": {tg.app}, "external_host": {ln.Addr().String()}, "format": {"slin"},
		"encapsulation": {"audiosocket"}, "transport": {"tcp"}, "data": {uuid}, "channelId": {em}}, nil)
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("Asterisk did not connect")
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	readFrame := func() (byte, []byte) {
		hdr := make([]byte, 3)
		if _, err := io.ReadFull(conn, hdr); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint16(hdr[1:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		return hdr[0], body
	}
	if kind, id := readFrame(); kind != 0x01 || len(id) != 16 || id[0] != 0x4a || id[15] != 0x8d {
		t.Fatalf("first frame: kind 0x%02x, %x", kind, id)
	}
	ev.wait(t, "StasisStart", isChan(em), 5*time.Second)
	br := uniq("br")
	tg.mustDo(t, 200, "POST", "/bridges/"+br, url.Values{"type": {"mixing"}}, nil)
	defer tg.do(t, "DELETE", "/bridges/"+br, nil, nil)
	tg.mustDo(t, 204, "POST", "/bridges/"+br+"/addChannel", url.Values{"channel": {a + "," + em}}, nil)
	pb := uniq("pb")
	tg.mustDo(t, 201, "POST", "/bridges/"+br+"/play/"+pb, url.Values{"media": {"tone:ring;tonezone=us"}}, nil)
	for heard := false; !heard; {
		kind, body := readFrame()
		for i := 0; kind == 0x10 && i+1 < len(body); i += 2 {
			if v := int16(binary.LittleEndian.Uint16(body[i:])); v > 2000 || v < -2000 {
				heard = true
			}
		}
	}
	tg.mustDo(t, 204, "DELETE", "/playbacks/"+pb, nil, nil)
	rec := uniq("asrec")
	tg.mustDo(t, 201, "POST", "/bridges/"+br+"/record", url.Values{"name": {rec}, "format": {"wav"}}, nil)
	ev.wait(t, "RecordingStarted", nil, 3*time.Second)
	go func() { // keep reading what Asterisk sends
		_, _ = io.Copy(io.Discard, conn)
	}()
	frame := make([]byte, 3+320)
	frame[0] = 0x10
	binary.BigEndian.PutUint16(frame[1:], 320)
	for i := range 160 {
		v := int16(12000)
		if (i/10)%2 == 1 {
			v = -12000
		}
		binary.LittleEndian.PutUint16(frame[3+2*i:], uint16(v))
	}
	for range 50 {
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tg.mustDo(t, 204, "POST", "/recordings/live/"+rec+"/stop", nil, nil)
	ev.wait(t, "RecordingFinished", nil, 3*time.Second)
	defer tg.do(t, "DELETE", "/recordings/stored/"+rec, nil, nil)
	_, wav := tg.do(t, "GET", "/recordings/stored/"+rec+"/file", nil, nil)
	loudN := 0
	for i := 44; i+1 < len(wav); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(wav[i:])); v > 4000 || v < -4000 {
			loudN++
		}
	}
	if loudN < 4000 {
		t.Errorf("the recording holds %d loud samples of the 8000 sent", loudN)
	}
	_, _ = conn.Write([]byte{0x00, 0, 0}) // the service hangs up
	conn.Close()
	ev.wait(t, "StasisEnd", isChan(em), 5*time.Second)
}
