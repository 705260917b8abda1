package callapi

import "regexp"

// FieldRule is what the validation of an argument type enforces on one of
// its JSON members, in the terms of a JSON schema, so that a description
// of the API (restapi's openapi.json) can be held to the rules instead of
// restating them. Patterns are Go regular expressions. A zero field says
// nothing about that aspect.
type FieldRule struct {
	Pattern  string   // the value matches it
	Enum     []string // the value is one of these (besides absent)
	Min, Max *int     // numeric bounds
	MaxLen   int      // the longest string
	MinItems int      // the fewest items of an array
	MaxItems int      // the most items of an array
}

// ArgRules returns the rules of each argument type's members, by the type's
// name and the member's JSON name; "m[]" is each item of the array m,
// "m{}" each value of the object m. Every call returns a new map.
func ArgRules() map[string]map[string]FieldRule {
	pat := func(re *regexp.Regexp) FieldRule { return FieldRule{Pattern: re.String()} }
	enum := func(vs ...[]string) FieldRule {
		var out []string
		for _, v := range vs {
			out = append(out, v...)
		}
		return FieldRule{Enum: out}
	}
	ints := func(lo, hi *int) FieldRule { return FieldRule{Min: lo, Max: hi} }
	zero := func() *int { z := 0; return &z }
	upTo := func(n int) *int { return &n }
	return map[string]map[string]FieldRule{
		"OriginateArgs": {
			"to":          pat(endpointRe),
			"from":        {Pattern: noControlRe.String(), MaxLen: MaxFromLen},
			"context":     pat(dialplanWordRe),
			"extension":   pat(dialplanWordRe),
			"priority":    ints(zero(), nil),
			"variables{}": pat(noControlRe),
			"timeout":     ints(zero(), upTo(MaxRingTimeout)),
			"tags":        {MaxItems: MaxTags},
			"tags[]":      pat(tagRe),
			"wait":        enum(stringsOf(waits)),
		},
		"HangupArgs": {"reason": enum(HangupReasons)},
		"ListArgs":   {"state": enum(stringsOf(callStates))},
		"MuteArgs":   {"direction": enum(muteDirections)},
		"DTMFArgs": {
			"digits":      pat(dtmfRe),
			"between_ms":  ints(zero(), upTo(MaxDTMFMS)),
			"duration_ms": ints(zero(), upTo(MaxDTMFMS)),
		},
		"PlayArgs": {
			"media":   {MinItems: 1, MaxItems: MaxPlayMedia},
			"media[]": pat(mediaRe),
			"lang":    pat(langRe),
		},
		"RecordArgs": {
			"name":                 pat(recNameRe),
			"format":               enum(recFormats),
			"max_duration_seconds": ints(zero(), nil),
			"max_silence_seconds":  ints(zero(), nil),
			"if_exists":            enum(recIfExists),
			"terminate_on":         enum(recTerminateOn),
		},
		"ContinueArgs": {
			"context":   pat(dialplanWordRe),
			"extension": pat(dialplanWordRe),
			"priority":  ints(zero(), nil),
			"label":     pat(dialplanWordRe),
		},
		"SnoopArgs":           {"spy": enum(snoopDirections), "whisper": enum(snoopDirections)},
		"MOHArgs":             {"class": pat(dialplanWordRe)},
		"VariableArgs":        {"value": {Pattern: noControlRe.String(), MaxLen: MaxVariableValueLen}},
		"BridgeCreateArgs":    {"type": enum(bridgeTypes), "name": {Pattern: noControlRe.String(), MaxLen: MaxBridgeNameLen}},
		"BridgeCreateRequest": {"calls": {MaxItems: MaxBridgeCalls}},
		"CreateArgs":          {"tags": {MaxItems: MaxTags}, "tags[]": pat(tagRe)},
		"DialArgs":            {"timeout": ints(zero(), upTo(MaxRingTimeout))},
		"MessageArgs":         {"from": {MaxLen: MaxFromLen}, "body": {MaxLen: MaxMessageBody}},
		"DeviceStateArgs":     {"state": enum(DeviceStates)},
		"MailboxArgs":         {"old_messages": ints(zero(), upTo(MaxMailboxMessages)), "new_messages": ints(zero(), upTo(MaxMailboxMessages))},
		"PlaybackControlArgs": {"operation": enum(PlaybackOperations)},
	}
}

// stringsOf converts a list of string-kinded values.
func stringsOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
