// Package journal is a worker's durable memory of the calls it created for
// originates that carried an Idempotency-Key: for each, the command id, the
// call id, whether it finished and with which reply, and how the call ended.
// It lives in a node-local embedded store (go.etcd.io/bbolt), is re-read when
// the worker starts and is kept for the idempotency window, so that a retry
// with the same key never places a second call — not after the worker's
// death, and not on another worker (which asks this one through the
// idempotency.lookup broadcast). docs/decisions.md explains the design.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/callgw/callgw/callapi"
)

// State is where a journaled command is.
type State string

// States of a record.
const (
	// Running: recorded before the command ran; still running if the
	// record's Boot is this process's, interrupted (the worker died) if not.
	Running State = "running"
	// Done: the command finished with Reply.
	Done State = "done"
)

// Record is one journaled command.
type Record struct {
	Tenant    string          `json:"tenant"`
	CommandID string          `json:"command_id"`
	Action    callapi.Action  `json:"action"`
	CallID    callapi.CallID  `json:"call_id"`
	State     State           `json:"state"`
	Boot      string          `json:"boot"` // the process instance that began it
	Reply     *callapi.Reply  `json:"reply,omitempty"`
	Hangup    *callapi.Hangup `json:"hangup,omitempty"` // set once the call ended
	Started   time.Time       `json:"started"`
	Updated   time.Time       `json:"updated"`
}

var (
	bucketKeys  = []byte("keys")  // tenant \x00 command id -> Record (JSON)
	bucketCalls = []byte("calls") // call id -> tenant \x00 command id
	// bucketOpen indexes the records whose call may still owe its end
	// (Unended): tenant \x00 command id -> call id. The walk after a
	// start reads it, not the whole history.
	bucketOpen = []byte("open")
)

// Journal is the store. The zero value is not usable: Open it. Without a
// path it keeps the records in memory only (tests, `callgw dev` without a
// state directory): they do not survive the process.
type Journal struct {
	db     *bolt.DB // nil: memory only
	window time.Duration
	boot   string
	now    func() time.Time

	mu    sync.Mutex
	mem   map[string]*Record        // memory mode: every record
	open  map[string]struct{}       // memory mode: the keys bucketOpen holds on disk
	calls map[callapi.CallID]string // call id -> key, of every record (both modes)
	runs  map[string]struct{}       // keys running in this process

	walked int // records Unended read (tests: its cost follows the open calls)
}

// ErrLocked is returned by Open when another process holds the file: a
// second worker for the same node on this machine.
var ErrLocked = errors.New("journal: the file is locked by another process (is a second worker running for this node?)")

// DefaultWindow is how long records are kept when Open is given no window
// (CALLGW_IDEMPOTENCY_WINDOW's default).
const DefaultWindow = 24 * time.Hour

