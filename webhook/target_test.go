package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

func TestPolicyRefusesPrivateTargets(t *testing.T) {
	ctx := context.Background()
	for url, want := range map[string]string{
		"https://10.0.0.1/hook":               "refused",
		"https://169.254.169.254/latest/meta": "refused",
		"https://[fd00:ec2::254]/":            "refused",
		"https://100.64.1.1/":                 "refused",
		"http://127.0.0.1:9/hook":             "refused", // loopback needs the operator's leave
		"http://203.0.113.5/hook":             "https",
		"ftp://203.0.113.5/":                  "scheme",
		"https://user:pw@203.0.113.5/":        "credentials",
		"https://203.0.113.5/hook":            "",
	} {
		err := Policy{}.CheckURL(ctx, url)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", url, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid_argument with %q", url, err, want)
		}
	}
	if err := (Policy{AllowLoopback: true}).CheckURL(ctx, "http://127.0.0.1:9/hook"); err != nil {
		t.Errorf("loopback allowed: %v", err)
	}
	if err := (Policy{AllowPrivate: true}).CheckURL(ctx, "https://10.0.0.1/hook"); err != nil {
		t.Errorf("private allowed: %v", err)
	}
}

// A refused address is refused when connecting too (a name that resolved
// to a public address at creation may resolve to a private one later).
func TestSenderRefusesAtConnect(t *testing.T) {
	rc := newReceiver(t, nil)
	s := NewSender(Policy{}, time.Second, 1024)
	res := s.Post(context.Background(), rc.srv.URL, "sub", "ev", []byte("{}"), []string{"k"})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "loopback address") {
		t.Fatalf("POST to loopback under the default policy: %+v", res)
	}
	if len(rc.events()) != 0 {
		t.Fatal("the receiver was reached")
	}
	ok := NewSender(Policy{AllowLoopback: true}, time.Second, 1024).Post(context.Background(), rc.srv.URL, "sub", "ev", []byte("{}"), []string{"s3cret"})
	if ok.Err != nil || ok.Status != http.StatusOK {
		t.Fatalf("allowed POST: %+v", ok)
	}
}

func TestSignatureVerifies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"e1"}`)
	h := callapi.SignWebhook(now, body, "new", "old")
	for _, sec := range []string{"new", "old"} {
		if err := callapi.VerifyWebhook(h, body, now.Add(time.Minute), 0, sec); err != nil {
			t.Errorf("secret %s: %v", sec, err)
		}
	}
	if err := callapi.VerifyWebhook(h, []byte(`{"id":"e2"}`), now, 0, "new"); err != callapi.ErrWebhookSignature {
		t.Errorf("tampered body: %v", err)
	}
	if err := callapi.VerifyWebhook(h, body, now.Add(6*time.Minute), 0, "new"); err != callapi.ErrWebhookTimestamp {
		t.Errorf("replayed: %v", err)
	}
	if err := callapi.VerifyWebhook("garbage", body, now, 0, "new"); err != callapi.ErrWebhookHeader {
		t.Errorf("malformed: %v", err)
	}
}
