package callapi

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CallControl is the rest of the call operations of the CallAPI, beyond the
// lifecycle in PBX. asterisk.PBX implements it. Every method is scoped by
// tenant (another tenant's call is CodeNotFound) and needs the call under the
// worker's control (in its Stasis app): otherwise CodeConflict.
type CallControl interface {
	Answer(ctx context.Context, tenant string, id CallID) error
	Ring(ctx context.Context, tenant string, id CallID, on bool) error
	Hold(ctx context.Context, tenant string, id CallID, on bool) error
	Mute(ctx context.Context, tenant string, id CallID, direction string, on bool) error
	SendDTMF(ctx context.Context, tenant string, id CallID, a DTMFArgs) error
	Play(ctx context.Context, tenant string, id CallID, a PlayArgs) (*Playback, error)
	Record(ctx context.Context, tenant string, id CallID, a RecordArgs) (*Recording, error)
	Redirect(ctx context.Context, tenant string, id CallID, endpoint string) error
	Continue(ctx context.Context, tenant string, id CallID, a ContinueArgs) error
	Snoop(ctx context.Context, tenant string, id CallID, a SnoopArgs) (*Call, error)
	Variable(ctx context.Context, tenant string, id CallID, name string) (string, error)
	SetVariable(ctx context.Context, tenant string, id CallID, name, value string) error
	MOH(ctx context.Context, tenant string, id CallID, on bool, class string) error
}

// BridgeControl drives bridges. asterisk.PBX implements it.
type BridgeControl interface {
	CreateBridge(ctx context.Context, tenant string, id BridgeID, a BridgeCreateArgs) (*Bridge, error)
	Bridge(ctx context.Context, tenant string, id BridgeID) (*Bridge, error)
	Bridges(ctx context.Context, tenant string) ([]*Bridge, error)
	DestroyBridge(ctx context.Context, tenant string, id BridgeID) error
	AddToBridge(ctx context.Context, tenant string, id BridgeID, call CallID) error
	RemoveFromBridge(ctx context.Context, tenant string, id BridgeID, call CallID) error
	PlayOnBridge(ctx context.Context, tenant string, id BridgeID, a PlayArgs) (*Playback, error)
	RecordBridge(ctx context.Context, tenant string, id BridgeID, a RecordArgs) (*Recording, error)
	// Transfer joins transferee and target in a new bridge and hangs up
	// the transferring party (attended transfer). All three calls must be
	// on this node.
	Transfer(ctx context.Context, tenant string, a TransferArgs) (*Bridge, error)
}

// MediaControl drives playbacks and recordings. asterisk.PBX implements it.
type MediaControl interface {
	Playback(ctx context.Context, tenant, id string) (*Playback, error)
	StopPlayback(ctx context.Context, tenant, id string) error
	LiveRecording(ctx context.Context, tenant, name string) (*Recording, error)
	StopRecording(ctx context.Context, tenant, name string) error
	StoredRecordings(ctx context.Context, tenant string) ([]*Recording, error)
	StoredRecording(ctx context.Context, tenant, name string) (*Recording, error)
	DeleteStoredRecording(ctx context.Context, tenant, name string) error
}

// DTMFArgs are the arguments of ActCallDTMF.
type DTMFArgs struct {
	Digits     string `json:"digits"`
	BetweenMS  int    `json:"between_ms,omitempty"`  // pause between digits, default 100
	DurationMS int    `json:"duration_ms,omitempty"` // length of each digit, default 100
}

var dtmfRe = regexp.MustCompile(`^[0-9A-Da-d*#,]{1,64}$`)

// MaxDTMFMS bounds DTMFArgs.BetweenMS and DurationMS.
const MaxDTMFMS = 5000

// Validate checks DTMF arguments.
func (a *DTMFArgs) Validate() error {
	if !dtmfRe.MatchString(a.Digits) {
		return Invalid("digits", "1-64 of 0-9, A-D, *, # and , (pause)")
	}
	if a.BetweenMS < 0 || a.BetweenMS > MaxDTMFMS {
		return Invalid("between_ms", "must be between 0 and %d", MaxDTMFMS)
	}
	if a.DurationMS < 0 || a.DurationMS > MaxDTMFMS {
		return Invalid("duration_ms", "must be between 0 and %d", MaxDTMFMS)
	}
	return nil
}

// PlayArgs are the arguments of ActCallPlay and ActBridgePlay.
type PlayArgs struct {
	Media      []string `json:"media"`                 // sound:hello-world, recording:x, tone:ring, digits:123 …
	PlaybackID string   `json:"playback_id,omitempty"` // required: the gateway names the playback (Service)
	Lang       string   `json:"lang,omitempty"`
}

