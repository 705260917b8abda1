package arisim_test

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestReplayRecordings replays the scenarios of ../shared/ari-recordings (as shared/tools/ariprobe
// drives them) against the simulator and compares, per scenario, the REST statuses in order and
// the event sequence (type, channel, peer, dialstatus, cause, digit, variable) with what the real
// Asterisk 22.10.1 produced. It is transcmp.py as a regression test.
func TestReplayRecordings(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "ari-recordings"))
	if _, err := os.Stat(filepath.Join(dir, "busy.txt")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("recordings missing at %s: %v", dir, err)
		}
		t.Skipf("recordings not found at %s", dir)
	}
	tg := newSim(t, arisim.Config{DialplanStep: 500 * time.Millisecond, DTMFInterval: 350 * time.Millisecond, PlaybackDuration: 200 * time.Millisecond})
	const app = "callgwprobe"
	ev := tg.listen(t, app, false)
	names := map[string]string{}
	for _, sc := range []struct {
		name string
		run  func(r *replay)
	}{
		{"answer-lifecycle", func(r *replay) {
			a := "probe-A"
			r.originate(a, "answer", nil)
			r.waitFor("StasisStart", a)
			r.call("GET", "/channels/"+a, nil)
			r.call("POST", "/channels/"+a+"/answer", nil)
			r.call("POST", "/channels/"+a+"/variable", url.Values{"variable": {"PROBEVAR"}, "value": {"42"}})
			r.call("GET", "/channels/"+a+"/variable", url.Values{"variable": {"PROBEVAR"}})
			r.call("POST", "/channels/"+a+"/hold", nil)
			r.call("DELETE", "/channels/"+a+"/hold", nil)
			r.call("POST", "/channels/"+a+"/mute", url.Values{"direction": {"both"}})
			r.call("DELETE", "/channels/"+a+"/mute", url.Values{"direction": {"both"}})
			r.call("POST", "/channels/"+a+"/dtmf", url.Values{"dtmf": {"12"}})
			r.call("POST", "/channels/"+a+"/play/probe-P1", url.Values{"media": {"tone:ring;tonezone=us"}})
			r.waitFor("PlaybackStarted", "")
			r.call("GET", "/playbacks/probe-P1", nil)
			r.call("DELETE", "/playbacks/probe-P1", nil)
			r.waitFor("PlaybackFinished", "")
			r.call("POST", "/channels/"+a+"/record", url.Values{"name": {"probe-rec1"}, "format": {"wav"}, "maxDurationSeconds": {"1"}, "ifExists": {"overwrite"}})
			r.waitFor("RecordingStarted", "")
			r.call("GET", "/recordings/stored/probe-rec1", nil)
			r.call("DELETE", "/recordings/stored/probe-rec1", nil)
			r.call("POST", "/channels/"+a+"/moh", nil)
			r.call("DELETE", "/channels/"+a+"/moh", nil)
			r.call("POST", "/channels/"+a+"/ring", nil)
			r.call("DELETE", "/channels/"+a+"/ring", nil)
			r.call("DELETE", "/channels/"+a, url.Values{"reason": {"normal"}})
			r.waitFor("ChannelDestroyed", a+";2")
			r.call("GET", "/channels/"+a, nil)
		}},
		{"bridge", func(r *replay) {
			a, b := "probe-BA", "probe-BB"
			r.originate(a, "answer", nil)
			r.waitFor("StasisStart", a)
			r.originate(b, "echo", nil)
			r.waitFor("StasisStart", b)
			r.call("POST", "/bridges/probe-BR", url.Values{"type": {"mixing"}, "name": {"probe"}})
			r.call("POST", "/bridges/probe-BR/addChannel", url.Values{"channel": {a + "," + b}})
			r.call("GET", "/bridges/probe-BR", nil)
			time.Sleep(400 * time.Millisecond)
			r.call("POST", "/bridges/probe-BR/removeChannel", url.Values{"channel": {b}})
			r.waitForN("ChannelDialplan", a+";2", 2) // Wait() follows Answer() ~500 ms after the originate
			r.waitForN("ChannelDialplan", b+";2", 2) // Echo() likewise
			r.call("DELETE", "/bridges/probe-BR", nil)
			r.waitFor("ChannelLeftBridge", a)
			r.call("DELETE", "/channels/"+a, nil)
			r.call("DELETE", "/channels/"+b, nil)
			r.waitFor("ChannelDestroyed", b+";2")
		}},
		{"dtmf-in", func(r *replay) {
			a := "probe-D"
			r.originate(a, "dtmf", nil)
			r.waitFor("StasisStart", a)
			r.waitForN("ChannelDialplan", a+";2", 3) // Answer, SendDTMF, then Wait once the digits are out
			r.call("DELETE", "/channels/"+a, nil)
			r.waitFor("ChannelDestroyed", a+";2")
		}},
		{"busy", func(r *replay) {
			r.originate("probe-Busy", "busy", nil)
			r.waitFor("ChannelDestroyed", "probe-Busy;2")
			r.call("GET", "/channels/probe-Busy", nil)
		}},
		{"ring-timeout", func(r *replay) {
			r.originate("probe-Ring", "ring", url.Values{"timeout": {"1"}})
			r.waitFor("Dial", "")
			r.waitForN("Dial", "", 2)
			r.call("GET", "/channels/probe-Ring", nil)
			r.waitFor("ChannelDestroyed", "probe-Ring")
			r.call("GET", "/channels/probe-Ring", nil)
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			refRest, refEv := parseRecording(t, filepath.Join(dir, sc.name+".txt"))
			start := len(ev.snapshot())
			r := &replay{t: t, tg: tg, ev: ev, app: app, from: start}
			sc.run(r)
			time.Sleep(100 * time.Millisecond)
			var got []string
			for _, m := range ev.snapshot()[start:] {
				got = append(got, signature(m, names))
			}
			if strings.Join(r.rest, "\n") != strings.Join(refRest, "\n") {
				t.Errorf("REST statuses differ:\n got %v\nwant %v", r.rest, refRest)
			}
			if ratio := similarity(refEv, got); ratio < 0.95 {
				t.Errorf("event sequence similarity %.2f < 0.95\n got %s\nwant %s", ratio, strings.Join(got, "\n     "), strings.Join(refEv, "\n     "))
			} else {
				t.Logf("event sequence similarity %.2f (%d real, %d sim)", ratio, len(refEv), len(got))
			}
		})
	}
}

