// Package deploy holds the deployment files (Asterisk, systemd, Prometheus,
// Grafana, RabbitMQ, Docker); its tests check them with the tools that
// load them.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/internal/testenv"
)

func run(t *testing.T, timeout time.Duration, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return out.String()
}

// TestAlertRules: promtool (Debian package prometheus) accepts the rules
// and the example scrape configuration.
// The metrics they name are checked against a running process by
// cmd/callgw TestDevOpsMetrics.
func TestAlertRules(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool")
	out := run(t, time.Minute, ".", promtool, "check", "rules", "prometheus/callgw-alerts.yml")
	t.Log(out)
	t.Log(run(t, time.Minute, "prometheus", promtool, "check", "config", "prometheus.example.yml"))
}

// runbookBase is where every alert's runbook_url points: a section of
// docs/runbooks.md, whose anchor is the alert's name in lower case.
const runbookBase = "https://github.com/callgw/callgw/blob/main/docs/runbooks.md#"

// TestAlertRulesFire: `promtool test rules` makes every alert fire from
// series in callgw-alerts.test.yml (an alert without a firing test there
// fails), and every alert links its own section of docs/runbooks.md.
func TestAlertRulesFire(t *testing.T) {
	rules, err := os.ReadFile("prometheus/callgw-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("prometheus/callgw-alerts.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)\n((?:\s{8,}.*\n)*)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 15 {
		t.Fatalf("%d alerts found", len(alerts))
	}
	for _, a := range alerts {
		name, body := a[1], a[2]
		fires := regexp.MustCompile(`alertname: ` + name + `\n\s+exp_alerts:\n\s+- exp_labels:`)
		if !fires.Match(tests) {
			t.Errorf("%s: no test in callgw-alerts.test.yml expects it to fire", name)
		}
		if want := `runbook_url: "` + runbookBase + strings.ToLower(name) + `"`; !strings.Contains(body, want) {
			t.Errorf("%s: no %s", name, want)
		}
		if !regexp.MustCompile(`(?m)^## ` + name + `$`).Match(runbooks) {
			t.Errorf("%s: docs/runbooks.md has no section \"## %s\"", name, name)
		}
	}
	promtool := testenv.NeedTool(t, "promtool")
	t.Log(run(t, time.Minute, "prometheus", promtool, "test", "rules", "callgw-alerts.test.yml"))
}

// TestDashboard: the Grafana dashboard is JSON Grafana imports: unique
// panel ids, a Prometheus query in every target, each following a
// variable it defines. Node metrics are shown by node (never by instance:
// one worker per node, but a node's worker moves between hosts), and the
// dashboard shows node state, ARI connectivity and queue depths.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/callgw-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if d.UID == "" || d.Title == "" || !vars["datasource"] || !vars["node"] || !vars["instance"] || !vars["vhost"] {
		t.Fatalf("uid %q title %q variables %v", d.UID, d.Title, vars)
	}
	nodeMetric := regexp.MustCompile(`callgw_(ari|worker|calls|node)_`)
	ids := map[int]bool{}
	shown := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: duplicate id, no title or no query", p.ID, p.Title)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			e := tg.Expr
			for _, m := range []string{"callgw_node_state", "callgw_ari_connected", "rabbitmq_detailed_queue_messages"} {
				shown[m] = shown[m] || strings.Contains(e, m)
			}
			switch {
			case e == "":
				t.Errorf("panel %q: empty query", p.Title)
			case nodeMetric.MatchString(e) && (!strings.Contains(e, `node=~"$node"`) || strings.Contains(e, "by (instance")):
				t.Errorf("panel %q: query %q is not by node", p.Title, e)
			case !strings.Contains(e, `node=~"$node"`) && !strings.Contains(e, `instance=~"$instance"`) && !strings.Contains(e, `vhost=~"$vhost"`):
				t.Errorf("panel %q: query %q follows no variable", p.Title, e)
			}
		}
	}
	for m, ok := range shown {
		if !ok {
			t.Errorf("no panel shows %s", m)
		}
	}
	if len(d.Panels) < 10 {
		t.Errorf("%d panels", len(d.Panels))
	}
}

// TestExampleOpsAddresses: the example ops endpoints do not take the
// ports of Prometheus itself (9090) or its Pushgateway (9091), which run
// next to callgw on a monitored host.
func TestExampleOpsAddresses(t *testing.T) {
	files, err := filepath.Glob("systemd/*.env.example")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "CALLGW_METRICS_ADDR=") && (strings.HasSuffix(l, ":9090") || strings.HasSuffix(l, ":9091")) {
				t.Errorf("%s: %s collides with Prometheus", f, l)
			}
		}
	}
}

// TestSystemdUnits: systemd-analyze verify accepts the units (the worker
// as an instance), with the binary path pointed at an executable and
// every warning an error.
func TestSystemdUnits(t *testing.T) {
	sa := testenv.NeedTool(t, "systemd-analyze")
	dir := t.TempDir()
	units, err := filepath.Glob("systemd/*.service")
	if err != nil || len(units) != 2 {
		t.Fatalf("units %v %v", units, err)
	}
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Replace(filepath.Base(u), "@.", "@pbx1.", 1)
		text := strings.ReplaceAll(string(b), "/usr/local/bin/callgw", "/bin/true")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, name))
	}
	if out := run(t, time.Minute, dir, sa, append([]string{"verify"}, args...)...); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
}
