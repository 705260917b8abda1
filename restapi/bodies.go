package restapi

import (
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/callgw/callgw/gateway"
)

// The request bodies of the call-control, bridge and transfer routes. Each
// decoder reads exactly one JSON object (unknown fields refused, see
// decodeJSON), checks it at the edge with errors that name the field, and
// returns the gateway arguments. The body types are ours, not the gateway's
// argument types, so that a field the gateway adds for its own use
// (playback_id, snoop_id, bridge_id) cannot be set by API callers; a test
// (TestBodiesMatchOpenAPI) keeps them equal to openapi.json's schemas.

// decodeOptionalJSON is decodeJSON for routes whose body may be absent: an
// empty body leaves v as it is.
func decodeOptionalJSON(body io.Reader, v any) error { return decodeObject(body, v, true) }

// emptyBody is the body of routes that take no arguments: nothing, or {}.
type emptyBody struct{}

func decodeEmpty(body io.Reader) error { return decodeOptionalJSON(body, &emptyBody{}) }

// ringArgs are the arguments of gateway.ActCallRing (the gateway has no
// named type for them): on is true when absent.
type ringArgs struct {
	On *bool `json:"on,omitempty"`
}

// decodeRing decodes the optional body of POST /v1/calls/{id}/ring.
func decodeRing(body io.Reader) (*ringArgs, error) {
	var b ringArgs
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// muteBody is the body of POST /v1/calls/{id}/mute and /unmute.
type muteBody struct {
	Direction string `json:"direction"`
}

func decodeMute(body io.Reader) (*gateway.MuteArgs, error) {
	var b muteBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	a := &gateway.MuteArgs{Direction: b.Direction}
	return a, a.Validate()
}

// dtmfBody is the body of POST /v1/calls/{id}/dtmf.
type dtmfBody struct {
	Digits     string `json:"digits"`
	BetweenMS  int    `json:"between_ms"`
	DurationMS int    `json:"duration_ms"`
}

func decodeDTMF(body io.Reader) (*gateway.DTMFArgs, error) {
	var b dtmfBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.Digits == "" {
		return nil, gateway.Invalid("digits", "required (1-64 of 0-9, A-D, *, # and , for a pause)")
	}
	a := &gateway.DTMFArgs{Digits: b.Digits, BetweenMS: b.BetweenMS, DurationMS: b.DurationMS}
	return a, a.Validate()
}

// playBody is the body of POST /v1/calls/{id}/play and
// /v1/bridges/{id}/play.
type playBody struct {
	Media []string `json:"media"`
	Lang  string   `json:"lang"`
}

var langRe = regexp.MustCompile(`^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?$`)

func decodePlay(body io.Reader) (gateway.PlayArgs, error) {
	var b playBody
	if err := decodeJSON(body, &b); err != nil {
		return gateway.PlayArgs{}, err
	}
	a := gateway.PlayArgs{Media: b.Media, Lang: b.Lang}
	if len(a.Media) == 0 {
		return a, gateway.Invalid("media", "required: 1 to 32 media URIs such as sound:hello-world")
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	if a.Lang != "" && !langRe.MatchString(a.Lang) {
		return a, gateway.Invalid("lang", "%q is not a language code such as en or en_US", a.Lang)
	}
	return a, nil
}

// recordBody is the body of POST /v1/calls/{id}/record and
// /v1/bridges/{id}/record.
type recordBody struct {
	Name               string `json:"name"`
	Format             string `json:"format"`
	MaxDurationSeconds int    `json:"max_duration_seconds"`
	MaxSilenceSeconds  int    `json:"max_silence_seconds"`
	Beep               bool   `json:"beep"`
	IfExists           string `json:"if_exists"`
	TerminateOn        string `json:"terminate_on"`
}

func decodeRecord(body io.Reader) (gateway.RecordArgs, error) {
	var b recordBody
	if err := decodeJSON(body, &b); err != nil {
		return gateway.RecordArgs{}, err
	}
	a := gateway.RecordArgs{
		Name: b.Name, Format: b.Format, MaxDurationSeconds: b.MaxDurationSeconds, MaxSilenceSeconds: b.MaxSilenceSeconds,
		Beep: b.Beep, IfExists: b.IfExists, TerminateOn: b.TerminateOn,
	}
	switch {
	case a.Name == "":
		return a, gateway.Invalid("name", "required (1-128 of [A-Za-z0-9_.-])")
	case strings.Contains(a.Name, "/"):
		// The gateway would accept a subdirectory, but a recording so
		// named could not be addressed afterwards: recording names in
		// /v1/recordings/… are ids (gateway.ValidID), without '/'.
		return a, gateway.Invalid("name", "must not contain /: 1-128 of [A-Za-z0-9_.-]")
	case a.MaxDurationSeconds < 0:
		return a, gateway.Invalid("max_duration_seconds", "must not be negative")
	case a.MaxSilenceSeconds < 0:
		return a, gateway.Invalid("max_silence_seconds", "must not be negative")
	}
	return a, a.Validate()
}

// redirectBody is the body of POST /v1/calls/{id}/redirect.
type redirectBody struct {
	Endpoint string `json:"endpoint"`
}

func decodeRedirect(body io.Reader) (*gateway.RedirectArgs, error) {
	var b redirectBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.Endpoint == "" {
		return nil, gateway.Invalid("endpoint", "required (an endpoint such as PJSIP/bob)")
	}
	a := &gateway.RedirectArgs{Endpoint: b.Endpoint}
	return a, a.Validate()
}

// continueBody is the body of POST /v1/calls/{id}/continue.
type continueBody struct {
	Context   string `json:"context"`
	Extension string `json:"extension"`
	Priority  int    `json:"priority"`
	Label     string `json:"label"`
}

// Dialplan names: what Asterisk accepts in practice, without the
// characters that would need escaping in ARI's query string.
var (
	contextRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,79}$`)
	extensionRe = regexp.MustCompile(`^[A-Za-z0-9_.+*#-]{1,79}$`)
	labelRe     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,79}$`)
	mohClassRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,79}$`)
)

