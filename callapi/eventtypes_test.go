package callapi

import (
	"sort"
	"testing"
)

// TestEventTypesComplete: EventTypes lists exactly the types that have a
// payload type (eventData, which also generates docs/events.schema.json).
func TestEventTypesComplete(t *testing.T) {
	var got, want []string
	for _, e := range EventTypes() {
		got = append(got, string(e))
	}
	for e := range eventData {
		want = append(want, string(e))
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("EventTypes %v, eventData %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("EventTypes %v, eventData %v", got, want)
		}
	}
}

func TestKnownEventTypePattern(t *testing.T) {
	for p, want := range map[string]bool{
		"call.hangup": true, "call.": true, "call.*": true, "call.playback.": true, "node.": true, "node.down": true,
		"bridge.*": true, "command.completed": true,
		"call.hangpu": false, "call": false, "calls.": false, "": false, "*": false, "call.playback": false, "nodes.up": false,
	} {
		if got := KnownEventTypePattern(p); got != want {
			t.Errorf("%q: %v, want %v", p, got, want)
		}
	}
}
