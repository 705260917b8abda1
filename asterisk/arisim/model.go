package arisim

import (
	"encoding/json"
	"time"
)

// timeFormat is Asterisk's ARI timestamp layout: "2026-11-25T14:16:14.626+0000".
const timeFormat = "2006-01-02T15:04:05.000-0700"

// stamp formats t the way Asterisk does (UTC, millisecond precision, numeric zone).
func stamp(t time.Time) string { return t.UTC().Format(timeFormat) }

// Wire models, field for field as Asterisk 22 serializes them (see shared/ari-spec).

type callerJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       callerJSON        `json:"caller"`
	Connected    callerJSON        `json:"connected"`
	Accountcode  string            `json:"accountcode"`
	Dialplan     dialplanJSON      `json:"dialplan"`
	Creationtime string            `json:"creationtime"`
	Language     string            `json:"language"`
	Channelvars  map[string]string `json:"channelvars,omitempty"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	Creationtime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
	VideoSource  string   `json:"video_source_id,omitempty"`
}

type playbackJSON struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

type liveRecordingJSON struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	State           string `json:"state"`
	TargetURI       string `json:"target_uri"`
	Duration        *int   `json:"duration,omitempty"`
	TalkingDuration *int   `json:"talking_duration,omitempty"`
	SilenceDuration *int   `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type endpointJSON struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type deviceStateJSON struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type errorJSON struct {
	Message string `json:"message"`
}

// event is one ARI event before "application" is added per subscriber.
type event struct {
	typ  string
	body map[string]any
	// subjects decide who receives it: apps subscribed to any of these channels/bridges/endpoints.
	channels  []string
	bridges   []string
	endpoints []string // "PJSIP/alice": apps subscribed to it or to its technology ("PJSIP")
	devices   []string // "Stasis:q1": apps subscribed to the device or to all (deviceState:)
	// allOnly: only subscribeAll connections see it (the app was not yet subscribed).
	allOnly bool
	// toApp, when set, delivers only to this app (StasisStart/StasisEnd/Application*).
	toApp string
	json  []byte // cached encoding of body
}

// encode marshals the event for one application. The body is marshalled once per event and the
// per-subscriber keys are spliced in front of it.
func (e *event) encode(app, asteriskID string) ([]byte, error) {
	if e.json == nil {
		b, err := json.Marshal(e.body)
		if err != nil {
			return nil, err
		}
		e.json = b
	}
	out := make([]byte, 0, len(e.json)+len(e.typ)+len(asteriskID)+len(app)+48)
	out = append(out, `{"type":`...)
	out = appendJSONString(out, e.typ)
	out = append(out, `,"asterisk_id":`...)
	out = appendJSONString(out, asteriskID)
	out = append(out, `,"application":`...)
	out = appendJSONString(out, app)
	if len(e.json) > 2 {
		out = append(out, ',')
		out = append(out, e.json[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
