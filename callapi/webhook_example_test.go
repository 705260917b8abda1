package callapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
)

// A webhook receiver checks every POST with VerifyWebhook, over the raw
// body, before it trusts it; during a secret rotation it may pass both
// the new and the previous secret. A bad signature, or one older than the
// replay window, is answered 401: callgw retries it, then dead-letters it.
func ExampleVerifyWebhook() {
	secret := "whsec_example" // the subscription's secret, from its creation
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		if err := callapi.VerifyWebhook(r.Header.Get(callapi.WebhookSignatureHeader), body, time.Now(), 0, secret); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		// Deliveries are at least once: drop a Callgw-Webhook-Id seen before.
		w.WriteHeader(http.StatusNoContent)
	})

	// What callgw sends, and a forgery.
	body := `{"id":"e1","type":"call.hangup"}`
	for _, s := range []string{secret, "guessed"} {
		r := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
		r.Header.Set(callapi.WebhookSignatureHeader, callapi.SignWebhook(time.Now(), []byte(body), s))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// 204
	// 401
}
