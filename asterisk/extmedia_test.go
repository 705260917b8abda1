package asterisk

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// TestExternalMedia: a call's audio to a voice bot over RTP on the
// simulator. A destination not on the tenant's allow-list is forbidden
// (and another tenant's allowed host too); an allowed one gets a
// UnicastRTP channel bridged with the call in a new bridge of the tenant:
// the test's UDP listener receives RTP while a sound plays on that bridge,
// the audio it sends back is in the bridge's recording, and the media
// channel is never a call. Stopping it announces
// call.externalmedia.stopped (reason api); the call's end hangs up another
// (call.hangup stays the call's last event).
func TestExternalMedia(t *testing.T) {
	bot, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	host := bot.LocalAddr().String()
	srv, ts := newSim(t)
	targets, err := callapi.ParseExternalMediaTargets("acme=127.0.0.0/8;beta=10.9.9.9:4000")
	if err != nil {
		t.Fatal(err)
	}
	p, sink, _ := startPBX(t, ts, func(c *Config) { c.ExternalMedia = targets })
	h := &harness{srv: srv, ts: ts, url: ts.URL + "/ari", pbx: p, sink: sink}
	ctx := ctxT(t, 20*time.Second)
	id := h.answered(t, "acme")

	_, err = p.StartExternalMedia(ctx, "acme", id, callapi.ExternalMediaArgs{MediaID: "em-x", Host: "10.9.9.9:4000"})
	wantCode(t, "a host not on acme's list", err, callapi.CodeForbidden)
	_, err = p.StartExternalMedia(ctx, "acme", id, callapi.ExternalMediaArgs{MediaID: "em-x", Host: "bot", Transport: callapi.TransportWebSocket})
	wantCode(t, "a websocket connection not on the list", err, callapi.CodeForbidden)
	_, err = p.StartExternalMedia(ctx, "beta", id, callapi.ExternalMediaArgs{MediaID: "em-x", Host: "10.9.9.9:4000"})
	wantCode(t, "another tenant's call", err, callapi.CodeNotFound)

	m, err := p.StartExternalMedia(ctx, "acme", id, callapi.ExternalMediaArgs{MediaID: "em-1", Host: host, Format: "ulaw"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "em-1" || m.CallID != id || m.BridgeID == "" || m.Encapsulation != "rtp" || m.Transport != "udp" || m.LocalAddress == "" || m.LocalPort == 0 {
		t.Fatalf("external media %+v", m)
	}
	e := sink.waitFor(t, id, callapi.EvCallExternalMediaStarted)
	var d callapi.ExternalMediaData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.ID != "em-1" || d.BridgeID != m.BridgeID || d.Host != host {
		t.Errorf("started %s", e.Data)
	}
	if b, err := p.Bridge(ctx, "acme", m.BridgeID); err != nil || !slices.Contains(b.Calls, id) {
		t.Fatalf("the call's bridge %+v, %v", b, err)
	}
	if _, err := p.Call(ctx, "acme", "em-1"); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("the media channel is a call: %v", err)
	}

	// The bot hears a sound played on the bridge.
	if _, err := p.PlayOnBridge(ctx, "acme", m.BridgeID, callapi.PlayArgs{Media: []string{"tone:ring"}, PlaybackID: "em-pb"}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = bot.SetReadDeadline(time.Now().Add(5 * time.Second))
	var from *net.UDPAddr
	for from == nil {
		n, addr, err := bot.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no RTP with the sound: %v", err)
		}
		if n == 12+160 && buf[0] == 0x80 && buf[12] != 0xff {
			from = addr
		}
	}
	if from.Port != m.LocalPort {
		t.Errorf("RTP from port %d, local_port %d", from.Port, m.LocalPort)
	}
	if err := p.StopPlayback(ctx, "acme", "em-pb"); err != nil {
		t.Fatal(err)
	}

	// The bot answers; the bridge's recording has it.
	if _, err := p.RecordBridge(ctx, "acme", m.BridgeID, callapi.RecordArgs{Name: "bot-answer"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // RecordingStarted
	pkt := make([]byte, 12+160)
	for i := range 25 {
		pkt[0] = 0x80
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		for j := range 160 {
			pkt[12+j] = byte(0x10 + j%8)
		}
		if _, err := bot.WriteToUDP(pkt, &net.UDPAddr{IP: net.ParseIP(m.LocalAddress), Port: m.LocalPort}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.StopRecording(ctx, "acme", "bot-answer"); err != nil {
		t.Fatal(err)
	}
	wav := h.simBody(t, "/recordings/stored/acme.bot-answer/file")
	if n := countSamples(wav, pkt[12:]); n < 20 {
		t.Errorf("the recording holds %d of the 25 packets the bot sent", n)
	}

	if err := p.StopExternalMedia(ctx, "beta", id, "em-1"); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("another tenant's stop: %v", err)
	}
	if err := p.StopExternalMedia(ctx, "acme", id, "em-1"); err != nil {
		t.Fatal(err)
	}
	e = sink.waitFor(t, id, callapi.EvCallExternalMediaStopped)
	if err := json.Unmarshal(e.Data, &d); err != nil || d.Reason != "api" || d.ID != "em-1" {
		t.Errorf("stopped %s", e.Data)
	}
	if err := p.StopExternalMedia(ctx, "acme", id, "em-1"); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("stopped twice: %v", err)
	}
	if _, err := p.Bridge(ctx, "acme", m.BridgeID); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("the bridge made for the media outlived it: %v", err)
	}

	// The call's end ends its external media.
	if _, err := p.StartExternalMedia(ctx, "acme", id, callapi.ExternalMediaArgs{MediaID: "em-2", Host: host}); err != nil {
		t.Fatal(err)
	}
	if err := p.Hangup(ctx, "acme", id, ""); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, id, callapi.EvCallHangup)
	deadline := time.Now().Add(5 * time.Second)
	for h.simGet(t, "/channels/em-2", nil) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the external media of an ended call is still up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := types(sink.of(id), ""); got[len(got)-1] != callapi.EvCallHangup {
		t.Errorf("events after call.hangup: %v", got)
	}
	for _, e := range sink.of(callapi.CallID("em-1")) {
		t.Errorf("an event about the media channel as a call: %s", e.Type)
	}
}

// countSamples counts the 20 ms blocks of a WAV (16-bit) whose samples
// decode ulaw exactly.
func countSamples(wav, ulaw []byte) int {
	if len(wav) < 44 {
		return 0
	}
	want := make([]int16, len(ulaw))
	for i, u := range ulaw {
		want[i] = ulawLinear(u)
	}
	data := wav[44:]
	n := 0
	for off := 0; off+2*len(want) <= len(data); off += 2 * len(want) {
		ok := true
		for i, w := range want {
			if int16(binary.LittleEndian.Uint16(data[off+2*i:])) != w {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// ulawLinear decodes a G.711 µ-law sample (ITU-T G.711).
func ulawLinear(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// simBody returns the body of an ARI GET on the simulator.
func (h *harness) simBody(t *testing.T, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// TestExternalMediaOrphanAfterRestart: an external media channel in the
// app that the worker does not know (started before the worker restarted)
// is hung up when the worker reads the channels, and never becomes a call.
func TestExternalMediaOrphanAfterRestart(t *testing.T) {
	srv, ts := newSim(t)
	_, _, stop := startPBX(t, ts, nil) // the worker before its restart
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/ari/channels/externalMedia?app=callgw&external_host=127.0.0.1:9&format=ulaw&channelId=orphan-1", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("externalMedia: %d", resp.StatusCode)
	}
	time.Sleep(50 * time.Millisecond) // in the app
	if st := (&harness{url: ts.URL + "/ari"}).simGet(t, "/channels/orphan-1", nil); st != http.StatusOK {
		t.Fatalf("the media channel before the restart: %d", st)
	}
	stop()
	_, sink, _ := startPBX(t, ts, nil)
	h := &harness{srv: srv, ts: ts, url: ts.URL + "/ari", sink: sink}
	deadline := time.Now().Add(5 * time.Second)
	for h.simGet(t, "/channels/orphan-1", nil) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the orphaned external media channel is still up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if evs := sink.of("orphan-1"); len(evs) > 0 {
		t.Errorf("events for the media channel: %v", types(evs, ""))
	}
}