var langRe = regexp.MustCompile(`^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?$`)

// mediaRe is the shape of a media URI: one of mediaSchemes, then up to 512
// non-space characters (CheckMediaURI checks them per scheme).
var mediaRe = func() *regexp.Regexp {
	names := make([]string, len(mediaSchemes))
	for i, m := range mediaSchemes {
		names[i] = m.name
	}
	return regexp.MustCompile(`^(` + strings.Join(names, "|") + `):[^\s]{1,512}$`)
}()

// MaxPlayMedia is the most media URIs one play request may hold.
const MaxPlayMedia = 32

// Validate checks play arguments.
func (a *PlayArgs) Validate() error {
	if len(a.Media) == 0 || len(a.Media) > MaxPlayMedia {
		return Invalid("media", "1 to %d media URIs", MaxPlayMedia)
	}
	for _, m := range a.Media {
		if !mediaRe.MatchString(m) {
			return notMediaURI(m)
		}
	}
	if !ValidID(a.PlaybackID) {
		return Invalid("playback_id", "%q is not a valid playback id (the gateway names the playback)", a.PlaybackID)
	}
	if a.Lang != "" && !langRe.MatchString(a.Lang) {
		return Invalid("lang", "%q is not a language code such as en or en_US", a.Lang)
	}
	return nil
}

func (a *PlayArgs) Created() (string, string) { return a.PlaybackID, "playback" }

func (a *PlayArgs) Named(id string) Validator {
	c := *a
	c.PlaybackID = id
	return &c
}

// Playback is a playback as the CallAPI shows it.
type Playback struct {
	ID       string `json:"id"`
	Node     NodeID `json:"node,omitempty"`
	Media    string `json:"media"`
	State    string `json:"state"` // queued, playing, done, failed
	TargetID string `json:"target_id"`
}

// RecordArgs are the arguments of ActCallRecord and ActBridgeRecord.
type RecordArgs struct {
	Name               string `json:"name"`
	Format             string `json:"format,omitempty"` // wav (default), gsm, ulaw, …
	MaxDurationSeconds int    `json:"max_duration_seconds,omitempty"`
	MaxSilenceSeconds  int    `json:"max_silence_seconds,omitempty"`
	Beep               bool   `json:"beep,omitempty"`
	IfExists           string `json:"if_exists,omitempty"` // fail (default), overwrite, append
	TerminateOn        string `json:"terminate_on,omitempty"`
}

