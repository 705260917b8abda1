package main

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/restapi"
)

// TestExternalMediaVoiceBot: a call's audio to a voice bot through the
// whole system (REST, the broker, the worker, ARI), on the simulator or,
// with CALLGW_TEST_ARI_URL, on a real Asterisk 22 on this host. Tenant acme
// may send audio to 127.0.0.0/8 only: another host is 403, tenant beta
// (no list) is refused, and beta cannot touch acme's call (404). The test's
// own UDP listener receives RTP while a sound plays on the call's bridge,
// sends audio back, and the bridge's recording holds it. Stopping it
// announces call.externalmedia.stopped.
func TestExternalMediaVoiceBot(t *testing.T) {
	var clients []config.AuthClient
	for _, tenant := range []string{"acme", "beta"} {
		h, err := restapi.HashSecret(tenant + "-secret-0123456789")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, config.AuthClient{ID: tenant + "-app", SecretHash: h, Tenant: tenant,
			Scopes: []string{"calls:read", "calls:write", "events:read", "nodes:read"}})
	}
	s := startStackWith(t, &system{auth: clients, extMedia: callapi.ExternalMediaTargets{"acme": {"127.0.0.0/8"}}}, realNode)
	sp := s.spy("callapi.events.routed", "acme.#")
	acme, beta := s.token("acme"), s.token("beta")
	auth := func(tok string) []string { return []string{"Authorization", tok} }

	st, _, b := s.do("POST", "/v1/calls?timeout=20s", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered", "node": realNode}, auth(acme)...)
	var call callapi.Call
	if st != 201 {
		t.Fatalf("originate: %d %s", st, b)
	}
	mustJSON(t, b, &call)
	bot, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	path := "/v1/calls/" + string(call.ID) + "/external-media"
	for _, tc := range []struct {
		tok, host string
		status    int
	}{
		{acme, "192.0.2.1:4000", 403},
		{beta, bot.LocalAddr().String(), 404},
		{acme, "127.0.0.1", 400},
	} {
		if st, _, b := s.do("POST", path, map[string]any{"host": tc.host}, auth(tc.tok)...); st != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.host, st, b, tc.status)
		}
	}
	st, hdr, b := s.do("POST", path, map[string]any{"host": bot.LocalAddr().String(), "format": "ulaw"}, auth(acme)...)
	if st != 201 {
		t.Fatalf("external media: %d %s", st, b)
	}
	var m callapi.ExternalMedia
	mustJSON(t, b, &m)
	if hdr.Get("Location") != path+"/"+m.ID || m.BridgeID == "" || m.LocalPort == 0 {
		t.Fatalf("external media %s, Location %q", b, hdr.Get("Location"))
	}
	waitType(t, sp, call.ID, callapi.EvCallExternalMediaStarted)

	// The bot hears a sound the call's bridge plays.
	st, _, b = s.do("POST", "/v1/bridges/"+string(m.BridgeID)+"/play", map[string]any{"media": []string{"tone:ring;tonezone=us"}}, auth(acme)...)
	if st != 201 {
		t.Fatalf("play: %d %s", st, b)
	}
	var pb callapi.Playback
	mustJSON(t, b, &pb)
	buf := make([]byte, 2048)
	_ = bot.SetReadDeadline(time.Now().Add(5 * time.Second))
	var from *net.UDPAddr
	for from == nil {
		n, addr, err := bot.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no RTP with the sound: %v", err)
		}
		for _, u := range buf[12:n] {
			if n > 12 && buf[0]>>6 == 2 && u&0x7f < 0x60 {
				from = addr
				break
			}
		}
	}
	s.do("DELETE", "/v1/playbacks/"+pb.ID, nil, auth(acme)...)

	// The bot's answer is in the bridge's recording.
	name := "bot-" + string(call.ID)[:8]
	if st, _, b := s.do("POST", "/v1/bridges/"+string(m.BridgeID)+"/record", map[string]any{"name": name, "if_exists": "overwrite"}, auth(acme)...); st != 201 {
		t.Fatalf("record: %d %s", st, b)
	}
	time.Sleep(200 * time.Millisecond)
	pkt := make([]byte, 12+160)
	for i := range 50 {
		pkt[0] = 0x80
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		for j := range 160 {
			pkt[12+j] = 0x10
			if (j/10)%2 == 1 {
				pkt[12+j] = 0x90
			}
		}
		_, _ = bot.WriteToUDP(pkt, from)
		time.Sleep(20 * time.Millisecond)
	}
	if st, _, b := s.do("POST", "/v1/recordings/live/"+name+"/stop", nil, auth(acme)...); st != 204 {
		t.Fatalf("stop recording: %d %s", st, b)
	}
	time.Sleep(200 * time.Millisecond)
	var wav []byte
	if sim := s.sims[realNode]; sim != nil {
		wav, _ = sim.StoredRecordingFile("acme." + name)
	} else {
		_, wav = s.pbxs[realNode].(*ariPBX).do("GET", "/recordings/stored/acme."+name+"/file", nil)
	}
	loud := 0
	for i := 44; i+1 < len(wav); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(wav[i:])); v > 4000 || v < -4000 {
			loud++
		}
	}
	if loud < 4000 {
		t.Errorf("the recording (%d bytes) holds %d loud samples of the 8000 the bot sent", len(wav), loud)
	}
	s.do("DELETE", "/v1/recordings/stored/"+name, nil, auth(acme)...)

	if st, _, _ := s.do("DELETE", path+"/"+m.ID, nil, auth(beta)...); st != 404 {
		t.Errorf("beta stops acme's external media: %d", st)
	}
	if st, _, b := s.do("DELETE", path+"/"+m.ID, nil, auth(acme)...); st != 204 {
		t.Fatalf("stop: %d %s", st, b)
	}
	waitType(t, sp, call.ID, callapi.EvCallExternalMediaStopped)
	s.do("DELETE", "/v1/calls/"+string(call.ID), nil, auth(acme)...)
}

// waitType waits for an event of typ about call id.
func waitType(t *testing.T, sp *spy, id callapi.CallID, typ callapi.EventType) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e := sp.next(id, time.Until(deadline)); e != nil && e.Type == typ {
			return
		}
	}
	t.Fatalf("no %s for %s", typ, id)
}
