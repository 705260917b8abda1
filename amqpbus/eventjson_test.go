package amqpbus

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

func sameJSON(t *testing.T, e *callapi.Event) {
	t.Helper()
	got, err := encodeEvent(e)
	want, werr := json.Marshal(e)
	if (err != nil) != (werr != nil) {
		t.Fatalf("encodeEvent err %v, json.Marshal err %v", err, werr)
	}
	if err != nil {
		return
	}
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("encodeEvent wrote invalid JSON %s: %v", got, err)
	}
	_ = json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("encodeEvent\n%s\njson.Marshal\n%s", got, want)
	}
}

func TestEncodeEventMatchesMarshal(t *testing.T) {
	ts := time.Date(2026, 12, 3, 9, 50, 1, 123456789, time.UTC)
	ari := json.RawMessage(`{"type":"PlaybackStarted","playback":{"id":"p1","target_uri":"channel:c<1>&x"},"caller":{"name":"\"Sales\" <100>"}}`)
	for _, e := range []*callapi.Event{
		{ID: "e1", Type: callapi.EvCallHangup, Time: ts, Node: "pbx1", Tenant: "acme", CallID: "c1", Seq: 7,
			Tags: []string{"t1", "t-2"}, Data: json.RawMessage(`{"cause":16,"cause_text":"Normal Clearing"}`), ARI: ari},
		{ID: "e2", Type: callapi.EvNodeUp, Time: ts.In(time.FixedZone("x", 3600)), Node: "pbx1"},
		{ID: "é\"\\\n<>&\u2028", Type: "call.x", Node: "n", Tenant: "t", BridgeID: "b1", Tags: []string{}},
		{ID: "e3", Type: "call.x", Data: json.RawMessage(`  {"a": [1, 2] }  `)},
		{ID: "e4", Type: "call.x", ARI: json.RawMessage(`[{"a":1},{"b":2}]`)},
		{ID: "e5", Type: "call.x", Data: json.RawMessage(`null`)},
		{ID: "e6", Type: "call.x", Data: json.RawMessage(`{"broken"`)},
		{ID: "e7", Type: "call.x", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		sameJSON(t, e)
	}
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("e1", "call.hangup", "pbx1", "acme", "c1", uint64(3), "t1", []byte(`{"cause":16}`), []byte(`{"type":"Dial"}`), int64(1764755401123456789))
	f.Add("é<", "x", "", "", "", uint64(0), "", []byte(`[1]`), []byte(``), int64(0))
	f.Fuzz(func(t *testing.T, id, typ, node, tenant, call string, seq uint64, tag string, data, ari []byte, ns int64) {
		e := &callapi.Event{ID: id, Type: callapi.EventType(typ), Node: callapi.NodeID(node), Tenant: tenant,
			CallID: callapi.CallID(call), Seq: seq, Time: time.Unix(0, ns).UTC()}
		if tag != "" {
			e.Tags = []string{tag}
		}
		// Raw fields as callgw fills them: valid JSON or nothing.
		if json.Valid(data) {
			e.Data = data
		}
		if json.Valid(ari) {
			e.ARI = ari
		}
		sameJSON(t, e)
	})
}

func BenchmarkEncodeEvent(b *testing.B) {
	ari := json.RawMessage(`{"type":"PlaybackFinished","timestamp":"2026-12-03T09:50:01.123+0000","playback":{"id":"pb-4f7c0b1e","media_uri":"sound:hello-world","target_uri":"channel:4f7c0b1e-1234-5678-9abc-def012345678","language":"en","state":"done"},"asterisk_id":"02:fc:00:00:00:01","application":"callgw"}`)
	e := &callapi.Event{ID: "7d1f0c2e-0b8a-4c47-9a35-3f3b6b1f2a11", Type: "call.playback.finished", Time: time.Now(), Node: "pbx1",
		Tenant: "default", CallID: "4f7c0b1e-1234-5678-9abc-def012345678", Seq: 5,
		Data: json.RawMessage(`{"playback_id":"pb-4f7c0b1e","media":"sound:hello-world","state":"done"}`), ARI: ari}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(e)
		}
	})
	b.Run("encodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = encodeEvent(e)
		}
	})
}