// Open opens (creating it) the journal at path, or a memory-only journal
// when path is "". window is how long records are kept (Prune; 0:
// DefaultWindow). boot names this process instance (records it begins
// carry it).
func Open(path string, window time.Duration, boot string) (*Journal, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	j := &Journal{
		window: window, boot: boot, now: time.Now,
		mem: map[string]*Record{}, open: map[string]struct{}{}, calls: map[callapi.CallID]string{}, runs: map[string]struct{}{},
	}
	if path == "" {
		return j, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		indexed := tx.Bucket(bucketOpen) != nil
		for _, b := range [][]byte{bucketKeys, bucketCalls, bucketOpen} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if !indexed {
			if err := buildOpen(tx); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketCalls).ForEach(func(k, v []byte) error {
			j.calls[callapi.CallID(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("journal: read %s: %w", path, err)
	}
	j.db = db
	return j, nil
}

// Durable reports whether records survive the process.
func (j *Journal) Durable() bool { return j.db != nil }

// Len is the number of records.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.calls)
}

// Close closes the store.
func (j *Journal) Close() error {
	if j.db == nil {
		return nil
	}
	return j.db.Close()
}

func key(tenant, commandID string) string { return tenant + "\x00" + commandID }

// Begin records that cmd is about to run, unless a record of it exists:
// then it returns that record and records nothing (the command must not
// run again). The record is on disk before Begin returns.
func (j *Journal) Begin(cmd *callapi.Command) (*Record, error) {
	k := key(cmd.Tenant, cmd.ID)
	now := j.now().UTC()
	rec := &Record{Tenant: cmd.Tenant, CommandID: cmd.ID, Action: cmd.Action, CallID: cmd.CallID, State: Running, Boot: j.boot, Started: now, Updated: now}
	j.mu.Lock()
	if _, running := j.runs[k]; running {
		j.mu.Unlock()
		return &Record{Tenant: cmd.Tenant, CommandID: cmd.ID, Action: cmd.Action, CallID: cmd.CallID, State: Running, Boot: j.boot}, nil
	}
	if j.db == nil {
		defer j.mu.Unlock()
		if old, ok := j.mem[k]; ok {
			c := *old
			return &c, nil
		}
		j.mem[k] = rec
		j.runs[k] = struct{}{}
		if cmd.CallID != "" {
			j.calls[cmd.CallID] = k
			j.open[k] = struct{}{}
		}
		return nil, nil
	}
	j.runs[k] = struct{}{} // claimed: a concurrent Begin of the same key sees it running
	j.mu.Unlock()
	var old *Record
	err := j.db.Batch(func(tx *bolt.Tx) error {
		old = nil
		b := tx.Bucket(bucketKeys)
		if v := b.Get([]byte(k)); v != nil {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("journal: record %q: %w", k, err)
			}
			old = &r
			return nil
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
		if cmd.CallID == "" {
			return nil
		}
		if err := tx.Bucket(bucketOpen).Put([]byte(k), []byte(cmd.CallID)); err != nil {
			return err
		}
		return tx.Bucket(bucketCalls).Put([]byte(cmd.CallID), []byte(k))
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil || old != nil {
		delete(j.runs, k)
		return old, err
	}
	if cmd.CallID != "" {
		j.calls[cmd.CallID] = k
	}
	return nil, nil
}

// Finish records the reply of a command Begin recorded. A failure that may
// be transient (retryable) removes the record: the command had no effect
// and a retry runs it.
func (j *Journal) Finish(cmd *callapi.Command, rep *callapi.Reply) error {
	k := key(cmd.Tenant, cmd.ID)
	forget := !rep.OK && rep.Error != nil && Retryable(rep.Error.Code)
	j.mu.Lock()
	delete(j.runs, k)
	if forget && cmd.CallID != "" {
		delete(j.calls, cmd.CallID)
	}
	if j.db == nil {
		defer j.mu.Unlock()
		if !rep.OK {
			delete(j.open, k) // no call: no end owed
		}
		if forget {
			delete(j.mem, k)
			return nil
		}
		if r := j.mem[k]; r != nil {
			r.State, r.Reply, r.Updated = Done, rep, j.now().UTC()
		}
		return nil
	}
	j.mu.Unlock()
	return j.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if !rep.OK {
			if err := tx.Bucket(bucketOpen).Delete([]byte(k)); err != nil {
				return err
			}
		}
		if forget {
			if cmd.CallID != "" {
				if err := tx.Bucket(bucketCalls).Delete([]byte(cmd.CallID)); err != nil {
					return err
				}
			}
			return b.Delete([]byte(k))
		}
		return update(b, k, func(r *Record) { r.State, r.Reply, r.Updated = Done, rep, j.now().UTC() })
	})
}

// Settle records the answer given for an interrupted record (found
// Running from an earlier process), so that every later retry gets it.
func (j *Journal) Settle(r *Record, rep *callapi.Reply) error {
	k := key(r.Tenant, r.CommandID)
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		if m := j.mem[k]; m != nil {
			m.State, m.Reply, m.Updated = Done, rep, j.now().UTC()
		}
		if !rep.OK {
			delete(j.open, k)
		}
		return nil
	}
	return j.db.Batch(func(tx *bolt.Tx) error {
		if !rep.OK {
			if err := tx.Bucket(bucketOpen).Delete([]byte(k)); err != nil {
				return err
			}
		}
		return update(tx.Bucket(bucketKeys), k, func(r *Record) { r.State, r.Reply, r.Updated = Done, rep, j.now().UTC() })
	})
}

func update(b *bolt.Bucket, k string, f func(*Record)) error {
	v := b.Get([]byte(k))
	if v == nil {
		return nil
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("journal: record %q: %w", k, err)
	}
	f(&r)
	nv, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	return b.Put([]byte(k), nv)
}

// Ended records how a journaled call ended; calls not in the journal are
// ignored (a map lookup: it is called for every call.hangup).
func (j *Journal) Ended(id callapi.CallID, h callapi.Hangup) error {
	j.mu.Lock()
	k, ok := j.calls[id]
	if !ok {
		j.mu.Unlock()
		return nil
	}
	if j.db == nil {
		defer j.mu.Unlock()
		if r := j.mem[k]; r != nil {
			r.Hangup, r.Updated = &h, j.now().UTC()
		}
		delete(j.open, k)
		return nil
	}
	j.mu.Unlock()
	return j.db.Batch(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOpen).Delete([]byte(k)); err != nil {
			return err
		}
		return update(tx.Bucket(bucketKeys), k, func(r *Record) { r.Hangup, r.Updated = &h, j.now().UTC() })
	})
}