func decodeContinue(body io.Reader) (*gateway.ContinueArgs, error) {
	var b continueBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	switch {
	case b.Context != "" && !contextRe.MatchString(b.Context):
		return nil, gateway.Invalid("context", "%q is not a dialplan context (1-79 of [A-Za-z0-9_.-])", b.Context)
	case b.Extension != "" && !extensionRe.MatchString(b.Extension):
		return nil, gateway.Invalid("extension", "%q is not an extension (1-79 of [A-Za-z0-9_.+*#-])", b.Extension)
	case b.Priority < 0:
		return nil, gateway.Invalid("priority", "must be positive")
	case b.Label != "" && !labelRe.MatchString(b.Label):
		return nil, gateway.Invalid("label", "%q is not a priority label (1-79 of [A-Za-z0-9_.-])", b.Label)
	case b.Label != "" && b.Priority != 0:
		return nil, gateway.Invalid("label", "give priority or label, not both")
	}
	return &gateway.ContinueArgs{Context: b.Context, Extension: b.Extension, Priority: b.Priority, Label: b.Label}, nil
}

// snoopBody is the body of POST /v1/calls/{id}/snoop.
type snoopBody struct {
	Spy     string `json:"spy"`
	Whisper string `json:"whisper"`
}

func decodeSnoop(body io.Reader) (gateway.SnoopArgs, error) {
	var b snoopBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return gateway.SnoopArgs{}, err
	}
	a := gateway.SnoopArgs{Spy: b.Spy, Whisper: b.Whisper}
	return a, a.Validate()
}

// mohBody is the body of POST /v1/calls/{id}/moh.
type mohBody struct {
	Class string `json:"class"`
}

func decodeMOH(body io.Reader) (*gateway.MOHArgs, error) {
	var b mohBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	if b.Class != "" && !mohClassRe.MatchString(b.Class) {
		return nil, gateway.Invalid("class", "%q is not a music-on-hold class (1-79 of [A-Za-z0-9_-])", b.Class)
	}
	return &gateway.MOHArgs{Class: b.Class}, nil
}

// variableBody is the body of PUT /v1/calls/{id}/variables/{name}.
type variableBody struct {
	Value *string `json:"value"`
}