// randomEvent fills every field of callapi.Event that its json tag names,
// found by reflection (so a field added to Event is filled too), each
// left zero half the time (omitempty). Strings may need escaping; raw
// fields are compact JSON objects or arrays without '<', '>', '&', U+2028
// or U+2029, the bytes json.Marshal would write for them, so that
// encodeEvent and json.Marshal must agree byte for byte. It fails on a
// field of a type it does not know: teach it, and encodeEvent, the new
// field.
func randomEvent(t testing.TB, r *rand.Rand) *callapi.Event {
	e := &callapi.Event{}
	v := reflect.ValueOf(e).Elem()
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); name == "-" || !sf.IsExported() {
			continue
		}
		if r.IntN(2) == 0 {
			continue
		}
		f := v.Field(i)
		switch {
		case sf.Type == reflect.TypeFor[time.Time]():
			zone := time.FixedZone("z", (r.IntN(49)-24)*1800)
			f.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).In(zone)))
		case sf.Type == reflect.TypeFor[json.RawMessage]():
			f.SetBytes(randomRaw(r))
		case sf.Type.Kind() == reflect.String:
			f.SetString(randomString(r))
		case sf.Type.Kind() == reflect.Uint64:
			f.SetUint(r.Uint64() >> r.IntN(64))
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.String:
			s := reflect.MakeSlice(sf.Type, r.IntN(3), 3)
			for j := range s.Len() {
				s.Index(j).SetString(randomString(r))
			}
			f.Set(s)
		default:
			t.Fatalf("callapi.Event.%s is a %s: randomEvent and encodeEvent do not know it yet", sf.Name, sf.Type)
		}
	}
	return e
}

func randomString(r *rand.Rand) string {
	const alphabet = "abcXYZ019-_.: \"\\\n\t\x00\x7f<>&é€\u2028😀"
	runes := []rune(alphabet)
	b := make([]rune, r.IntN(12))
	for i := range b {
		b[i] = runes[r.IntN(len(runes))]
	}
	return string(b)
}

func randomRaw(r *rand.Rand) json.RawMessage {
	safe := func() string { // no character that json.Marshal would escape differently in a raw field
		return strings.NewReplacer("<", "", ">", "", "&", "", "\u2028", "").Replace(randomString(r))
	}
	var v any
	if r.IntN(3) == 0 {
		v = []any{safe(), r.IntN(100), map[string]any{safe(): true}}
	} else {
		v = map[string]any{"a": safe(), safe(): r.Float64(), "n": nil, "o": []any{1, safe()}}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestEncodeEventFollowsTags: callapi.Event's json tags are the one
// definition of an event's JSON; encodeEvent writes the same bytes as
// json.Marshal (same names, order, omitempty and escaping) for events
// filled field by field from those tags.
func TestEncodeEventFollowsTags(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		sameBytes(t, randomEvent(t, r))
	}
}

// FuzzEncodeEventFollowsTags is TestEncodeEventFollowsTags from any seed.
func FuzzEncodeEventFollowsTags(f *testing.F) {
	f.Add(uint64(0), uint64(0))
	f.Add(uint64(7), uint64(1<<40))
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		sameBytes(t, randomEvent(t, rand.New(rand.NewPCG(s1, s2))))
	})
}

func sameBytes(t *testing.T, e *callapi.Event) {
	t.Helper()
	got, err := encodeEvent(e)
	want, werr := json.Marshal(e)
	if err != nil || werr != nil {
		t.Fatalf("encodeEvent err %v, json.Marshal err %v", err, werr)
	}
	if string(got) != string(want) {
		t.Fatalf("encodeEvent\n%s\njson.Marshal\n%s", got, want)
	}
}
