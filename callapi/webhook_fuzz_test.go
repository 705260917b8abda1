package callapi

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyWebhook: any Callgw-Signature header and body (a receiver's
// outside input) gives nil only when it signs the body with the secret,
// and one of the three errors otherwise; never a panic.
func FuzzVerifyWebhook(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(SignWebhook(now, []byte(`{"id":"e1"}`), "s3cret"), []byte(`{"id":"e1"}`))
	f.Add(SignWebhook(now, []byte(`{}`), "a", "b"), []byte(`{}`))
	f.Add("t=1800000000,v1=00", []byte(``))
	f.Add("t=,v1=", []byte(`x`))
	f.Add(",,,", []byte(`x`))
	f.Add("t=99999999999999999999,v1=ab", []byte(`x`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifyWebhook(header, body, now, 0, "s3cret")
		switch err {
		case nil:
			// Accepted: the header carries the MAC of its own timestamp.
			var ts string
			for _, part := range strings.Split(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "t" {
					ts = v
				}
			}
			if !strings.Contains(header, "v1="+webhookMAC("s3cret", ts, body)) {
				t.Fatalf("accepted %q for %q", header, body)
			}
		case ErrWebhookSignature, ErrWebhookTimestamp, ErrWebhookHeader:
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
