package arisim

import (
	"net/http"
	"time"
)

// ---- /playbacks and /recordings: the handlers of playbacks.json's and recordings.json's
// operations (routes.go maps the paths).

var (
	errPlaybackNotFound  = errf(404, "Playback not found")
	errRecordingNotFound = errf(404, "Recording not found")
	errNotInSession      = errf(409, "Recording not in session")
)

// onPlayback adapts a handler of the path's {playbackId}.
func (s *Server) onPlayback(fn func(http.ResponseWriter, *request, *playback)) handlerFunc {
	return onResource("playbackId", func(id string) *playback { return s.playbacks[id] }, errPlaybackNotFound, fn)
}

func (s *Server) getPlayback(w http.ResponseWriter, _ *request, pb *playback) {
	reply(w, pb.json(), nil)
}

// stopPlayback drops a queued playback and finishes a playing one.
func (s *Server) stopPlayback(w http.ResponseWriter, _ *request, pb *playback) {
	if pb.state == "queued" {
		delete(s.playbacks, pb.id)
	} else {
		s.finishPlayback(pb)
	}
	reply(w, nil, nil)
}

func (s *Server) postPlaybackControl(w http.ResponseWriter, q *request, pb *playback) {
	op := q.str("operation")
	if op == "" {
		reply(w, nil, errf(400, "Missing parameter operation"))
		return
	}
	reply(w, nil, s.controlPlayback(pb, op))
}

// ---- /recordings/stored

func (s *Server) listStored(w http.ResponseWriter, _ *request) {
	names := sortedKeys(s.stored)
	out := make([]storedRecordingJSON, 0, len(names))
	for _, n := range names {
		out = append(out, storedRecordingJSON{Name: n, Format: s.stored[n].format})
	}
	reply(w, out, nil)
}

// onStored adapts a handler of the stored recording the path's {recordingName} names.
func (s *Server) onStored(fn func(http.ResponseWriter, *request, *storedRec)) handlerFunc {
	return onResource("recordingName", func(id string) *storedRec { return s.stored[id] }, errRecordingNotFound, fn)
}

func (s *Server) getStored(w http.ResponseWriter, _ *request, st *storedRec) {
	reply(w, storedRecordingJSON{Name: st.name, Format: st.format}, nil)
}

func (s *Server) deleteStored(w http.ResponseWriter, _ *request, st *storedRec) {
	delete(s.stored, st.name)
	reply(w, nil, nil)
}

// getStoredFile answers the recording as silence of its duration.
func (s *Server) getStoredFile(w http.ResponseWriter, _ *request, st *storedRec) {
	w.Header().Set("Content-Type", "audio/"+st.format)
	w.WriteHeader(http.StatusOK)
	if st.samples != nil {
		_, _ = w.Write(audioWAV(st.samples))
		return
	}
	_, _ = w.Write(silentWAV(st.duration))
}

func (s *Server) copyStored(w http.ResponseWriter, q *request, st *storedRec) {
	dst := q.str("destinationRecordingName")
	if dst == "" {
		reply(w, nil, errf(400, "Missing parameter destinationRecordingName"))
		return
	}
	if s.stored[dst] != nil {
		reply(w, nil, errf(409, "A recording with the same name already exists on the system"))
		return
	}
	cp := *st
	cp.name = dst
	s.stored[dst] = &cp
	reply(w, storedRecordingJSON{Name: dst, Format: cp.format}, nil)
}

// silentWAV returns a valid 8 kHz mono 16-bit WAV of n seconds of silence (at most 5).
func silentWAV(n int) []byte {
	n = min(max(n, 0), 5)
	return wav(16000 * n)
}

// wav returns an 8 kHz mono 16-bit WAV header followed by data bytes of
// silence, for the caller to fill.
func wav(data int) []byte {
	b := make([]byte, 44+data)
	copy(b, "RIFF")
	putLE32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	putLE32(b[16:], 16)
	b[20], b[22] = 1, 1
	putLE32(b[24:], 8000)
	putLE32(b[28:], 16000)
	b[32], b[34] = 2, 16
	copy(b[36:], "data")
	putLE32(b[40:], uint32(data))
	return b
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// ---- /recordings/live

// onLive adapts a handler of the live recording the path's {recordingName} names.
func (s *Server) onLive(fn func(http.ResponseWriter, *request, *liveRec)) handlerFunc {
	return onResource("recordingName", func(id string) *liveRec { return s.liveRecs[id] }, errRecordingNotFound, fn)
}

// inSession reports whether r records or is paused: pause and mute need one of those.
func (r *liveRec) inSession() bool { return r.state == "recording" || r.state == "paused" }

func (s *Server) getLive(w http.ResponseWriter, _ *request, r *liveRec) { reply(w, r.json(false), nil) }

func (s *Server) cancelLive(w http.ResponseWriter, _ *request, r *liveRec) {
	s.finishRecording(r, "canceled")
	reply(w, nil, nil)
}

func (s *Server) stopLive(w http.ResponseWriter, _ *request, r *liveRec) {
	s.finishRecording(r, "done")
	reply(w, nil, nil)
}

func (s *Server) pauseLive(w http.ResponseWriter, _ *request, r *liveRec) {
	if !r.inSession() {
		reply(w, nil, errNotInSession)
		return
	}
	if r.state == "recording" {
		r.state, r.pausedAt = "paused", time.Now()
	}
	reply(w, nil, nil)
}

func (s *Server) unpauseLive(w http.ResponseWriter, _ *request, r *liveRec) {
	if !r.inSession() {
		reply(w, nil, errNotInSession)
		return
	}
	if r.state == "paused" {
		r.paused += time.Since(r.pausedAt)
		r.state, r.pausedAt = "recording", time.Time{}
	}
	reply(w, nil, nil)
}

// muteLive serves POST (mute) and DELETE (unmute) of …/mute: a muted recording writes silence.
func (s *Server) muteLive(w http.ResponseWriter, q *request, r *liveRec) {
	if !r.inSession() {
		reply(w, nil, errNotInSession)
		return
	}
	r.muted = q.r.Method == http.MethodPost
	reply(w, nil, nil)
}
