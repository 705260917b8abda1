package callapi

// Unexported checks that the external tests (package callapi_test) hold
// ArgRules to.
var (
	TagRe       = tagRe
	NoControlRe = noControlRe
	HasControl  = hasControl
)