// MaxVariableValueLen bounds the value of a channel variable set through
// the API.
const MaxVariableValueLen = 4096

func decodeVariable(body io.Reader, name string) (*gateway.VariableArgs, error) {
	var b variableBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.Value == nil {
		return nil, gateway.Invalid("value", `required (a string; "" sets the variable empty)`)
	}
	if len(*b.Value) > MaxVariableValueLen {
		return nil, gateway.Invalid("value", "longer than %d bytes", MaxVariableValueLen)
	}
	a := &gateway.VariableArgs{Name: name, Value: *b.Value}
	return a, a.Validate()
}

// bridgeBody is the body of POST /v1/bridges.
type bridgeBody struct {
	Type  string           `json:"type"`
	Name  string           `json:"name"`
	Node  gateway.NodeID   `json:"node"`
	Calls []gateway.CallID `json:"calls"`
}

// MaxBridgeCalls is the most calls a bridge creation may add at once.
const MaxBridgeCalls = 32

func decodeBridge(body io.Reader) (gateway.BridgeCreateRequest, error) {
	var b bridgeBody
	if err := decodeJSON(body, &b); err != nil {
		return gateway.BridgeCreateRequest{}, err
	}
	req := gateway.BridgeCreateRequest{Node: b.Node, Calls: b.Calls, Args: gateway.BridgeCreateArgs{Type: b.Type, Name: b.Name}}
	if err := req.Args.Validate(); err != nil {
		return req, err
	}
	if req.Node != "" && !gateway.ValidNodeID(string(req.Node)) {
		return req, gateway.Invalid("node", "%q is not a node id (1-64 of [A-Za-z0-9_-], not any or all)", req.Node)
	}
	if len(req.Calls) > MaxBridgeCalls {
		return req, gateway.Invalid("calls", "at most %d calls", MaxBridgeCalls)
	}
	for i, c := range req.Calls {
		if !gateway.ValidID(string(c)) {
			return req, gateway.Invalid("calls", "%q is not a call id (1-128 of [A-Za-z0-9._:;@-])", c)
		}
		if slices.Contains(req.Calls[:i], c) {
			return req, gateway.Invalid("calls", "%q is given twice", c)
		}
	}
	return req, nil
}

// bridgeCallBody is the body of POST /v1/bridges/{id}/calls.
type bridgeCallBody struct {
	CallID gateway.CallID `json:"call_id"`
}

func decodeBridgeCall(body io.Reader) (*gateway.BridgeCallArgs, error) {
	var b bridgeCallBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if !gateway.ValidID(string(b.CallID)) {
		return nil, gateway.Invalid("call_id", "required: a call id (1-128 of [A-Za-z0-9._:;@-])")
	}
	return &gateway.BridgeCallArgs{CallID: b.CallID}, nil
}

// transferBody is the body of POST /v1/transfers.
type transferBody struct {
	Transferee gateway.CallID `json:"transferee"`
	Target     gateway.CallID `json:"target"`
	Transferer gateway.CallID `json:"transferer"`
}

func decodeTransfer(body io.Reader) (gateway.TransferArgs, error) {
	var b transferBody
	if err := decodeJSON(body, &b); err != nil {
		return gateway.TransferArgs{}, err
	}
	a := gateway.TransferArgs{Transferee: b.Transferee, Target: b.Target, Transferer: b.Transferer}
	// In a fixed order, so that the same body always names the same field.
	for _, f := range []struct {
		name string
		id   gateway.CallID
	}{{"transferee", a.Transferee}, {"target", a.Target}, {"transferer", a.Transferer}} {
		if !gateway.ValidID(string(f.id)) {
			return a, gateway.Invalid(f.name, "required: a call id (1-128 of [A-Za-z0-9._:;@-])")
		}
	}
	switch {
	case a.Target == a.Transferee:
		return a, gateway.Invalid("target", "must differ from transferee")
	case a.Transferer == a.Transferee:
		return a, gateway.Invalid("transferer", "must differ from transferee")
	case a.Transferer == a.Target:
		return a, gateway.Invalid("transferer", "must differ from target")
	}
	return a, nil
}
