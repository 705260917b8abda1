package ops

import (
	"encoding/json"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// status is the body of /healthz and /readyz when well: the API's
// (restapi) very shape, so one probe reads both ports.
type status struct {
	Status string `json:"status"`
}

// problem is the RFC 9457 body of a /readyz that is not ready, with the
// fields and the code the API's /readyz answers.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Code     callapi.Code `json:"code"`
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", http.StatusOK, status{Status: "ok"})
}

// readyHandler answers 200 {"status":"ready"} (or info's value, when
// info is not nil) while ready returns nil, else 503 problem+json with
// Retry-After: 1, code node_unavailable, detail "not ready: " and the
// reason.
func readyHandler(ready func() error, info func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := ready()
		if err == nil {
			var body any = status{Status: "ready"}
			if info != nil {
				body = info()
			}
			writeJSON(w, "application/json", http.StatusOK, body)
			return
		}
		w.Header().Set("Retry-After", "1")
		reason := err.Error() // operational state ("not connected to the broker"), not secrets
		if callapi.ErrorCode(err) != callapi.CodeInternal {
			reason = callapi.ErrorMessage(err)
		}
		writeJSON(w, "application/problem+json", http.StatusServiceUnavailable, problem{
			Type: "urn:callgw:problem:" + string(callapi.CodeNodeUnavailable), Title: "Node unavailable",
			Status: http.StatusServiceUnavailable, Detail: "not ready: " + reason, Instance: r.URL.Path,
			Code: callapi.CodeNodeUnavailable,
		})
	})
}

func writeJSON(w http.ResponseWriter, contentType string, st int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}
