package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// TestWebhookPythonExample runs the Python verification code of
// webhooks.md with python3 against signatures made by callgw's own signer
// (callapi.SignWebhook): it accepts them, with either secret during a
// rotation, and refuses a wrong secret, a changed body, a stale timestamp
// and a malformed header.
func TestWebhookPythonExample(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	page := readPage(t, "webhooks.md")
	_, rest, ok := strings.Cut(page, "```python\n")
	if !ok {
		t.Fatal("webhooks.md has no python block")
	}
	code, _, _ := strings.Cut(rest, "```")
	now := time.Now()
	body := `{"id":"e1","type":"call.hangup","seq":7}`
	header := callapi.SignWebhook(now, []byte(body), "whsec_new", "whsec_old")
	stale := callapi.SignWebhook(now.Add(-10*time.Minute), []byte(body), "whsec_new")
	cases := []struct {
		header, body, secret string
		want                 bool
	}{
		{header, body, "whsec_new", true},
		{header, body, "whsec_old", true}, // the overlap of a rotation
		{header, body, "whsec_guess", false},
		{header, body + " ", "whsec_new", false},
		{stale, body, "whsec_new", false},
		{"garbage", body, "whsec_new", false},
	}
	var harness strings.Builder
	harness.WriteString(code + "\nimport sys\n")
	for _, c := range cases {
		harness.WriteString("print(verify_callgw_signature(" + strconv.Quote(c.header) + ", " + strconv.Quote(c.body) + ".encode(), [" + strconv.Quote(c.secret) + "]))\n")
	}
	f := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(f, []byte(harness.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, f).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if len(got) != len(cases) {
		t.Fatalf("python printed %q", out)
	}
	for i, c := range cases {
		if got[i] != map[bool]string{true: "True", false: "False"}[c.want] {
			t.Errorf("case %d (%s): python says %s, want %v", i, c.secret, got[i], c.want)
		}
	}
}
