package callapi

import (
	"encoding/json"
	"testing"
)

// TestData: Data gives the typed payload of an event and refuses a type
// that is not the payload of the event's type.
func TestData(t *testing.T) {
	e := &Event{Type: EvCallHangup, Data: json.RawMessage(`{"cause":17,"cause_text":"User busy","reason":"remote"}`)}
	h, err := Data[HangupData](e)
	if err != nil || h.Cause != 17 || h.CauseText != "User busy" || h.Reason != "remote" {
		t.Fatalf("Data[HangupData] = %+v, %v", h, err)
	}
	if d, err := Data[DTMFData](e); err == nil {
		t.Errorf("Data[DTMFData] of call.hangup = %+v, want an error", d)
	}
	p, err := Data[PlaybackData](&Event{Type: EvCallPlaybackFinished, Data: json.RawMessage(`{"playback_id":"p1","state":"done"}`)})
	if err != nil || p.PlaybackID != "p1" || p.State != "done" {
		t.Errorf("Data[PlaybackData] = %+v, %v", p, err)
	}
	if _, err := Data[HangupData](&Event{Type: EvCallHangup, Data: json.RawMessage(`{"cause":"x"}`)}); err == nil {
		t.Error("undecodable data: no error")
	}
}
