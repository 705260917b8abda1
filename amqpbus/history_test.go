package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// historyTestConfig is the small retention every test stream gets.
var historyTestConfig = HistoryConfig{MaxAge: 10 * time.Minute, MaxBytes: 1 << 20, SegmentBytes: 256 << 10, Prefetch: 16}

// ensureTestHistory declares tenants' history streams on b and deletes
// them at the end of the test.
func (e *env) ensureTestHistory(b *Bus, tenants ...string) {
	e.t.Helper()
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeleteHistory(ctx, brokerURL(), e.prefix, tenants...); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	})
	for _, tn := range tenants {
		if err := b.EnsureHistory(ctxFor(e.t, 10*time.Second), tn); err != nil {
			e.t.Fatal(err)
		}
	}
}

type histRead struct {
	off int64
	e   *callapi.Event
}

// readAll reads tenant's history from from until n events came (or 5 s).
func readAll(t *testing.T, b *Bus, tenant string, from HistoryFrom, n int) []histRead {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []histRead
	err := b.ReadHistory(ctx, tenant, from, nil, func(off int64, e *callapi.Event) error {
		got = append(got, histRead{off, e})
		if len(got) == n {
			return ErrStopHistory
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadHistory: %v", err)
	}
	return got
}

// TestHistoryStreams: the broker writes each tenant's events once into
// the tenant's own stream (not another tenant's, not the tag copies), with
// the node events; a reader starts at an offset, at a time or at the
// first event, and offsets are consecutive.
func TestHistoryStreams(t *testing.T) {
	e := newEnv(t)
	b := e.bus("gateway", func(c *Config) { c.History = historyTestConfig })
	e.ensureTestHistory(b, "acme", "beta")
	ctx := ctxFor(t, 10*time.Second)
	start := time.Now()
	var acme []*callapi.Event
	for i := range 6 {
		ev := &callapi.Event{ID: newID(), Type: callapi.EvCallAnswered, Time: time.Now(), Node: "pbx1", Tenant: "acme",
			CallID: callapi.CallID("c" + string(rune('a'+i))), Tags: []string{"t1", "t2"}}
		if i == 3 {
			ev = &callapi.Event{ID: newID(), Type: callapi.EvNodeUp, Time: time.Now(), Node: "pbx1"}
		}
		acme = append(acme, ev)
		other := &callapi.Event{ID: newID(), Type: callapi.EvCallAnswered, Time: time.Now(), Node: "pbx1", Tenant: "beta", CallID: "b1"}
		for _, x := range []*callapi.Event{ev, other} {
			if err := b.PublishEvent(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := readAll(t, b, "acme", HistoryFrom{Position: PosFirst}, len(acme))
	for i, g := range got {
		if g.e.ID != acme[i].ID {
			t.Errorf("acme's history[%d] = %s %s, want %s", i, g.e.Type, g.e.ID, acme[i].ID)
		}
		if i > 0 && g.off != got[i-1].off+1 {
			t.Errorf("offsets %d then %d", got[i-1].off, g.off)
		}
	}
	// Nothing more: no tag copy, no other tenant's event (the beta stream
	// has its own 6 + the node event).
	ctx2, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	extra := 0
	_ = b.ReadHistory(ctx2, "acme", HistoryFrom{Position: PosOffset, Offset: got[len(got)-1].off + 1}, nil, func(int64, *callapi.Event) error {
		extra++
		return nil
	})
	if extra != 0 {
		t.Errorf("%d more events in acme's history than acme's and the node's", extra)
	}
	beta := readAll(t, b, "beta", HistoryFrom{Position: PosFirst}, 7)
	for _, g := range beta {
		if g.e.Tenant != "beta" && g.e.Tenant != "" {
			t.Errorf("beta's history holds %s's event", g.e.Tenant)
		}
	}

	from := readAll(t, b, "acme", HistoryFrom{Position: PosOffset, Offset: got[2].off}, 3)
	if from[0].off != got[2].off || from[0].e.ID != acme[2].ID || from[2].e.ID != acme[4].ID {
		t.Errorf("read from offset %d: first %d %s", got[2].off, from[0].off, from[0].e.ID)
	}
	byTime := readAll(t, b, "acme", HistoryFrom{Position: PosTime, Time: start.Add(-time.Second)}, 1)
	if byTime[0].e.ID != acme[0].ID {
		t.Errorf("read from a time before the first: %s", byTime[0].e.ID)
	}

	// A second EnsureHistory with other retention (another gateway's
	// config) uses the stream as it is.
	b2 := e.bus("gateway2", func(c *Config) { c.History = HistoryConfig{MaxAge: time.Hour, MaxBytes: 2 << 20} })
	if err := b2.EnsureHistory(ctx, "acme"); err != nil {
		t.Fatalf("EnsureHistory with other arguments: %v", err)
	}
	if err := b.EnsureHistory(ctx, "bad tenant!"); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("EnsureHistory of an invalid tenant: %v", err)
	}
	stop := errors.New("stop")
	if err := b.ReadHistory(ctx, "acme", HistoryFrom{Position: PosFirst}, nil, func(int64, *callapi.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ReadHistory returns the callback's error: %v", err)
	}
}

func TestMaxAgeArg(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{24 * time.Hour, "1D"}, {90 * time.Minute, "90m"}, {2 * time.Hour, "2h"}, {1500 * time.Millisecond, "2s"}, {time.Minute, "1m"}} {
		if got := maxAgeArg(c.d); got != c.want {
			t.Errorf("maxAgeArg(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestHistoryRetention: past x-max-length-bytes the broker drops the
// oldest segments, and a reader asking for a dropped offset starts at the
// first kept one (what the gateway reports as resume_gap).
func TestHistoryRetention(t *testing.T) {
	e := newEnv(t)
	b := e.bus("gateway", func(c *Config) {
		c.History = HistoryConfig{MaxAge: 10 * time.Minute, MaxBytes: 16 << 10, SegmentBytes: 4 << 10, Prefetch: 64}
	})
	e.ensureTestHistory(b, "acme")
	ctx := ctxFor(t, 20*time.Second)
	pad := strings.Repeat("x", 400)
	for i := range 200 {
		ev := &callapi.Event{ID: newID(), Type: callapi.EvCallAnswered, Time: time.Now(), Node: "pbx1", Tenant: "acme",
			CallID: callapi.CallID(fmt.Sprintf("c%d-%s", i, pad[:40])), ARI: json.RawMessage(`{"pad":"` + pad + `"}`)}
		if err := b.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var first int64 = -1
	testenv.WaitFor(t, "retention to drop the oldest segments", 10*time.Second, func() bool {
		got := readAll(t, b, "acme", HistoryFrom{Position: PosOffset, Offset: 0}, 1)
		first = got[0].off
		return first > 0
	})
	last := readAll(t, b, "acme", HistoryFrom{Position: PosLast}, 1)
	t.Logf("200 events of ~1 KB in a 16 KiB stream: offsets %d.. kept (last chunk from %d)", first, last[0].off)
}
