package arisim

import (
	"encoding/json"
	"net/http"
)

// An app's event filter (PUT /applications/{app}/eventFilter), as res/stasis/app.c keeps it: two
// lists, events_allowed and events_disallowed, each a JSON array of objects with a "type". An event
// reaches the app's WebSocket when its type is in no disallowed entry and, unless the allowed list
// is empty, in an allowed one (stasis_app_event_allowed, type names compared case-sensitively).
// ari_websockets.c applies it to every message of the app's Stasis handler, ApplicationReplaced
// included (app_update sends that through app_send); only the session's own ApplicationRegistered
// and ApplicationUnregistered bypass it. The filter lives on the app, not on its WebSocket: a
// connection that replaces another inherits it, and it is dropped only with the app itself
// (app_shutdown, once no WebSocket and no subscription holds the app).

// eventFilter is one of an app's two lists: the entries as given (echoed in the Application model)
// and their types.
type eventFilter struct {
	entries []any // json.RawMessage each
	types   map[string]bool
}

func (f *eventFilter) json() []any {
	if f == nil {
		return []any{}
	}
	return f.entries
}

// matches is app_event_filter_matched: whether typ is in f; an empty list answers empty.
func (f *eventFilter) matches(typ string, empty bool) bool {
	if f == nil || len(f.entries) == 0 {
		return empty
	}
	return f.types[typ]
}

// allows is stasis_app_event_allowed for a's filter.
func (a *app) allows(typ string) bool {
	return !a.disallowed.matches(typ, false) && a.allowed.matches(typ, true)
}

var errFilterFormat = errf(400, "Invalid format definition")

// filterApplication sets the app's event filter from the body, as ast_ari_applications_filter
// does: the disallowed list first, then the allowed one (stasis_app_event_filter_set), so a body
// whose allowed list is malformed is answered 400 after the disallowed list was set.
func (s *Server) filterApplication(w http.ResponseWriter, q *request, a *app) {
	for _, member := range []struct {
		name string
		to   **eventFilter
	}{{"disallowed", &a.disallowed}, {"allowed", &a.allowed}} {
		raw, update := filterMember(q.params, member.name)
		if !update {
			continue
		}
		f, err := parseEventFilter(raw)
		if err != nil {
			reply(w, nil, err)
			return
		}
		*member.to = f
	}
	reply(w, a.json(), nil)
}

// filterMember is what app_event_filter_set takes for one list from the body: no body or an empty
// object resets both lists (raw nil); an object sets only the lists it names; a body that is itself
// an array is taken for both lists.
func filterMember(p params, name string) (raw json.RawMessage, update bool) {
	switch {
	case p.array != nil:
		return p.array, true
	case len(p.body) == 0:
		return nil, true
	}
	raw, update = p.body[name]
	return raw, update
}

// parseEventFilter checks one list: a JSON array (a null, an object or a scalar is refused) whose
// entries are objects with a non-empty string "type". nil is the empty list.
func parseEventFilter(raw json.RawMessage) (*eventFilter, error) {
	if raw == nil {
		return nil, nil
	}
	var entries []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &entries) != nil {
		return nil, errFilterFormat
	}
	f := &eventFilter{entries: make([]any, 0, len(entries)), types: make(map[string]bool, len(entries))}
	for _, e := range entries {
		var obj map[string]json.RawMessage
		var typ string
		if len(e) == 0 || e[0] != '{' || json.Unmarshal(e, &obj) != nil ||
			len(obj["type"]) == 0 || obj["type"][0] != '"' || json.Unmarshal(obj["type"], &typ) != nil || typ == "" {
			return nil, errFilterFormat
		}
		f.entries = append(f.entries, e)
		f.types[typ] = true
	}
	return f, nil
}

// unregister is the app losing its WebSocket. When nothing subscribes it to anything any more
// (app_is_finished) Asterisk destroys the app, and its event filter with it.
func (a *app) unregister() {
	a.conn = nil
	if len(a.channels) == 0 && len(a.bridges) == 0 && len(a.bridgeRefs) == 0 && len(a.endpoints) == 0 && len(a.devices) == 0 {
		a.allowed, a.disallowed = nil, nil
	}
}
