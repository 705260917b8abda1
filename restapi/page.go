package restapi

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
)

// Listings paginate with an opaque cursor: the position (creation time,
// id) of the last call of a page. Pages are cut from the sorted listing
// the nodes return, so a page is consistent with itself; calls created or
// ended between two pages may be missed or shifted, as with any cursor
// over live data.

const maxPageSize = 1000

// page is the limit and cursor of a listing request.
type page struct {
	limit int // 0: everything
	after struct {
		t  time.Time
		id callapi.CallID
	}
	hasCursor bool
}

func pageOf(q url.Values) (page, error) {
	var p page
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return p, callapi.Invalid("limit", "%q: want 1 to %d", v, maxPageSize)
		}
		p.limit = n
	}
	if v := q.Get("cursor"); q.Has("cursor") {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		ns, id, ok := strings.Cut(string(raw), "|")
		n, perr := strconv.ParseInt(ns, 10, 64)
		if err != nil || !ok || perr != nil || !callapi.ValidID(id) {
			return p, callapi.Invalid("cursor", "not a cursor of this API: pass next_cursor as it came")
		}
		p.after.t, p.after.id, p.hasCursor = time.Unix(0, n), callapi.CallID(id), true
	}
	return p, nil
}

func cursorOf(c *callapi.Call) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "|" + string(c.ID)))
}

func before(a *callapi.Call, t time.Time, id callapi.CallID) bool {
	return a.CreatedAt.Before(t) || (a.CreatedAt.Equal(t) && a.ID < id)
}

// apply sorts calls by (creation time, id) and returns the page after the
// cursor, and the cursor of the next page ("" on the last).
func (p page) apply(calls []*callapi.Call) ([]*callapi.Call, string) {
	if p.limit == 0 && !p.hasCursor {
		return calls, ""
	}
	sort.SliceStable(calls, func(i, j int) bool { return before(calls[i], calls[j].CreatedAt, calls[j].ID) })
	if p.hasCursor {
		i := sort.Search(len(calls), func(i int) bool {
			c := calls[i]
			return !before(c, p.after.t, p.after.id) && !(c.CreatedAt.Equal(p.after.t) && c.ID == p.after.id)
		})
		calls = calls[i:]
	}
	if p.limit == 0 || len(calls) <= p.limit {
		return calls, ""
	}
	return calls[:p.limit], cursorOf(calls[p.limit-1])
}
