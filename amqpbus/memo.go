package amqpbus

import (
	"container/list"
	"sync"

	"github.com/callgw/callgw/callapi"
)

// memo is the worker's bounded memory of recent commands (LRU by command
// id, per tenant). An entry is in progress until its reply is known; a
// duplicate delivery of a finished command is answered from the entry, a
// duplicate of one in progress waits for it. Entries in progress are never
// evicted (there are at most prefetch × consumers of them).
type memo struct {
	mu   sync.Mutex
	size int
	m    map[string]*list.Element
	ll   *list.List // front = most recent
}

type memoEntry struct {
	key    string
	action callapi.Action
	done   chan struct{} // closed by finish or abort
	reply  *callapi.Reply
}

func newMemo(size int) *memo {
	return &memo{size: size, m: make(map[string]*list.Element), ll: list.New()}
}

func memoKey(cmd *callapi.Command) string { return cmd.Tenant + "\x00" + cmd.ID }

// begin returns the entry of cmd and whether it already existed; a new
// entry is in progress.
func (m *memo) begin(cmd *callapi.Command) (*memoEntry, bool) {
	k := memoKey(cmd)
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.m[k]; ok {
		m.ll.MoveToFront(el)
		return el.Value.(*memoEntry), true
	}
	e := &memoEntry{key: k, action: cmd.Action, done: make(chan struct{})}
	m.m[k] = m.ll.PushFront(e)
	m.evictLocked()
	return e, false
}

// finish records the reply of e. A failure that may be transient is given
// to the duplicates already waiting but not remembered: a later retry (the
// same command id: the same Idempotency-Key) runs again instead of getting
// the old error for as long as the entry lives (retryable).
func (m *memo) finish(e *memoEntry, rep *callapi.Reply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.reply = rep
	if !rep.OK && rep.Error != nil && retryable(rep.Error.Code) {
		if el, ok := m.m[e.key]; ok && el.Value == e {
			m.ll.Remove(el)
			delete(m.m, e.key)
		}
	}
	close(e.done)
}

// retryable reports whether a failure may be transient and left nothing
// behind: the node could not serve (node_unavailable: e.g. its ARI was
// away, nothing was attempted), Asterisk failed or was unreachable
// (pbx_error: a call that may have been placed was hung up before the
// error was answered), the worker failed (internal), or the command is
// still running elsewhere (outcome_unknown: retry). Definitive
// answers (not_found, invalid_argument, conflict, forbidden) and timeout
// (the command may have run: a call not answered in time was placed and
// hung up) are remembered, so a retry gets the same answer.
func retryable(c callapi.Code) bool {
	switch c {
	case callapi.CodeNodeUnavailable, callapi.CodePBXError, callapi.CodeInternal, callapi.CodeOutcomeUnknown:
		return true
	}
	return false
}

// abort forgets e (the command did not run): a later delivery runs it.
func (m *memo) abort(e *memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.m[e.key]; ok && el.Value == e {
		m.ll.Remove(el)
		delete(m.m, e.key)
	}
	close(e.done)
}

func (m *memo) evictLocked() {
	for el := m.ll.Back(); el != nil && m.ll.Len() > m.size; {
		prev := el.Prev()
		e := el.Value.(*memoEntry)
		select {
		case <-e.done:
			m.ll.Remove(el)
			delete(m.m, e.key)
		default: // in progress: keep
		}
		el = prev
	}
}

func (m *memo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ll.Len()
}
