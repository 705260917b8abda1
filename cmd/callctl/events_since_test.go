package main

import (
	"testing"
	"time"
)

func TestReplayTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-01-02T14:00:00Z", now.Add(-time.Hour), true},
		{"10m", now.Add(-10 * time.Minute), true},
		{"1767362400000", now.Add(-time.Hour), true},
		{"41207:0b6e3c1a-7c55-4f2e-9d5c-0a3d2f9b8e11", time.Time{}, false},
		{"0b6e3c1a-7c55-4f2e-9d5c-0a3d2f9b8e11", time.Time{}, false},
		{"", time.Time{}, false},
		{"-5m", time.Time{}, false},
	} {
		got, ok := replayTime(c.in, now)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("replayTime(%q) = %v %v", c.in, got, ok)
		}
	}
}
