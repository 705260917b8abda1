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

// TestAlertRules: promtool (Debian package prometheus) accepts the rules.
// The metrics they name are checked against a running process by
// cmd/callgw TestDevOpsMetrics.
func TestAlertRules(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool")
	out := run(t, time.Minute, ".", promtool, "check", "rules", "prometheus/callgw-alerts.yml")
	t.Log(out)
}

// TestDashboard: the Grafana dashboard is JSON Grafana imports: unique
// panel ids, a Prometheus query in every target, the datasource and
// instance variables it refers to.
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
	if d.UID == "" || d.Title == "" || !vars["datasource"] || !vars["instance"] {
		t.Fatalf("uid %q title %q variables %v", d.UID, d.Title, vars)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: duplicate id, no title or no query", p.ID, p.Title)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			if tg.Expr == "" || !bytes.Contains([]byte(tg.Expr), []byte(`instance=~"$instance"`)) {
				t.Errorf("panel %q: query %q does not follow the instance variable", p.Title, tg.Expr)
			}
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
