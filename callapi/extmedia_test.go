package callapi

import "testing"

// TestExternalMediaTargets: the allow-list is per tenant (and * for all),
// denies by default, and matches host:port exactly, an address on any
// port, a CIDR prefix, and websocket connection ids only for websocket.
func TestExternalMediaTargets(t *testing.T) {
	tg, err := ParseExternalMediaTargets(" acme=10.0.0.5:4000, 10.1.0.0/16 ,bot.example.com:9092,ws:acme-bot; globex=192.0.2.7 ; *=198.51.100.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, transport, host string
		want                    bool
	}{
		{"acme", TransportUDP, "10.0.0.5:4000", true},
		{"acme", TransportUDP, "10.0.0.5:4001", false},
		{"acme", TransportTCP, "10.1.200.3:1", true},
		{"acme", TransportUDP, "10.2.0.1:4000", false},
		{"acme", TransportUDP, "bot.example.com:9092", true},
		{"acme", TransportUDP, "BOT.example.com:9092", true},
		{"acme", TransportUDP, "bot.example.com:9093", false},
		{"acme", TransportWebSocket, "acme-bot", true},
		{"acme", TransportUDP, "acme-bot", false},
		{"globex", TransportWebSocket, "acme-bot", false},
		{"globex", TransportUDP, "192.0.2.7:1234", true},
		{"globex", TransportUDP, "10.0.0.5:4000", false},
		{"other", TransportUDP, "198.51.100.1:5000", true},
		{"other", TransportUDP, "127.0.0.1:5000", false},
	} {
		if got := tg.Allows(tc.tenant, tc.transport, tc.host); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.tenant, tc.transport, tc.host, got, tc.want)
		}
	}
	var none ExternalMediaTargets
	if none.Allows("acme", TransportUDP, "10.0.0.5:4000") {
		t.Error("an empty list allows")
	}
	for _, bad := range []string{"acme", "acme=10.0.0.5", "a b=10.0.0.5:1", "acme=10.0.0.5:99999", "acme=ws:a b", "acme=http://x"} {
		if bad == "acme=10.0.0.5" {
			continue // an address alone is allowed (any port)
		}
		if _, err := ParseExternalMediaTargets(bad); ErrorCode(err) != CodeInvalidArgument {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// FuzzParseExternalMediaTargets: any operator string is parsed or refused
// without panicking, and what parses matches without panicking.
func FuzzParseExternalMediaTargets(f *testing.F) {
	f.Add("acme=10.0.0.5:4000,10.1.0.0/16;*=ws:bot", "acme", "10.1.2.3:5")
	f.Fuzz(func(t *testing.T, s, tenant, host string) {
		tg, err := ParseExternalMediaTargets(s)
		if err != nil {
			return
		}
		_ = tg.Allows(tenant, TransportUDP, host)
		_ = tg.Allows(tenant, TransportWebSocket, host)
	})
}
