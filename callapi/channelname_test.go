package callapi

import "testing"

func TestHideChannelCounter(t *testing.T) {
	for in, want := range map[string]string{
		"PJSIP/sipp-00000008":                 "PJSIP/sipp",
		"Local/answer@callgw-test-00000036;1": "Local/answer@callgw-test;1",
		"Local/answer@callgw-test-0000003b;2": "Local/answer@callgw-test;2",
		"Snoop/4f7c2a9e-00000012":             "Snoop/4f7c2a9e",
		"PJSIP/alice":                         "PJSIP/alice",
		"":                                    "",
		"PJSIP/bob-1234567":                   "PJSIP/bob-1234567",
	} {
		if got := HideChannelCounter(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