// Get returns the record of a command, nil if there is none. Running
// records of this process are reported with Boot = this process's.
func (j *Journal) Get(tenant, commandID string) (*Record, error) {
	k := key(tenant, commandID)
	j.mu.Lock()
	if _, running := j.runs[k]; running {
		j.mu.Unlock()
		return &Record{Tenant: tenant, CommandID: commandID, State: Running, Boot: j.boot}, nil
	}
	if j.db == nil {
		defer j.mu.Unlock()
		if r := j.mem[k]; r != nil {
			c := *r
			return &c, nil
		}
		return nil, nil
	}
	j.mu.Unlock()
	var out *Record
	err := j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKeys).Get([]byte(k))
		if v == nil {
			return nil
		}
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("journal: record %q: %w", k, err)
		}
		out = &r
		return nil
	})
	return out, err
}

// RunningHere reports whether r is being run by this process.
func (j *Journal) RunningHere(r *Record) bool { return r.State == Running && r.Boot == j.boot }

// Window is how long records are kept.
func (j *Journal) Window() time.Duration { return j.window }

// PruneInterval is how often RunPruning prunes: a tenth of the window, at
// most every 10 minutes, so that a record outlives its window by at most a
// tenth of it.
func (j *Journal) PruneInterval() time.Duration { return min(j.window/10, 10*time.Minute) }

// RunPruning prunes every PruneInterval until ctx ends. report, if not nil,
// gets every pass that deleted records or failed.
func (j *Journal) RunPruning(ctx context.Context, report func(pruned int, err error)) {
	t := time.NewTicker(j.PruneInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := j.Prune(); (err != nil || n > 0) && report != nil {
				report(n, err)
			}
		}
	}
}

// Prune deletes the records that may go (prunable) and returns how many.
func (j *Journal) Prune() (int, error) {
	cut := j.now().Add(-j.window)
	n := 0
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		for k, r := range j.mem {
			if j.prunable(r, cut) {
				delete(j.mem, k)
				delete(j.open, k)
				delete(j.calls, r.CallID)
				n++
			}
		}
		return n, nil
	}
	var gone []callapi.CallID
	err := j.db.Update(func(tx *bolt.Tx) error {
		b, calls, open := tx.Bucket(bucketKeys), tx.Bucket(bucketCalls), tx.Bucket(bucketOpen)
		var del [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var r Record
			err := json.Unmarshal(v, &r)
			if err != nil || j.prunable(&r, cut) {
				del = append(del, append([]byte(nil), k...))
				if err == nil && r.CallID != "" {
					gone = append(gone, r.CallID)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
			if err := open.Delete(k); err != nil {
				return err
			}
		}
		for _, id := range gone {
			if err := calls.Delete([]byte(id)); err != nil {
				return err
			}
		}
		n = len(del)
		return nil
	})
	if err == nil {
		j.mu.Lock()
		for _, id := range gone {
			delete(j.calls, id)
		}
		j.mu.Unlock()
	}
	return n, err
}

// prunable is the one rule of pruning, in memory and on disk: a record
// goes once its last update is older than cut (the window), unless this
// process is running its command. That one must stay, or a retry would
// find no record and run the command a second time, and its outcome would
// not be recorded. A record left running by an earlier process
// (interrupted) is as final as a done one: nothing runs it any more, a
// copy is answered from it and settles it (Settle), and it goes after the
// window like the others rather than staying for ever.
func (j *Journal) prunable(r *Record, cut time.Time) bool {
	return r.Updated.Before(cut) && !j.RunningHere(r)
}

// Retryable reports whether a failure may be transient and left nothing
// behind, so that it is not remembered under the key (the same rule as the
// bus's memory of command ids).
func Retryable(c callapi.Code) bool {
	switch c {
	case callapi.CodeNodeUnavailable, callapi.CodePBXError, callapi.CodeInternal, callapi.CodeOutcomeUnknown:
		return true
	}
	return false
}