type replay struct {
	t    *testing.T
	tg   *target
	ev   *events
	app  string
	from int
	rest []string
}

func (r *replay) call(method, path string, q url.Values) {
	st, _ := r.tg.do(r.t, method, path, q, nil)
	r.rest = append(r.rest, fmt.Sprintf("%s %s -> %d", method, shortPath(path), st))
}

func (r *replay) originate(id, ext string, extra url.Values) {
	q := url.Values{"endpoint": {"Local/" + ext + "@callgw-test"}, "app": {r.app}, "channelId": {id}}
	for k, v := range extra {
		q[k] = v
	}
	r.call("POST", "/channels", q)
}

func (r *replay) waitFor(typ, ch string) { r.waitForN(typ, ch, 1) }

// waitForN waits for the n-th event of typ (about channel ch, if set) since the scenario began.
func (r *replay) waitForN(typ, ch string, n int) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		k := 0
		for _, m := range r.ev.snapshot()[r.from:] {
			if m["type"] == typ && (ch == "" || chanID(m) == ch) {
				k++
			}
		}
		if k >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("no %s for %q", typ, ch)
}

func (e *events) snapshot() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]map[string]any(nil), e.all...)
}

// shortPath names channel and bridge ids as ariprobe does (probe-A → A); playback and recording
// names keep their prefix.
func shortPath(p string) string { return reNamed.ReplaceAllString(p, "$1") }

var reNamed = regexp.MustCompile(`probe-(A|BA|BB|BR|D|Busy|Ring)\b`)

var (
	reRest = regexp.MustCompile(`^  (\w+) (\S+) -> (\d+)`)
	reEv   = regexp.MustCompile(`^    ev (\S+)(.*)$`)
	reKV   = regexp.MustCompile(`(ch|peer|dialstatus|cause|digit|variable)=(\S+)`)
)

// parseRecording reads a recording: "METHOD path -> status" lines and event signatures.
func parseRecording(t *testing.T, path string) (rest, evs []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := reRest.FindStringSubmatch(line); m != nil {
			rest = append(rest, fmt.Sprintf("%s %s -> %s", m[1], m[2], m[3]))
			continue
		}
		if m := reEv.FindStringSubmatch(line); m != nil {
			sig := []string{m[1]}
			for _, kv := range reKV.FindAllStringSubmatch(m[2], -1) {
				sig = append(sig, kv[1]+"="+kv[2])
			}
			evs = append(evs, strings.Join(sig, " "))
		}
	}
	return rest, evs
}

// signature renders an event as parseRecording does (ids shortened like ariprobe).
func signature(m map[string]any, _ map[string]string) string {
	sig := []string{fmt.Sprint(m["type"])}
	if c, ok := m["channel"].(map[string]any); ok {
		sig = append(sig, "ch="+shortPath(fmt.Sprint(c["id"])))
	}
	if c, ok := m["peer"].(map[string]any); ok {
		sig = append(sig, "peer="+shortPath(fmt.Sprint(c["id"])))
	}
	for _, k := range []string{"dialstatus", "cause", "digit", "variable"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		s := fmt.Sprint(v)
		if s != "" {
			sig = append(sig, k+"="+s)
		}
	}
	return strings.Join(sig, " ")
}

// similarity is 2·LCS/(len a + len b), difflib's ratio without junk heuristics.
func similarity(a, b []string) float64 {
	if len(a)+len(b) == 0 {
		return 1
	}
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return 2 * float64(dp[0][0]) / float64(len(a)+len(b))
}
