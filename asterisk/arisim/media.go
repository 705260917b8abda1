package arisim

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"
)

// playback is a queued or playing media list on a channel or bridge.
type playback struct {
	id, target, lang string
	media            []string
	idx              int
	state            string // queued, playing, paused, done
	seq              int    // bumped on every reschedule; stale timers do nothing
	waiting          bool   // queued behind a recording of its channel (mediaQueue)
}

func (p *playback) json() playbackJSON {
	j := playbackJSON{ID: p.id, MediaURI: p.media[p.idx], TargetURI: p.target, Language: p.lang, State: p.state}
	if p.idx+1 < len(p.media) {
		j.NextMediaURI = p.media[p.idx+1]
	}
	return j
}

func (s *Server) playbackEvent(typ string, p *playback) *event {
	e := &event{typ: typ, body: map[string]any{"playback": p.json()}}
	s.addTarget(e, p.target)
	return e
}

// addTarget addresses an event about a "channel:<id>" or "bridge:<id>" target.
func (s *Server) addTarget(e *event, target string) {
	kind, id, _ := strings.Cut(target, ":")
	switch kind {
	case "channel":
		e.channels = append(e.channels, id)
	case "bridge":
		// The announcer channel's messages are forwarded to the bridge topic: apps subscribed to
		// the bridge (explicitly, or because one of their channels is in it) see them.
		e.bridges = append(e.bridges, id)
	}
}

// mediaDuration: tones and silence without a duration play until stopped; anything else takes the
// configured time per item.
func (s *Server) mediaDuration(uri string) time.Duration {
	if strings.HasPrefix(uri, "tone:") && !strings.Contains(uri, "duration") {
		return 0
	}
	return s.cfg.PlaybackDuration
}

var mediaSchemes = map[string]bool{"sound": true, "recording": true, "number": true, "digits": true, "characters": true, "tone": true}

// play implements POST /channels|bridges/{id}/play[/{playbackId}]. Caller holds s.mu.
func (s *Server) play(target, id, lang string, media []string, notBefore time.Time) (*playback, error) {
	if len(media) == 0 {
		return nil, errf(400, "Missing parameter media")
	}
	for _, m := range media {
		scheme, _, ok := strings.Cut(m, ":")
		if !ok || !mediaSchemes[scheme] {
			return nil, errf(500, "Failed to queue media for playback")
		}
	}
	if id == "" {
		id = newUUID()
	}
	if s.playbacks[id] != nil {
		return nil, errf(409, "Playback with id '"+id+"' already exists")
	}
	if lang == "" {
		lang = "en"
	}
	p := &playback{id: id, target: target, lang: lang, media: media, state: "queued"}
	s.playbacks[id] = p
	if s.recordingOn(target) {
		// A recording holds the channel's control queue until it ends (observed on 22.10.1).
		p.waiting = true
		s.mediaQueue[target] = append(s.mediaQueue[target], func() {
			p.waiting = false
			s.startPlayback(p)
		})
		return p, nil
	}
	delay := time.Until(notBefore)
	// Playbacks on one target run one after another, as Stasis' control queue does.
	for _, o := range s.playbacks {
		if o != p && o.target == target && o.state != "done" {
			delay = max(delay, s.cfg.PlaybackDuration) // queued behind (approximation)
		}
	}
	s.after(max(delay, time.Millisecond), func() { s.startPlayback(p) })
	return p, nil
}

func (s *Server) startPlayback(p *playback) {
	if s.playbacks[p.id] != p || p.state != "queued" {
		return
	}
	p.state = "playing"
	s.emit(s.playbackEvent("PlaybackStarted", p))
	s.scheduleItem(p)
}

func (s *Server) scheduleItem(p *playback) {
	p.seq++
	seq := p.seq
	d := s.mediaDuration(p.media[p.idx])
	if d == 0 {
		return // plays until stopped
	}
	s.after(d, func() {
		if s.playbacks[p.id] != p || p.seq != seq || p.state != "playing" {
			return
		}
		if p.idx+1 < len(p.media) {
			p.idx++
			s.emit(s.playbackEvent("PlaybackContinuing", p))
			s.scheduleItem(p)
			return
		}
		s.finishPlayback(p)
	})
}

func (s *Server) finishPlayback(p *playback) {
	if s.playbacks[p.id] != p {
		return
	}
	p.state = "done"
	p.seq++
	s.emit(s.playbackEvent("PlaybackFinished", p))
	delete(s.playbacks, p.id)
	s.kickMedia(p.target)
}

// recordingOn reports whether a recording holds or waits for the control queue of channel target.
func (s *Server) recordingOn(target string) bool {
	if !strings.HasPrefix(target, "channel:") {
		return false
	}
	for _, r := range s.liveRecs {
		if r.target == target && (r.state == "queued" || r.state == "recording" || r.state == "paused") {
			return true
		}
	}
	return false
}