// A recording name is an id of /v1/recordings/… (ValidID): no "/", so no
// subdirectory, which could not be addressed afterwards.
var recNameRe = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$`)

var recFormats = []string{"wav", "wav16", "gsm", "ulaw", "alaw", "sln", "g722", "g729", "ogg"}

// The values of RecordArgs.IfExists and TerminateOn.
var (
	recIfExists    = []string{"fail", "overwrite", "append"}
	recTerminateOn = []string{"none", "any", "*", "#"}
)

// Validate checks record arguments.
func (a *RecordArgs) Validate() error {
	if !recNameRe.MatchString(a.Name) || strings.Contains(a.Name, "..") {
		return Invalid("name", "required: 1-128 of [A-Za-z0-9_.-], not starting with . and without ..")
	}
	if a.Format != "" && !slices.Contains(recFormats, a.Format) {
		return Invalid("format", "%q is not a recording format", a.Format)
	}
	if a.MaxDurationSeconds < 0 {
		return Invalid("max_duration_seconds", "must not be negative")
	}
	if a.MaxSilenceSeconds < 0 {
		return Invalid("max_silence_seconds", "must not be negative")
	}
	if a.IfExists != "" && !slices.Contains(recIfExists, a.IfExists) {
		return Invalid("if_exists", "must be fail, overwrite or append")
	}
	if a.TerminateOn != "" && !slices.Contains(recTerminateOn, a.TerminateOn) {
		return Invalid("terminate_on", "must be none, any, * or #")
	}
	return nil
}

// Recording is a live or stored recording.
type Recording struct {
	Name            string `json:"name"`
	Node            NodeID `json:"node,omitempty"`
	Format          string `json:"format"`
	State           string `json:"state,omitempty"` // queued, recording, paused, done, failed, canceled; "" when stored
	TargetID        string `json:"target_id,omitempty"`
	DurationSeconds int    `json:"duration_seconds,omitempty"`
}

// RedirectArgs are the arguments of ActCallRedirect (blind transfer).
type RedirectArgs struct {
	Endpoint string `json:"endpoint"`
}

// sipURIRe matches what pjsip_parse_uri takes as a name-addr: a sip:, sips:
// or tel: URI, optionally in angle brackets after a display name.
var sipURIRe = regexp.MustCompile(`^(?:(?:"[^"]*"\s*|[^<"]*)<)?(?i:sips?|tel):[^\s<>]+>?$`)

// Validate checks redirect arguments. A PJSIP redirect needs a SIP URI as
// resource: chan_pjsip puts it in the Contact of a 302 (or the Refer-To of
// a REFER), where a bare endpoint name fails to parse, and Asterisk still
// answers 204 while nothing happens.
func (a *RedirectArgs) Validate() error {
	if !endpointRe.MatchString(a.Endpoint) {
		return Invalid("endpoint", "%q is not an endpoint of the form Technology/resource", a.Endpoint)
	}
	if tech, res, _ := strings.Cut(a.Endpoint, "/"); strings.EqualFold(tech, "PJSIP") && !sipURIRe.MatchString(res) {
		return Invalid("endpoint", "a PJSIP redirect needs a SIP URI as resource (PJSIP/sip:bob@pbx.example.com), not %q", res)
	}
	return nil
}

// ContinueArgs are the arguments of ActCallContinue: leave API control
// and go on in the dialplan (at the given place, or where the call was).
type ContinueArgs struct {
	Context   string `json:"context,omitempty"`
	Extension string `json:"extension,omitempty"`
	Priority  int    `json:"priority,omitempty"`
	Label     string `json:"label,omitempty"`
}

// dialplanWordRe is a dialplan context, extension, label or music-on-hold
// class (checkDialplanWord).
var dialplanWordRe = regexp.MustCompile(`^[A-Za-z0-9_+*#.-]{1,80}$`)

// Validate checks continue arguments.
func (a *ContinueArgs) Validate() error {
	for _, f := range []struct{ name, v string }{{"context", a.Context}, {"extension", a.Extension}, {"label", a.Label}} {
		if f.v != "" {
			if err := checkDialplanWord(f.name, f.v); err != nil {
				return err
			}
		}
	}
	if a.Priority < 0 {
		return Invalid("priority", "must be positive")
	}
	if a.Label != "" && a.Priority != 0 {
		return Invalid("label", "give a label or a priority, not both")
	}
	return nil
}

// SnoopArgs are the arguments of ActCallSnoop.
type SnoopArgs struct {
	Spy     string `json:"spy,omitempty"`     // none, both, out, in (default both)
	Whisper string `json:"whisper,omitempty"` // none (default), both, out, in
	SnoopID CallID `json:"snoop_id,omitempty"`
}

// snoopDirections are the values of SnoopArgs.Spy and Whisper.
var snoopDirections = []string{"none", "both", "out", "in"}

// Validate checks snoop arguments.
func (a *SnoopArgs) Validate() error {
	if a.Spy != "" && !slices.Contains(snoopDirections, a.Spy) {
		return Invalid("spy", "must be none, both, out or in")
	}
	if a.Whisper != "" && !slices.Contains(snoopDirections, a.Whisper) {
		return Invalid("whisper", "must be none, both, out or in")
	}
	if a.Spy == "none" && (a.Whisper == "" || a.Whisper == "none") {
		return Invalid("spy", "spy and whisper cannot both be none")
	}
	if !ValidID(string(a.SnoopID)) {
		return Invalid("snoop_id", "%q is not a valid call id (the gateway names the snoop call)", a.SnoopID)
	}
	return nil
}

func (a *SnoopArgs) Created() (string, string) { return string(a.SnoopID), "snoop" }

func (a *SnoopArgs) Named(id string) Validator {
	c := *a
	c.SnoopID = CallID(id)
	return &c
}

// MuteArgs are the arguments of ActCallMute / ActCallUnmute.
type MuteArgs struct {
	Direction string `json:"direction,omitempty"` // both (default), in, out
}

// muteDirections are the values of MuteArgs.Direction.
var muteDirections = []string{"both", "in", "out"}

// Validate checks mute arguments.
func (a *MuteArgs) Validate() error {
	if a.Direction != "" && !slices.Contains(muteDirections, a.Direction) {
		return Invalid("direction", "must be both, in or out")
	}
	return nil
}

// direction is the direction to (un)mute: both when not given.
func (a *MuteArgs) direction() string {
	if a.Direction == "" {
		return "both"
	}
	return a.Direction
}

// VariableArgs are the arguments of ActCallVarGet / ActCallVarSet.
type VariableArgs struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// MaxVariableValueLen bounds the value of a channel variable.
const MaxVariableValueLen = 4096

// Validate checks the shape of the variable name and the value: its
// length, no control characters. Which names may be used is for the
// InputRules (checkRules).
func (a *VariableArgs) Validate() error {
	if !validVarShape(a.Name) {
		return Invalid("name", "%q is not a valid channel variable name", a.Name)
	}
	if len(a.Value) > MaxVariableValueLen {
		return Invalid("value", "longer than %d bytes", MaxVariableValueLen)
	}
	return checkHeaderValue("value", a.Value)
}

// Variable is the result of ActCallVarGet.
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MOHArgs are the arguments of ActCallMOHStart.
type MOHArgs struct {
	Class string `json:"class,omitempty"`
}

// Validate checks music-on-hold arguments.
func (a *MOHArgs) Validate() error {
	if a.Class != "" {
		return checkDialplanWord("class", a.Class)
	}
	return nil
}

// Bridge is a bridge as the CallAPI shows it.
type Bridge struct {
	ID        BridgeID  `json:"id"`
	Node      NodeID    `json:"node"`
	Tenant    string    `json:"tenant"`
	Type      string    `json:"type"` // mixing, holding
	Name      string    `json:"name,omitempty"`
	Calls     []CallID  `json:"calls"`
	CreatedAt time.Time `json:"created_at"`
}

// BridgeCreateArgs are the arguments of ActBridgeCreate.
type BridgeCreateArgs struct {
	Type string `json:"type,omitempty"` // mixing (default), holding, dtmf_events, proxy_media
	Name string `json:"name,omitempty"`
}

// bridgeTypes are the values of BridgeCreateArgs.Type.
var bridgeTypes = []string{"mixing", "holding", "dtmf_events", "proxy_media", "mixing,dtmf_events"}

// MaxBridgeNameLen bounds BridgeCreateArgs.Name.
const MaxBridgeNameLen = 128

// Validate checks bridge creation arguments. The name reaches ARI and the
// bridge's events, so it holds no control characters.
func (a *BridgeCreateArgs) Validate() error {
	if a.Type != "" && !slices.Contains(bridgeTypes, a.Type) {
		return Invalid("type", "must be mixing, holding, dtmf_events or proxy_media")
	}
	if len(a.Name) > MaxBridgeNameLen {
		return Invalid("name", "longer than %d characters", MaxBridgeNameLen)
	}
	return checkHeaderValue("name", a.Name)
}

// BridgeCallArgs are the arguments of ActBridgeAdd / ActBridgeRemove.
type BridgeCallArgs struct {
	CallID CallID `json:"call_id"`
}

// Validate checks the call id.
func (a *BridgeCallArgs) Validate() error {
	return CheckID("call_id", "call id", string(a.CallID))
}

// TransferArgs are the arguments of an attended transfer.
type TransferArgs struct {
	Transferee CallID   `json:"transferee"`          // the party being transferred (A)
	Target     CallID   `json:"target"`              // the party A is joined to (C)
	Transferer CallID   `json:"transferer"`          // the transferring party, dropped (B)
	BridgeID   BridgeID `json:"bridge_id,omitempty"` // required: the gateway names the new bridge (Service)
}

// Validate checks that the transfer names three different valid calls (in
// a fixed order, so that the same arguments always name the same field)
// and a valid id for the new bridge.
func (a *TransferArgs) Validate() error {
	for _, f := range []struct {
		name string
		id   CallID
	}{{"transferee", a.Transferee}, {"target", a.Target}, {"transferer", a.Transferer}} {
		if err := CheckID(f.name, "call id", string(f.id)); err != nil {
			return err
		}
	}
	switch {
	case a.Target == a.Transferee:
		return Invalid("target", "must differ from transferee")
	case a.Transferer == a.Transferee:
		return Invalid("transferer", "must differ from transferee")
	case a.Transferer == a.Target:
		return Invalid("transferer", "must differ from target")
	}
	if !ValidID(string(a.BridgeID)) {
		return Invalid("bridge_id", "%q is not a valid bridge id (the gateway names the new bridge)", a.BridgeID)
	}
	return nil
}

func (a *TransferArgs) Created() (string, string) { return string(a.BridgeID), "" }

func (a *TransferArgs) Named(id string) Validator {
	c := *a
	c.BridgeID = BridgeID(id)
	return &c
}
