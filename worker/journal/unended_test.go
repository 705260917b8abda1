package journal

import (
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callgw/callgw/callapi"
)

// TestUnendedIndex: the walk after a start reads only the records whose
// call may still owe its end, not the window's whole history; a call's
// end recorded (Ended) or an originate that failed takes its record out;
// EndRecorded answers for one call. The same on disk after a reopen.
func TestUnendedIndex(t *testing.T) {
	inEachStore(t, func(t *testing.T, path string, durable bool) {
		j := open(t, path, "boot1")
		const history = 20
		for i := range history {
			c := cmdOf(fmt.Sprint("ended-", i))
			_, err := j.Begin(c)
			must(t, err)
			must(t, j.Finish(c, callapi.OKReply(c.ID, "pbx1", callapi.Call{ID: c.CallID})))
			must(t, j.Ended(c.CallID, callapi.Hangup{Cause: 16}))
		}
		up, failed := cmdOf("up"), cmdOf("failed")
		for _, c := range []*callapi.Command{up, failed} {
			_, err := j.Begin(c)
			must(t, err)
		}
		must(t, j.Finish(up, callapi.OKReply("up", "pbx1", callapi.Call{ID: up.CallID})))
		must(t, j.Finish(failed, callapi.ErrReply("failed", "pbx1", callapi.Errorf(callapi.CodeInvalidArgument, "bad endpoint"))))

		check := func(j *Journal) {
			t.Helper()
			j.walked = 0
			recs, err := j.Unended()
			must(t, err)
			if len(recs) != 1 || recs[0].CallID != up.CallID {
				t.Fatalf("Unended = %+v, want the call up only", recs)
			}
			if j.walked > 2 {
				t.Fatalf("Unended read %d records of a history of %d: its cost must follow the open calls", j.walked, history)
			}
			for id, want := range map[callapi.CallID]bool{up.CallID: false, failed.CallID: true, cmdOf("ended-7").CallID: true, "unknown": true} {
				if got, err := j.EndRecorded(id); err != nil || got != want {
					t.Errorf("EndRecorded(%s) = %v, %v; want %v", id, got, err, want)
				}
			}
		}
		check(j)
		if !durable {
			return
		}
		must(t, j.Close())
		j2 := open(t, path, "boot2")
		defer j2.Close()
		check(j2)
		must(t, j2.Ended(up.CallID, callapi.Hangup{Cause: 16}))
		if recs, err := j2.Unended(); err != nil || len(recs) != 0 {
			t.Fatalf("Unended after the end was recorded = %+v, %v", recs, err)
		}
	})
}

// TestUnendedIndexBuiltOnce: a journal written before the index existed
// gets it on Open, from its records.
func TestUnendedIndexBuiltOnce(t *testing.T) {
	path := t.TempDir() + "/pbx1.journal"
	j := open(t, path, "boot1")
	ended, up, interrupted := cmdOf("ended"), cmdOf("up"), cmdOf("interrupted")
	for _, c := range []*callapi.Command{ended, up, interrupted} {
		_, err := j.Begin(c)
		must(t, err)
	}
	for _, c := range []*callapi.Command{ended, up} {
		must(t, j.Finish(c, callapi.OKReply(c.ID, "pbx1", callapi.Call{ID: c.CallID})))
	}
	must(t, j.Ended(ended.CallID, callapi.Hangup{Cause: 16}))
	must(t, j.Close())
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketOpen) }))
	must(t, db.Close())

	j2 := open(t, path, "boot2")
	defer j2.Close()
	recs, err := j2.Unended()
	must(t, err)
	var got []string
	for _, r := range recs {
		got = append(got, r.CommandID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"interrupted", "up"}) {
		t.Fatalf("Unended after the index was built = %v", got)
	}
}