// playingOn reports whether a playback holds or waits for the control queue of channel target.
func (s *Server) playingOn(target string) bool {
	if !strings.HasPrefix(target, "channel:") {
		return false
	}
	for _, p := range s.playbacks {
		if p.target == target && p.state != "done" {
			return true
		}
	}
	return false
}

// mediaBusy reports whether a started (or scheduled) playback or recording holds target.
func (s *Server) mediaBusy(target string) bool {
	for _, p := range s.playbacks {
		if p.target == target && !p.waiting && p.state != "done" {
			return true
		}
	}
	for _, r := range s.liveRecs {
		if r.target == target && !r.waiting && (r.state == "queued" || r.state == "recording" || r.state == "paused") {
			return true
		}
	}
	return false
}

// kickMedia starts what waits in target's control queue once nothing holds it.
func (s *Server) kickMedia(target string) {
	for len(s.mediaQueue[target]) > 0 && !s.mediaBusy(target) {
		fn := s.mediaQueue[target][0]
		s.mediaQueue[target] = s.mediaQueue[target][1:]
		fn()
	}
	if len(s.mediaQueue[target]) == 0 {
		delete(s.mediaQueue, target)
	}
}

// stopMediaOn ends the playbacks on target (channel hangup, StasisEnd, bridge destroyed).
func (s *Server) stopMediaOn(target string) {
	var ps []*playback
	for _, p := range s.playbacks {
		if p.target == target {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].id < ps[j].id })
	delete(s.mediaQueue, target)
	for _, p := range ps {
		if p.state == "queued" {
			delete(s.playbacks, p.id) // never started: no events
			continue
		}
		s.finishPlayback(p)
	}
}

// controlPlayback implements POST /playbacks/{id}/control as
// res_stasis_playback's table of operations by state: an operation the
// state has no entry for is 409 "Can only <op> while media is playing";
// pause while paused, unpause while playing and restart while queued do
// nothing; media Asterisk cannot control (number:, digits:, characters:)
// is 500 "Could not <op> playback". Pausing publishes the "paused" state,
// for which ARI has no event; unpausing announces PlaybackStarted again.
func (s *Server) controlPlayback(p *playback, op string) error {
	switch op {
	case "restart", "pause", "unpause", "reverse", "forward":
	default:
		return errf(400, "Invalid operation "+op)
	}
	notPlaying := errf(409, "Can only "+op+" while media is playing")
	switch {
	case p.state == "queued" && op == "restart",
		p.state == "playing" && op == "unpause",
		p.state == "paused" && op == "pause":
		return nil // playback_noop
	case p.state == "queued", p.state == "paused" && op != "unpause":
		return notPlaying
	}
	scheme, _, _ := strings.Cut(p.media[p.idx], ":")
	if scheme != "sound" && scheme != "recording" && scheme != "tone" {
		return errf(500, "Could not "+op+" playback")
	}
	switch op {
	case "restart":
		p.idx = 0
		s.scheduleItem(p)
	case "pause":
		p.state = "paused"
		p.seq++
	case "unpause":
		p.state = "playing"
		s.emit(s.playbackEvent("PlaybackStarted", p))
		s.scheduleItem(p)
	}
	return nil
}

// liveRec is a recording in progress.
type liveRec struct {
	name, format, target string
	state                string // queued, recording, paused, done, failed, canceled
	started              time.Time
	paused               time.Duration
	pausedAt             time.Time
	audio                bool // the target delivers audio frames (PJSIP); Local channels do not
	maxDur               int
	seq                  int
	waiting              bool   // queued behind a playback of its channel (mediaQueue)
	muted                bool   // POST …/mute: silence is written
	samples              []byte // ulaw audio heard (a bridge's external media, extmedia.go)
}

func (r *liveRec) duration() int {
	if !r.audio || r.started.IsZero() {
		return 0
	}
	d := time.Since(r.started) - r.paused
	if !r.pausedAt.IsZero() {
		d -= time.Since(r.pausedAt)
	}
	return int(d / time.Second)
}

func (r *liveRec) json(final bool) liveRecordingJSON {
	j := liveRecordingJSON{Name: r.name, Format: r.format, State: r.state, TargetURI: r.target}
	if final {
		d := r.duration()
		j.Duration = &d
	}
	return j
}

func (s *Server) recEvent(typ string, r *liveRec, final bool) *event {
	e := &event{typ: typ, body: map[string]any{"recording": r.json(final)}}
	s.addTarget(e, r.target)
	return e
}

// storedRec is a recording on "disk".
type storedRec struct {
	name, format string
	duration     int
	samples      []byte // ulaw audio recorded, when the simulator had any
}

var recordFormats = map[string]bool{"wav": true, "gsm": true, "ulaw": true, "alaw": true, "sln": true, "wav16": true, "g722": true, "ogg": true, "mp3": false}

