package arisim

import "testing"

// FuzzRTPPayload: whatever arrives on an external media channel's RTP
// port, the parser returns a payload inside the packet or refuses it,
// without panicking.
func FuzzRTPPayload(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34, 0xff, 0xff})
	f.Add([]byte{0x91, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := rtpPayload(b)
		if ok && len(p) > len(b)-12 {
			t.Fatalf("payload of %d bytes from a packet of %d", len(p), len(b))
		}
	})
}

// TestUlawRoundTrip: every µ-law sample survives decoding and encoding
// again (the simulator turns AudioSocket's linear audio into µ-law).
func TestUlawRoundTrip(t *testing.T) {
	for u := range 256 {
		if u == 0x7f { // -0 encodes as +0
			continue
		}
		if got := linearToUlaw(ulawToLinear(byte(u))); got != byte(u) {
			t.Errorf("0x%02x -> %d -> 0x%02x", u, ulawToLinear(byte(u)), got)
		}
	}
}
