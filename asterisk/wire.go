package asterisk

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ARI wire models: only the fields callgw reads, as Asterisk 22 serializes
// them (shared/ari-spec/events.json, channels.json). Unknown fields are
// ignored; the whole raw event is kept and published under Event.ARI.

type ariCaller struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type ariDialplan struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type ariChannel struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       ariCaller         `json:"caller"`
	Dialplan     ariDialplan       `json:"dialplan"`
	Creationtime string            `json:"creationtime"`
	Channelvars  map[string]string `json:"channelvars,omitempty"`
}

type ariBridge struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Type         string   `json:"bridge_type"`
	Channels     []string `json:"channels,omitempty"`
	Creationtime string   `json:"creationtime,omitempty"`
}

type ariPlayback struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	State     string `json:"state"`
}

type ariRecording struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// ariEvent is one decoded message of the /ari/events WebSocket.
type ariEvent struct {
	Type        string        `json:"type"`
	Timestamp   string        `json:"timestamp"`
	Application string        `json:"application"`
	Channel     *ariChannel   `json:"channel,omitempty"`
	Peer        *ariChannel   `json:"peer,omitempty"`   // Dial: the dialed channel
	Caller      *ariChannel   `json:"caller,omitempty"` // Dial: the dialing channel
	DialStatus  string        `json:"dialstatus"`
	Cause       int           `json:"cause"`
	CauseText   string        `json:"cause_txt"`
	Soft        bool          `json:"soft"`
	Digit       string        `json:"digit"`
	DurationMS  int           `json:"duration_ms"`
	Args        []string      `json:"args,omitempty"`
	Bridge      *ariBridge    `json:"bridge,omitempty"`
	Playback    *ariPlayback  `json:"playback,omitempty"`
	Recording   *ariRecording `json:"recording,omitempty"`
	Variable    string        `json:"variable"`
	Value       string        `json:"value"`
	Message     *ariMessage   `json:"message,omitempty"`  // TextMessageReceived
	Endpoint    *ariEndpoint  `json:"endpoint,omitempty"` // TextMessageReceived: where it came from
}

// ariMessage is ARI's TextMessage (endpoints.json).
type ariMessage struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}

var errNoType = errors.New("ari event without a type")

// decodeEvent decodes one WebSocket message. It never panics; a message that
// is not a JSON object with a "type" is an error.
func decodeEvent(raw []byte) (*ariEvent, error) {
	var ev ariEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if ev.Type == "" {
		return nil, errNoType
	}
	return &ev, nil
}

// peekType returns the event type when raw begins with it ({"type":"X",
// as Asterisk writes every event), without decoding the rest; ok is false
// for anything else (the caller then decodes the whole message).
func peekType(raw []byte) (string, bool) {
	i := 0
	skip := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r') {
			i++
		}
	}
	lit := func(s string) bool {
		skip()
		if len(raw)-i < len(s) || string(raw[i:i+len(s)]) != s {
			return false
		}
		i += len(s)
		return true
	}
	if !lit("{") || !lit(`"type"`) || !lit(":") || !lit(`"`) {
		return "", false
	}
	start := i
	for ; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			return string(raw[start:i]), i > start
		case c == '\\' || c < 0x20 || c >= 0x80: // escapes, controls, non-ASCII: decode it all
			return "", false
		}
	}
	return "", false
}

// ariTimeLayout is Asterisk's timestamp layout: 2026-11-25T14:16:14.626+0000.
const ariTimeLayout = "2006-01-02T15:04:05.000-0700"

// parseTime parses an ARI timestamp, or returns zero.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(ariTimeLayout, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return time.Time{}
}

// subject returns the id of the channel an event is about ("" when none) and
// the bridge id for bridge-only events. Playbacks and recordings name their
// target as "channel:<id>" or "bridge:<id>".
func (e *ariEvent) subject() (channel, bridge string) {
	switch e.Type {
	case "Dial":
		if e.Peer != nil {
			return e.Peer.ID, ""
		}
	case "PlaybackStarted", "PlaybackContinuing", "PlaybackFinished":
		if e.Playback != nil {
			return splitTarget(e.Playback.TargetURI)
		}
	case "RecordingStarted", "RecordingFinished", "RecordingFailed":
		if e.Recording != nil {
			return splitTarget(e.Recording.TargetURI)
		}
	case "BridgeCreated", "BridgeDestroyed", "BridgeMerged", "BridgeAttendedTransfer", "BridgeBlindTransfer":
		if e.Bridge != nil {
			return "", e.Bridge.ID
		}
	}
	if e.Channel != nil {
		return e.Channel.ID, ""
	}
	return "", ""
}

func splitTarget(uri string) (channel, bridge string) {
	kind, id, ok := strings.Cut(uri, ":")
	if !ok {
		return "", ""
	}
	switch kind {
	case "channel":
		return id, ""
	case "bridge":
		return "", id
	}
	return "", ""
}

// stasisApp returns the Stasis application a channel's dialplan location
// names (Stasis(app[,args])), or "" when the channel is not in Stasis.
func (c *ariChannel) stasisApp() string {
	if !strings.EqualFold(c.Dialplan.AppName, "Stasis") {
		return ""
	}
	app, _, _ := strings.Cut(c.Dialplan.AppData, ",")
	return strings.TrimSpace(app)
}

// stasisArgs returns the arguments of Stasis(app,args…) in a channel's
// dialplan location.
func (c *ariChannel) stasisArgs() []string {
	if c.stasisApp() == "" {
		return nil
	}
	_, rest, ok := strings.Cut(c.Dialplan.AppData, ",")
	if !ok || rest == "" {
		return nil
	}
	return strings.Split(rest, ",")
}
