package journal

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/callgw/callgw/callapi"
)

// Unended returns the records whose call has no recorded end: after a
// restart, those whose call is not up any more ended while no worker
// listened, and their call.hangup is still owed to subscribers. It reads
// the index of such records (bucketOpen), so its cost is that of the calls
// still open, not of the whole window's history.
func (j *Journal) Unended() ([]Record, error) {
	var out []Record
	if j.db == nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		for k := range j.open {
			j.walked++
			if r := j.mem[k]; r != nil && j.unended(r) {
				out = append(out, *r)
			}
		}
		return out, nil
	}
	err := j.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		return tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
			var r Record
			j.mu.Lock()
			j.walked++
			j.mu.Unlock()
			if v := b.Get(k); v != nil && json.Unmarshal(v, &r) == nil && j.unended(&r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// unended is the rule of Unended: a call was placed (or may have been:
// interrupted by the death of an earlier process) and no end was recorded.
func (j *Journal) unended(r *Record) bool {
	return r.CallID != "" && r.Hangup == nil && !j.RunningHere(r) && (r.State == Running || (r.Reply != nil && r.Reply.OK))
}

// EndRecorded reports whether the end of call id was recorded (Ended) —
// or id is no journaled call, or a call whose originate failed: no
// call.hangup is owed for it. The walk after a start asks it just before
// it publishes a lost hang-up, since a call's end may have been published
// since the walk read Unended.
func (j *Journal) EndRecorded(id callapi.CallID) (bool, error) {
	j.mu.Lock()
	k, ok := j.calls[id]
	if !ok {
		j.mu.Unlock()
		return true, nil
	}
	if j.db == nil {
		defer j.mu.Unlock()
		_, open := j.open[k]
		return !open, nil
	}
	j.mu.Unlock()
	open := false
	err := j.db.View(func(tx *bolt.Tx) error {
		open = tx.Bucket(bucketOpen).Get([]byte(k)) != nil
		return nil
	})
	return !open, err
}

// buildOpen fills bucketOpen from every record, once, for a journal
// written before the index existed.
func buildOpen(tx *bolt.Tx) error {
	open := tx.Bucket(bucketOpen)
	return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return nil // undecodable: pruned later
		}
		if r.CallID == "" || r.Hangup != nil || (r.State == Done && (r.Reply == nil || !r.Reply.OK)) {
			return nil
		}
		if err := open.Put(k, []byte(r.CallID)); err != nil {
			return fmt.Errorf("journal: index %q: %w", k, err)
		}
		return nil
	})
}
