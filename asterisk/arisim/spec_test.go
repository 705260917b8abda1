package arisim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/asterisk/arisim"
)

// ariSpec is Asterisk's Swagger 1.2 API description (../shared/ari-spec beside the repository).
type ariSpec struct {
	models map[string]specModel
	parent map[string]string // model → its base (from subTypes)
	ops    []specOp
}

type specModel struct {
	ID         string              `json:"id"`
	Properties map[string]specProp `json:"properties"`
	SubTypes   []string            `json:"subTypes"`
}

type specProp struct {
	Type            string `json:"type"`
	Required        bool   `json:"required"`
	AllowableValues *struct {
		ValueType string   `json:"valueType"`
		Values    []string `json:"values"`
	} `json:"allowableValues"`
}

type specOp struct {
	method, path  string
	re            *regexp.Regexp
	responseClass string
}

// specDir finds <repo root>/../shared/ari-spec; the package is <repo root>/asterisk/arisim.
func specDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "ari-spec"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ARI spec missing at %s (CI must provide shared/ beside the repository): %v", dir, err)
		}
		t.Skipf("ARI spec not found at %s", dir)
	}
	return dir
}

func loadSpec(t testing.TB) *ariSpec {
	t.Helper()
	dir := specDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no spec files in %s: %v", dir, err)
	}
	sp := &ariSpec{models: map[string]specModel{}, parent: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Apis []struct {
				Path       string `json:"path"`
				Operations []struct {
					HTTPMethod    string `json:"httpMethod"`
					ResponseClass string `json:"responseClass"`
				} `json:"operations"`
			} `json:"apis"`
			Models map[string]specModel `json:"models"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, m := range doc.Models {
			sp.models[name] = m
			for _, sub := range m.SubTypes {
				sp.parent[sub] = name
			}
		}
		for _, a := range doc.Apis {
			re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(a.Path), `[^/]+`) + "$")
			for _, op := range a.Operations {
				sp.ops = append(sp.ops, specOp{method: op.HTTPMethod, path: a.Path, re: re, responseClass: op.ResponseClass})
			}
		}
	}
	if len(sp.models) < 50 {
		t.Fatalf("only %d models loaded", len(sp.models))
	}
	return sp
}

// props returns a model's properties including those of its bases.
func (sp *ariSpec) props(model string) (map[string]specProp, bool) {
	m, ok := sp.models[model]
	if !ok {
		return nil, false
	}
	out := map[string]specProp{}
	for name := model; name != ""; name = sp.parent[name] {
		for k, v := range sp.models[name].Properties {
			if _, seen := out[k]; !seen {
				out[k] = v
			}
		}
	}
	_ = m
	return out, true
}

// validate checks v against typ ("Channel", "List[Bridge]", "int", "Date", …) and returns the problems.
func (sp *ariSpec) validate(path, typ string, v any) []string {
	if inner, ok := strings.CutPrefix(typ, "List["); ok {
		inner = strings.TrimSuffix(inner, "]")
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want %s, got %T", path, typ, v)}
		}
		var errs []string
		for i, e := range arr {
			errs = append(errs, sp.validate(fmt.Sprintf("%s[%d]", path, i), inner, e)...)
		}
		return errs
	}
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: want string, got %T", path, v)}
		}
	case "int", "long":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return []string{fmt.Sprintf("%s: want integer, got %v", path, v)}
		}
	case "double":
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: want number, got %T", path, v)}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: want boolean, got %T", path, v)}
		}
	case "Date":
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: want Date string, got %T", path, v)}
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000-0700", s); err != nil {
			return []string{fmt.Sprintf("%s: Date %q not in Asterisk's format", path, s)}
		}
	case "object", "containers", "binary", "void", "":
	default:
		props, ok := sp.props(typ)
		if !ok {
			return []string{fmt.Sprintf("%s: unknown model %s", path, typ)}
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want %s object, got %T", path, typ, v)}
		}
		var errs []string
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := props[k]
			val, present := obj[k]
			if !present {
				if p.Required {
					errs = append(errs, fmt.Sprintf("%s: required field %s.%s missing", path, typ, k))
				}
				continue
			}
			errs = append(errs, sp.validate(path+"."+k, p.Type, val)...)
			if p.AllowableValues != nil && p.AllowableValues.ValueType == "LIST" {
				if s, ok := val.(string); ok && !contains(p.AllowableValues.Values, s) {
					errs = append(errs, fmt.Sprintf("%s.%s: %q not among %v", path, k, s, p.AllowableValues.Values))
				}
			}
		}
		return errs
	}
	return nil
}

// validateEvent checks one emitted event against the model named by its type.
func (sp *ariSpec) validateEvent(raw []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return []string{err.Error()}
	}
	typ, _ := m["type"].(string)
	if _, ok := sp.models[typ]; !ok {
		return []string{fmt.Sprintf("event type %q is not in events.json", typ)}
	}
	return sp.validate(typ, typ, m)
}

// capture records every REST answer of the simulator.
type capture struct {
	mu   sync.Mutex
	resp []captured
}

type captured struct {
	method, path string
	status       int
	body         []byte
}

type recWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *recWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }
func (w *recWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}
func (w *recWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (c *capture) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			h.ServeHTTP(w, r)
			return
		}
		rw := &recWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(rw, r)
		c.mu.Lock()
		c.resp = append(c.resp, captured{method: r.Method, path: strings.TrimPrefix(r.URL.Path, "/ari"), status: rw.status, body: rw.buf.Bytes()})
		c.mu.Unlock()
	})
}

// TestSpecConformance runs a workload touching every resource and event the simulator produces and
// validates each REST answer and each event against Asterisk's models (required fields, types,
// allowed values), and every error body against {"message": string}.
func TestSpecConformance(t *testing.T) {
	sp := loadSpec(t)
	cp := &capture{}
	srv := arisim.New(arisim.Config{User: "u", Password: "p", PlaybackDuration: 20 * time.Millisecond, DialplanStep: 20 * time.Millisecond, DTMFInterval: 10 * time.Millisecond, Log: zaptest.NewLogger(t)})
	ts := httptest.NewServer(cp.wrap(srv.Handler()))
	tr := &http.Transport{}
	t.Cleanup(func() { srv.Close(); ts.Close(); tr.CloseIdleConnections() })
	tg := &target{url: ts.URL + "/ari", user: "u", pass: "p", app: "spec", sim: srv, client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	ev := tg.listen(t, "spec", true)
	exercise(t, tg, ev)
	// Last: a second connection for the app replaces the first (ApplicationReplaced).
	tg.listen(t, "spec", true)
	ev.wait(t, "ApplicationReplaced", nil, 3*time.Second)

	ev.mu.Lock()
	raws := append([][]byte(nil), ev.raw...)
	ev.mu.Unlock()
	seen := map[string]int{}
	for _, raw := range raws {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		seen[fmt.Sprint(m["type"])]++
		for _, e := range sp.validateEvent(raw) {
			t.Errorf("event: %s\n  %s", e, raw)
		}
	}
	for _, want := range []string{"StasisStart", "StasisEnd", "ChannelCreated", "ChannelDestroyed", "ChannelStateChange", "ChannelDialplan",
		"ChannelVarset", "ChannelHangupRequest", "Dial", "ChannelDtmfReceived", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeCreated",
		"BridgeDestroyed", "PlaybackStarted", "PlaybackContinuing", "PlaybackFinished", "RecordingStarted", "RecordingFinished",
		"DeviceStateChanged", "ChannelUserevent", "ApplicationMoveFailed", "ApplicationReplaced"} {
		if seen[want] == 0 {
			t.Errorf("workload produced no %s event (seen %v)", want, seen)
		}
	}

	cp.mu.Lock()
	resps := append([]captured(nil), cp.resp...)
	cp.mu.Unlock()
	checked := 0
	for _, r := range resps {
		if r.status >= 400 {
			var m map[string]any
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Errorf("%s %s -> %d: error body not JSON: %s", r.method, r.path, r.status, r.body)
			} else if _, ok := m["message"].(string); !ok || len(m) != 1 {
				t.Errorf("%s %s -> %d: error body %s, want {\"message\": …}", r.method, r.path, r.status, r.body)
			}
			continue
		}
		op := sp.match(r.method, r.path)
		if op == nil {
			t.Errorf("%s %s is not an operation of the spec", r.method, r.path)
			continue
		}
		switch op.responseClass {
		case "void":
			if r.status != 204 {
				t.Errorf("%s %s -> %d, want 204 (void)", r.method, r.path, r.status)
			}
			continue
		case "binary":
			continue
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s %s: body not JSON: %v", r.method, r.path, err)
			continue
		}
		checked++
		for _, e := range sp.validate(r.method+" "+op.path, op.responseClass, v) {
			t.Errorf("%s", e)
		}
	}
	if checked < 20 {
		t.Errorf("only %d REST answers validated", checked)
	}
	t.Logf("validated %d events (%d types) and %d REST answers", len(raws), len(seen), checked)
}

func (sp *ariSpec) match(method, path string) *specOp {
	var best *specOp
	for i := range sp.ops {
		op := &sp.ops[i]
		if op.method != method || !op.re.MatchString(path) {
			continue
		}
		// Prefer literal paths (/channels/create) over templates (/channels/{channelId}).
		if best == nil || strings.Count(op.path, "{") < strings.Count(best.path, "{") {
			best = op
		}
	}
	return best
}

// TestSpecDetectsMissingField proves the validator fails when a required field is removed from an
// emitted model, at top level and nested.
func TestSpecDetectsMissingField(t *testing.T) {
	sp := loadSpec(t)
	tg := newSim(t, arisim.Config{})
	ev := tg.listen(t, tg.app, false)
	id := tg.originate(t, ev, tg.app, "answer")
	tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	ev.wait(t, "ChannelDestroyed", isChan(id), 3*time.Second)
	var raw []byte
	ev.mu.Lock()
	for i, m := range ev.all {
		if m["type"] == "ChannelDestroyed" {
			raw = ev.raw[i]
			break
		}
	}
	ev.mu.Unlock()
	if errs := sp.validateEvent(raw); len(errs) != 0 {
		t.Fatalf("valid event rejected: %v", errs)
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"cause_txt", func(m map[string]any) { delete(m, "cause_txt") }},
		{"timestamp", func(m map[string]any) { delete(m, "timestamp") }},
		{"application", func(m map[string]any) { delete(m, "application") }},
		{"channel.language", func(m map[string]any) { delete(m["channel"].(map[string]any), "language") }},
		{"channel.dialplan.app_name", func(m map[string]any) {
			delete(m["channel"].(map[string]any)["dialplan"].(map[string]any), "app_name")
		}},
		{"cause as string", func(m map[string]any) { m["cause"] = "16" }},
		{"bad state", func(m map[string]any) { m["channel"].(map[string]any)["state"] = "Answered" }},
		{"bad timestamp", func(m map[string]any) { m["timestamp"] = time.Now().Format(time.RFC3339) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			tc.mutate(m)
			b, _ := json.Marshal(m)
			if errs := sp.validateEvent(b); len(errs) == 0 {
				t.Fatalf("mutation %s not detected", tc.name)
			}
		})
	}
}

// exercise drives the simulator through every resource so that the spec test sees every model.
func exercise(t *testing.T, tg *target, ev *events) {
	t.Helper()
	app := tg.app
	tg.sim.AddEndpoint("alice", arisim.Endpoint{SendDTMF: "5"})
	tg.sim.AddEndpoint("bob", arisim.Endpoint{Outcome: "busy"})
	for _, p := range []string{"/asterisk/info", "/asterisk/ping", "/applications", "/applications/" + app, "/endpoints", "/endpoints/PJSIP", "/endpoints/PJSIP/alice", "/deviceStates", "/recordings/stored", "/bridges", "/channels"} {
		tg.mustDo(t, 200, "GET", p, nil, nil)
	}
	tg.mustDo(t, 204, "POST", "/asterisk/variable", url.Values{"variable": {"G"}, "value": {"1"}}, nil)
	tg.mustDo(t, 200, "GET", "/asterisk/variable", url.Values{"variable": {"G"}}, nil)
	a := tg.originate(t, ev, app, "answer")
	b := tg.originate(t, ev, app, "dtmf")
	ev.wait(t, "ChannelDtmfReceived", isChan(b), 3*time.Second)
	tg.mustDo(t, 200, "POST", "/applications/"+app+"/subscription", url.Values{"eventSource": {"channel:" + a}}, nil)
	tg.mustDo(t, 200, "GET", "/channels/"+a, nil, nil)
	tg.mustDo(t, 204, "POST", "/channels/"+a+"/variable", url.Values{"variable": {"V"}, "value": {"x"}}, nil)
	tg.mustDo(t, 200, "GET", "/channels/"+a+"/variable", url.Values{"variable": {"V"}}, nil)
	for _, op := range []string{"hold", "mute", "moh", "silence", "ring"} {
		tg.mustDo(t, 204, "POST", "/channels/"+a+"/"+op, nil, nil)
		tg.mustDo(t, 204, "DELETE", "/channels/"+a+"/"+op, nil, nil)
	}
	tg.mustDo(t, 204, "POST", "/channels/"+a+"/answer", nil, nil)
	tg.mustDo(t, 204, "POST", "/channels/"+a+"/dtmf", url.Values{"dtmf": {"1"}}, nil)
	tg.mustDo(t, 201, "POST", "/channels/"+a+"/play/pb1", url.Values{"media": {"sound:a,sound:b"}}, nil)
	tg.mustDo(t, 200, "GET", "/playbacks/pb1", nil, nil)
	ev.wait(t, "PlaybackStarted", nil, 3*time.Second)
	tg.mustDo(t, 204, "POST", "/playbacks/pb1/control", url.Values{"operation": {"restart"}}, nil)
	ev.wait(t, "PlaybackFinished", nil, 3*time.Second)
	tg.mustDo(t, 201, "POST", "/channels/"+a+"/record", url.Values{"name": {"r1"}, "format": {"wav"}}, nil)
	ev.wait(t, "RecordingStarted", nil, 3*time.Second)
	tg.mustDo(t, 200, "GET", "/recordings/live/r1", nil, nil)
	tg.mustDo(t, 204, "POST", "/recordings/live/r1/stop", nil, nil)
	ev.wait(t, "RecordingFinished", nil, 3*time.Second)
	tg.mustDo(t, 200, "GET", "/recordings/stored/r1", nil, nil)
	tg.mustDo(t, 200, "POST", "/recordings/stored/r1/copy", url.Values{"destinationRecordingName": {"r2"}}, nil)
	tg.mustDo(t, 204, "DELETE", "/recordings/stored/r2", nil, nil)
	tg.mustDo(t, 200, "POST", "/bridges/br1", url.Values{"type": {"mixing"}, "name": {"n"}}, nil)
	tg.mustDo(t, 200, "POST", "/bridges", url.Values{"type": {"holding"}}, nil)
	tg.mustDo(t, 204, "POST", "/bridges/br1/addChannel", url.Values{"channel": {a + "," + b}}, nil)
	tg.mustDo(t, 200, "GET", "/bridges/br1", nil, nil)
	tg.mustDo(t, 201, "POST", "/bridges/br1/play", url.Values{"media": {"sound:c"}}, nil)
	tg.mustDo(t, 204, "POST", "/bridges/br1/removeChannel", url.Values{"channel": {b}}, nil)
	tg.mustDo(t, 204, "DELETE", "/bridges/br1", nil, nil)
	tg.mustDo(t, 200, "POST", "/channels/"+a+"/snoop", url.Values{"spy": {"in"}, "app": {app}}, nil)
	tg.mustDo(t, 204, "PUT", "/deviceStates/Stasis:d1", url.Values{"deviceState": {"BUSY"}}, nil)
	tg.mustDo(t, 200, "GET", "/deviceStates/Stasis:d1", nil, nil)
	tg.mustDo(t, 204, "POST", "/events/user/ev1", url.Values{"application": {app}, "source": {"channel:" + a}}, map[string]any{"variables": map[string]string{"k": "v"}})
	// PJSIP endpoint, busy endpoint, inbound call, far-end hangup, ring timeout, create.
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"PJSIP/alice"}, "app": {app}, "channelId": {"pj1"}}, nil)
	ev.wait(t, "ChannelDtmfReceived", isChan("pj1"), 3*time.Second)
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"PJSIP/bob"}, "app": {app}}, nil)
	in, err := tg.sim.InboundCallApp(app, "carol", "5551000")
	if err != nil {
		t.Fatal(err)
	}
	tg.mustDo(t, 204, "POST", "/channels/"+in+"/answer", nil, nil)
	tg.sim.HangupChannel(in, 16)
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/ring@callgw-test"}, "app": {app}, "timeout": {"1"}}, nil)
	tg.mustDo(t, 200, "POST", "/channels/create", url.Values{"endpoint": {"Local/answer@callgw-test"}, "app": {app}, "channelId": {"cr1"}}, nil)
	ev.wait(t, "StasisStart", isChan("cr1"), 3*time.Second)
	tg.mustDo(t, 204, "POST", "/channels/cr1/dial", nil, nil)
	ev.wait(t, "Dial", func(m map[string]any) bool { return chanID(m) == "cr1" && m["dialstatus"] == "ANSWER" }, 3*time.Second)
	for _, id := range []string{a, b, "pj1", "cr1"} {
		tg.mustDo(t, 204, "DELETE", "/channels/"+id, nil, nil)
	}
	ev.wait(t, "ChannelDestroyed", isChan("cr1"), 3*time.Second)
	ev.wait(t, "ChannelDestroyed", func(m map[string]any) bool { return m["cause"] == float64(19) }, 3*time.Second)
	// Move to an app nobody serves: ApplicationMoveFailed.
	c := tg.originate(t, ev, app, "answer")
	tg.mustDo(t, 204, "POST", "/channels/"+c+"/move", url.Values{"app": {"nobody"}}, nil)
	ev.wait(t, "ApplicationMoveFailed", isChan(c), 3*time.Second)
	tg.mustDo(t, 204, "DELETE", "/channels/"+c, nil, nil)
	ev.wait(t, "ChannelDestroyed", isChan(c), 3*time.Second)
	// A few errors, whose bodies must be {"message": …}.
	tg.do(t, "GET", "/channels/none", nil, nil)
	tg.do(t, "POST", "/channels", nil, nil)
	tg.do(t, "GET", "/playbacks/none", nil, nil)
	tg.do(t, "POST", "/bridges/none/addChannel", url.Values{"channel": {"x"}}, nil)
}
