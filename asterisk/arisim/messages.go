package arisim

import (
	"net/http"
	"strings"
	"time"
)

// TextMessage is ARI's TextMessage (endpoints.json): one the simulator was
// asked to send, or one a test makes an endpoint send (ReceiveMessage).
type TextMessage struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}

// sendMessage serves PUT /endpoints/{tech}/{resource}/sendMessage as
// resource_endpoints.c does: an unknown endpoint is 404 "Endpoint not
// found" (before the body is looked at), variables must be strings (400),
// and the message is taken with 202 Accepted and no body; the to URI is
// the lower-cased technology, ":" and the resource.
func (s *Server) sendMessage(w http.ResponseWriter, q *request) {
	tech, res := q.path("tech"), q.path("resource")
	if tech != "PJSIP" || s.endpoints[res] == nil {
		reply(w, nil, errf(404, "Endpoint not found"))
		return
	}
	vars, err := q.variables()
	if err != nil {
		reply(w, nil, err)
		return
	}
	s.messages = append(s.messages, TextMessage{
		From: q.str("from"), To: strings.ToLower(tech) + ":" + res, Body: q.str("body"), Variables: vars,
	})
	w.WriteHeader(http.StatusAccepted)
}

// SentMessages returns the messages sent through ARI so far, oldest first.
func (s *Server) SentMessages() []TextMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TextMessage(nil), s.messages...)
}

// ReceiveMessage makes PJSIP/<name> send m to Asterisk: TextMessageReceived
// goes to the apps subscribed to the endpoint (endpoint:PJSIP/<name>) or to
// every PJSIP endpoint (endpoint:PJSIP), and to subscribeAll connections.
func (s *Server) ReceiveMessage(name string, m TextMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := map[string]any{"timestamp": stamp(time.Now()), "message": m}
	if ep := s.endpoints[name]; ep != nil {
		body["endpoint"] = s.endpointJSON(name, ep)
	}
	s.emit(&event{typ: "TextMessageReceived", body: body, endpoints: []string{"PJSIP/" + name}})
}
