package callapi

import (
	"errors"
	"regexp"
	"testing"
)

// The id checks are loops; these are the regular expressions they keep to.
var (
	wordRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	idRe   = regexp.MustCompile(`^[A-Za-z0-9._:;@-]{1,128}$`)
)

func checkIDs(t *testing.T, s string) {
	t.Helper()
	if got, want := ValidID(s), idRe.MatchString(s); got != want {
		t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
	}
	if got, want := ValidTenant(s), wordRe.MatchString(s); got != want {
		t.Errorf("ValidTenant(%q) = %v, want %v", s, got, want)
	}
	if got, want := ValidTag(s), wordRe.MatchString(s); got != want {
		t.Errorf("ValidTag(%q) = %v, want %v", s, got, want)
	}
	if got, want := ValidNodeID(s), wordRe.MatchString(s) && s != "any" && s != "all"; got != want {
		t.Errorf("ValidNodeID(%q) = %v, want %v", s, got, want)
	}
}

func TestIDChecks(t *testing.T) {
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	for _, s := range []string{"", "a", "pbx1", "any", "all", "a-b_c", "a.b", "pbx1-1732550000.42", "x:y;z@w",
		"a b", "a/b", "é", "a\n", long(64), long(65), long(128), long(129), "-", "_", "ANY", "a\x00"} {
		checkIDs(t, s)
	}
}

func FuzzIDChecks(f *testing.F) {
	for _, s := range []string{"pbx1", "pbx1-1732550000.42", "a b", "é", "any"} {
		f.Add(s)
	}
	f.Fuzz(checkIDs)
}

// TestCheckID: CheckID passes ValidID's ids and refuses the others as
// invalid_argument on the field, saying what was expected and the form.
func TestCheckID(t *testing.T) {
	if err := CheckID("id", "call id", "c1"); err != nil {
		t.Errorf("valid id: %v", err)
	}
	for id, want := range map[string]string{
		"":    `id: required: a call id (1-128 of [A-Za-z0-9._:;@-])`,
		"a/b": `id: "a/b" is not a call id (1-128 of [A-Za-z0-9._:;@-])`,
	} {
		err := CheckID("id", "call id", id)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidArgument || e.Field != "id" || e.Msg != want {
			t.Errorf("CheckID(%q) = %#v, want invalid_argument %q", id, err, want)
		}
	}
}