// record implements POST /channels|bridges/{id}/record. Caller holds s.mu.
func (s *Server) record(target string, audio bool, p params) (*liveRec, error) {
	name, format := p.str("name"), p.str("format")
	maxDur, maxSil := p.num("maxDurationSeconds", 0), p.num("maxSilenceSeconds", 0)
	if maxDur < 0 {
		return nil, errf(400, "max_duration_seconds cannot be negative")
	}
	if maxSil < 0 {
		return nil, errf(400, "max_silence_seconds cannot be negative")
	}
	switch p.str("terminateOn") {
	case "", "none", "any", "*", "#":
	default:
		return nil, errf(400, "terminateOn invalid")
	}
	ifExists := p.str("ifExists")
	switch ifExists {
	case "", "fail", "overwrite", "append":
	default:
		return nil, errf(400, "ifExists invalid")
	}
	if name == "" || format == "" {
		return nil, errf(400, "Recording name invalid")
	}
	if !recordFormats[format] {
		return nil, errf(422, "specified format is unknown on this system")
	}
	if r := s.liveRecs[name]; r != nil && r.state != "done" {
		return nil, errf(409, "Recording '"+name+"' already in progress")
	}
	if _, ok := s.stored[name]; ok && (ifExists == "" || ifExists == "fail") {
		return nil, errf(409, "Recording '"+name+"' already exists and can not be overwritten")
	}
	r := &liveRec{name: name, format: format, target: target, state: "queued", audio: audio, maxDur: maxDur}
	s.liveRecs[name] = r
	if s.playingOn(target) {
		// A playback holds the channel's control queue: the recording starts after it (observed
		// on 22.10.1: no RecordingStarted while a tone plays).
		r.waiting = true
		s.mediaQueue[target] = append(s.mediaQueue[target], func() {
			r.waiting = false
			s.startRecording(r)
		})
		return r, nil
	}
	s.after(time.Millisecond, func() { s.startRecording(r) })
	return r, nil
}

// startRecording starts the queued recording r.
func (s *Server) startRecording(r *liveRec) {
	name := r.name
	if s.liveRecs[name] != r || r.state != "queued" {
		return
	}
	r.state = "recording"
	r.started = time.Now()
	// The file exists on disk as soon as recording starts.
	s.stored[name] = &storedRec{name: name, format: r.format}
	s.emit(s.recEvent("RecordingStarted", r, false))
	if r.audio && r.maxDur > 0 {
		seq := r.seq
		s.after(time.Duration(r.maxDur)*time.Second, func() {
			if s.liveRecs[name] == r && r.seq == seq && r.state == "recording" {
				s.finishRecording(r, "done")
			}
		})
	}
}

func (s *Server) finishRecording(r *liveRec, state string) {
	if r.state == "done" || r.state == "canceled" || r.state == "failed" {
		return
	}
	defer s.kickMedia(r.target)
	wasQueued := r.state == "queued"
	r.seq++
	r.state = state
	if wasQueued {
		delete(s.liveRecs, r.name)
		return
	}
	if state == "canceled" {
		delete(s.stored, r.name)
		delete(s.liveRecs, r.name)
		return
	}
	if st := s.stored[r.name]; st != nil {
		st.duration = r.duration()
		st.samples = r.samples
	}
	s.emit(s.recEvent("RecordingFinished", r, true))
	delete(s.liveRecs, r.name)
}

// finishRecordingsOn ends the recordings of target (hangup, bridge destroyed).
func (s *Server) finishRecordingsOn(target string) {
	var rs []*liveRec
	for _, r := range s.liveRecs {
		if r.target == target {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].name < rs[j].name })
	for _, r := range rs {
		s.finishRecording(r, "done")
	}
}

// sendDTMF implements POST /channels/{id}/dtmf: the digits go out to the far end; on a Local pair
// the ;2 half receives them (ChannelDtmfReceived on it, as recorded). The control queue is busy
// meanwhile, so a following play starts after the digits.
func (s *Server) sendDTMF(c *channel, dtmf string, before, between, duration, after int) {
	if between <= 0 {
		between = 100
	}
	if duration <= 0 {
		duration = 100
	}
	start := time.Now()
	if c.busyTill.After(start) {
		start = c.busyTill
	}
	t := time.Until(start) + time.Duration(before)*time.Millisecond
	var recv *channel
	if c.tech == "Local" && c.peer != nil {
		recv = c.peer
	}
	for _, d := range dtmf {
		if d == ',' { // a pause of 500 ms (ast_dtmf_stream)
			t += 500 * time.Millisecond
			continue
		}
		digit := string(d)
		t += time.Duration(duration+20) * time.Millisecond
		if recv != nil {
			s.after(t, func() {
				if !recv.hungup {
					s.emit(s.chanEvent("ChannelDtmfReceived", recv, "digit", digit, "duration_ms", duration))
				}
			})
		}
		t += time.Duration(between-20) * time.Millisecond
	}
	t += time.Duration(after) * time.Millisecond
	c.busyTill = time.Now().Add(t)
}

// newUUID returns a random RFC 4122 version 4 UUID, as Asterisk generates for ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
