package client

// NoticeResumeGap is the notice of a stream that could not resume: the
// gateway no longer keeps the events after the Last-Event-ID it was given
// (or never knew that id, e.g. it restarted). The stream goes on live;
// events in between may be missing.
const NoticeResumeGap = "resume_gap"

// ResumeGapError is what Next returns when the gateway could not resume
// the stream after LastEventID (NoticeResumeGap) and StreamOptions has no
// OnResumeGap: events may have been missed, so resynchronise (list the
// calls, GET /v1/calls) before relying on the events. The stream stays
// open: the next Next returns the live events that follow.
type ResumeGapError struct {
	LastEventID string // the resume point the gateway did not have
	Message     string // the gateway's notice
}

func (e *ResumeGapError) Error() string {
	return "callapi: event stream: could not resume after " + e.LastEventID + ": events may be missing: " + e.Message
}

// resumeGap reports a resume the gateway could not make: to OnResumeGap,
// or as the error Next returns. The connection stays.
func (s *EventStream) resumeGap(n *StreamNotice) error {
	from := s.LastEventID()
	if s.opt.OnResumeGap != nil {
		s.opt.OnResumeGap(from)
		return nil
	}
	return &ResumeGapError{LastEventID: from, Message: n.Message}
}
