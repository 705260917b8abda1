package restapi

import (
	"io"

	"github.com/callgw/callgw/callapi"
)

// The request bodies of the routes whose body is not the gateway's
// argument type itself. Each decoder reads exactly one JSON object
// (unknown fields refused, see decodeJSON) and returns the gateway
// arguments, unchecked: the service checks them (the action's
// callapi.Spec, or the request's Validate where the body holds more than
// the arguments), as the worker checks the arguments again. The body types are ours where a
// field the gateway adds for its own use (playback_id, snoop_id,
// bridge_id) must not be set by API callers, or where the body holds more
// than the arguments (node, calls); a test (TestBodiesMatchOpenAPI) keeps
// them equal to openapi.json's schemas. The routes of the other call
// actions decode into the argument type itself (specArgs).

// decodeOptionalJSON is decodeJSON for routes whose body may be absent: an
// empty body leaves v as it is.
func decodeOptionalJSON(body io.Reader, v any) error { return decodeObject(body, v, true) }

// emptyBody is the body of routes that take no arguments: nothing, or {}.
type emptyBody struct{}

func decodeEmpty(body io.Reader) error { return decodeOptionalJSON(body, &emptyBody{}) }

// playBody is the body of POST /v1/calls/{id}/play and
// /v1/bridges/{id}/play.
type playBody struct {
	Media []string `json:"media"`
	Lang  string   `json:"lang"`
}

func decodePlay(body io.Reader) (callapi.PlayArgs, error) {
	var b playBody
	if err := decodeJSON(body, &b); err != nil {
		return callapi.PlayArgs{}, err
	}
	return callapi.PlayArgs{Media: b.Media, Lang: b.Lang}, nil
}

// decodeRecord decodes the body of POST /v1/calls/{id}/record and
// /v1/bridges/{id}/record, which is the argument type itself; unlike
// specArgs's, the body is required (a recording needs its name).
func decodeRecord(body io.Reader) (callapi.RecordArgs, error) {
	var a callapi.RecordArgs
	if err := decodeJSON(body, &a); err != nil {
		return callapi.RecordArgs{}, err
	}
	return a, nil
}

// snoopBody is the body of POST /v1/calls/{id}/snoop.
type snoopBody struct {
	Spy     string `json:"spy"`
	Whisper string `json:"whisper"`
}

func decodeSnoop(body io.Reader) (callapi.SnoopArgs, error) {
	var b snoopBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return callapi.SnoopArgs{}, err
	}
	return callapi.SnoopArgs{Spy: b.Spy, Whisper: b.Whisper}, nil
}

// variableBody is the body of PUT /v1/calls/{id}/variables/{name}.
type variableBody struct {
	Value *string `json:"value"`
}

func decodeVariable(body io.Reader, name string) (*callapi.VariableArgs, error) {
	var b variableBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.Value == nil {
		return nil, callapi.Invalid("value", `required (a string; "" sets the variable empty)`)
	}
	return &callapi.VariableArgs{Name: name, Value: *b.Value}, nil
}

// decodeBridge decodes the body of POST /v1/bridges.
func decodeBridge(body io.Reader) (callapi.BridgeCreateRequest, error) {
	var req callapi.BridgeCreateRequest
	if err := decodeJSON(body, &req); err != nil {
		return callapi.BridgeCreateRequest{}, err
	}
	return req, nil
}

// transferBody is the body of POST /v1/transfers.
type transferBody struct {
	Transferee callapi.CallID `json:"transferee"`
	Target     callapi.CallID `json:"target"`
	Transferer callapi.CallID `json:"transferer"`
}

func decodeTransfer(body io.Reader) (callapi.TransferArgs, error) {
	var b transferBody
	if err := decodeJSON(body, &b); err != nil {
		return callapi.TransferArgs{}, err
	}
	return callapi.TransferArgs{Transferee: b.Transferee, Target: b.Target, Transferer: b.Transferer}, nil
}
