package callapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

var updateSchema = flag.Bool("update", false, "rewrite docs/events.schema.json from the Go types")

const schemaPath = "../docs/events.schema.json"

// eventData names the payload type of every event type.
var eventData = map[EventType]any{
	EvCallCreated:           CreatedData{},
	EvCallRinging:           StateData{},
	EvCallAnswered:          StateData{},
	EvCallHangup:            HangupData{},
	EvCallDTMF:              DTMFData{},
	EvCallHold:              HoldData{},
	EvCallUnhold:            HoldData{},
	EvCallPlaybackStarted:   PlaybackData{},
	EvCallPlaybackFinished:  PlaybackData{},
	EvCallRecordingStarted:  RecordingData{},
	EvCallRecordingFinished: RecordingData{},
	EvCallRecordingFailed:   RecordingData{},
	EvCallBridged:           BridgedData{},
	EvCallUnbridged:         BridgedData{},
	EvBridgeCreated:         BridgeData{},
	EvBridgeDestroyed:       BridgeData{},
	EvNodeUp:                Heartbeat{},
	EvNodeDraining:          Heartbeat{},
	EvNodeDown:              Heartbeat{},
	EvCommandCompleted:      CommandCompletedData{},
	EvMessageReceived:       MessageData{},
	EvEndpointState:         EndpointStateData{},
	EvEndpointContact:       ContactData{},
	EvEndpointPeer:          PeerData{},
	EvDeviceStateChanged:    DeviceStateData{},
	EvMailboxChanged:        MailboxData{},
	EvMailboxDeleted:        MailboxData{},
	EvCallPlaybackPaused:    PlaybackData{},
	EvCallPlaybackUnpaused:  PlaybackData{},
	EvCallPlaybackRestarted: PlaybackData{},
	EvCallPlaybackForwarded: PlaybackData{},
	EvCallPlaybackReversed:  PlaybackData{},
	EvCallRecordingPaused:   RecordingData{},
	EvCallRecordingUnpaused: RecordingData{},
	EvCallRecordingMuted:    RecordingData{},
	EvCallRecordingUnmuted:  RecordingData{},
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

// schemaOf describes a Go type as JSON Schema, following encoding/json's
// rules (embedded structs inlined, omitempty fields optional).
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), defs)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Struct:
		name := t.Name()
		if _, ok := defs[name]; !ok {
			defs[name] = nil // placeholder against recursion
			props, required := map[string]any{}, []string{}
			structFields(t, defs, props, &required)
			sort.Strings(required)
			d := map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				d["required"] = required
			}
			defs[name] = d
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	return map[string]any{}
}

func structFields(t reflect.Type, defs map[string]any, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			structFields(f.Type, defs, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, defs)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

// eventSchema builds the schema of a CallAPI event: the envelope, and the
// payload of each type selected by "type".
func eventSchema() map[string]any {
	defs := map[string]any{}
	schemaOf(reflect.TypeOf(Event{}), defs)
	var types []string
	for et := range eventData {
		types = append(types, string(et))
	}
	sort.Strings(types)
	var cases []any
	for _, et := range types {
		data := schemaOf(reflect.TypeOf(eventData[EventType(et)]), defs)
		cases = append(cases, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": et}}},
			"then": map[string]any{"properties": map[string]any{"data": data}},
		})
	}
	env := defs["Event"].(map[string]any)
	env["properties"].(map[string]any)["type"] = map[string]any{"enum": types}
	return map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://github.com/callgw/callgw/docs/events.schema.json",
		"title":       "callgw CallAPI event",
		"description": "An event as published on callapi.events (and served by GET /v1/events). Generated from the Go types in callapi/ by `go test ./callapi -run TestEventSchema -update`; do not edit by hand.",
		"$ref":        "#/$defs/Event",
		"allOf":       cases,
		"$defs":       defs,
	}
}

// TestEventSchema keeps docs/events.schema.json equal to what the Go types
// say, and every event type described.
func TestEventSchema(t *testing.T) {
	for _, et := range []EventType{EvCallCreated, EvCallRinging, EvCallAnswered, EvCallHangup, EvCallDTMF, EvCallHold, EvCallUnhold,
		EvCallPlaybackStarted, EvCallPlaybackFinished, EvCallRecordingStarted, EvCallRecordingFinished, EvCallRecordingFailed,
		EvCallBridged, EvCallUnbridged, EvBridgeCreated, EvBridgeDestroyed, EvNodeUp, EvNodeDraining, EvNodeDown, EvCommandCompleted} {
		if _, ok := eventData[et]; !ok {
			t.Errorf("event type %s has no payload type", et)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(eventSchema()); err != nil {
		t.Fatal(err)
	}
	if *updateSchema {
		if err := os.WriteFile(schemaPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go test ./callapi -run TestEventSchema -update)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("%s is out of date with the Go types: run go test ./callapi -run TestEventSchema -update", schemaPath)
	}
}

// TestEventsMatchSchema checks real encoded events against the schema's
// required fields and property names (a small structural validator: every
// required property present, no property the schema does not know).
func TestEventsMatchSchema(t *testing.T) {
	schema := eventSchema()
	defs := schema["$defs"].(map[string]any)
	check := func(t *testing.T, path string, v any, def map[string]any) {
		t.Helper()
		var walk func(path string, v any, s map[string]any)
		walk = func(path string, v any, s map[string]any) {
			if ref, ok := s["$ref"].(string); ok {
				s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			}
			obj, ok := v.(map[string]any)
			props, isObj := s["properties"].(map[string]any)
			if !isObj || !ok {
				return
			}
			for _, r := range asStrings(s["required"]) {
				if _, ok := obj[r]; !ok {
					t.Errorf("%s: required %q missing", path, r)
				}
			}
			for k, sub := range obj {
				ps, known := props[k]
				if !known {
					t.Errorf("%s: property %q not in the schema", path, k)
					continue
				}
				walk(path+"."+k, sub, ps.(map[string]any))
			}
		}
		walk(path, v, def)
	}
	now := time.Now()
	hb := Heartbeat{Node: "pbx1", State: NodeDown, App: "callgw", Time: now, StartedAt: now}
	for _, e := range []*Event{
		NodeEvent(&hb, "k"),
		mustEvent(t, EvCallHangup, HangupData{Hangup: Hangup{Cause: 17, CauseText: "User busy", DialStatus: "BUSY"}}),
		mustEvent(t, EvCallCreated, CreatedData{Call: Call{ID: "c", Node: "pbx1", Tenant: "t", State: StateDown, Direction: Outbound, CreatedAt: now}}),
		mustEvent(t, EvCommandCompleted, CommandCompletedData{CommandID: "x", Action: ActCallHangup, Reply: OKReply("x", "pbx1", nil)}),
	} {
		b, _ := json.Marshal(e)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		check(t, string(e.Type), v, defs["Event"].(map[string]any))
		data := schemaOf(reflect.TypeOf(eventData[e.Type]), map[string]any{})
		check(t, string(e.Type)+".data", v["data"], data)
	}
}

func mustEvent(t *testing.T, typ EventType, data any) *Event {
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return &Event{ID: "e", Type: typ, Time: time.Now(), Node: "pbx1", Tenant: "t", CallID: "c", Seq: 1, Data: b}
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, s := range x {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}
