package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/internal/testenv"
)

// docBlock is a fenced block of docs/operations.md marked "sh test:h1,h2".
type docBlock struct {
	hosts []string
	text  string
}

var blockRE = regexp.MustCompile("(?ms)^```sh test:([a-z0-9,]+)\n(.*?)^```")

func walkthroughBlocks(t *testing.T) []docBlock {
	t.Helper()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	for _, m := range blockRE.FindAllStringSubmatch(string(b), -1) {
		out = append(out, docBlock{hosts: strings.Split(m[1], ","), text: m[2]})
	}
	return out
}

// forHost rewrites a block for host h: a line "x  # on h: y" becomes y,
// absolute paths go under the host's root, names and addresses as subst.
func forHost(text, h, root string, subst *strings.Replacer) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if _, alt, ok := strings.Cut(l, "# on "+h+": "); ok {
			lines[i] = alt
		}
	}
	text = strings.Join(lines, "\n")
	for _, p := range []string{"/etc/", "/usr/local/bin/", "/var/lib/"} {
		text = strings.ReplaceAll(text, " "+p, " "+root+p)
	}
	return subst.Replace(text)
}

// copyTree copies the files under src to dst, through subst.
func copyTree(t *testing.T, src, dst string, subst *strings.Replacer) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, p)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.WriteFile(to, []byte(subst.Replace(string(b))), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeployWalkthrough runs the marked blocks of docs/operations.md
// "Deploy in 15 minutes" up to its verification step, host by host, on
// this machine: the broker is the local RabbitMQ (a run-unique vhost and
// users), each host has its own root directory, the doc's addresses are
// loopback ports, systemctl starts the unit's command (shim_test.go) and
// callgw simulator stands in for each Asterisk.
func TestDeployWalkthrough(t *testing.T) {
	t.Parallel()
	testenv.NeedBroker(t, testenv.BrokerURL())
	ctl := testenv.NeedTool(t, "rabbitmqctl")
	testenv.NeedTool(t, "curl")
	bin := callgwBinary(t)
	tmp := t.TempDir()
	id := uuid.NewString()[:8]
	vh, svc, tenant := "cgwalk-"+id, "cgwsvc-"+id, "cgwacme-"+id
	t.Cleanup(func() {
		for _, args := range [][]string{{"delete_vhost", vh}, {"delete_user", svc}, {"delete_user", tenant}} {
			_ = exec.Command(ctl, args...).Run()
		}
	})
	broker := strings.SplitN(strings.SplitN(testenv.BrokerURL(), "@", 2)[1], "/", 2)[0]
	addrs := map[string]string{}
	for _, a := range []string{"10.0.0.5:8080", "10.0.0.5:9310", "10.0.0.11:9311", "10.0.0.12:9311", "pbx1", "pbx2"} {
		addrs[a] = testenv.FreeAddr(t)
	}
	names := []string{"callgw-service", svc, "acme-events", tenant, `"callgw"`, `"` + vh + `"`, "add_vhost callgw", "add_vhost " + vh}
	for _, r := range []string{"rabbit1", "rabbit2", "rabbit3"} {
		names = append(names, "@"+r+":5672/callgw", "@"+broker+"/"+vh)
	}
	for _, a := range []string{"10.0.0.5:8080", "10.0.0.5:9310", "10.0.0.11:9311", "10.0.0.12:9311"} {
		names = append(names, a, addrs[a])
	}
	subst := strings.NewReplacer(names...)
	release := filepath.Join(tmp, "release")
	copyTree(t, ".", filepath.Join(release, "deploy"), subst)
	if err := os.MkdirAll(filepath.Join(release, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(release, "bin", "callgw")); err != nil {
		t.Fatal(err)
	}
	shim, run := filepath.Join(tmp, "shim"), filepath.Join(tmp, "run")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{shim, run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"systemctl", "useradd", "chgrp"} {
		if err := os.Symlink(self, filepath.Join(shim, c)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { stopStarted(t, run) })

	blocks := walkthroughBlocks(t)
	order := []string{"rabbit1", "pbx1", "pbx2", "gw1"} // each host's steps in the doc's order; the gateway's last verifies
	seen := map[string]bool{}
	for _, b := range blocks {
		for _, h := range b.hosts {
			seen[h] = true
		}
	}
	if len(seen) != len(order) {
		t.Fatalf("the walk-through's hosts are %v, the test knows %v", seen, order)
	}
	start := time.Now()
	carried := []string{} // what the doc says to carry from one host to the next
	for _, h := range order {
		root := filepath.Join(tmp, "hosts", h)
		var script strings.Builder
		script.WriteString("set -euo pipefail\n")
		for _, b := range blocks {
			for _, bh := range b.hosts {
				if bh == h {
					script.WriteString(forHost(b.text, h, root, subst))
				}
			}
		}
		hostMap := "127.0.0.1:8088=" + addrs[h]
		for _, a := range []string{"10.0.0.5:8080", "10.0.0.5:9310", "10.0.0.11:9311", "10.0.0.12:9311"} {
			hostMap += ";" + a + "=" + addrs[a]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
		cmd.Dir = release
		cmd.Env = append(os.Environ(), append(carried, "PATH="+shim+":"+filepath.Join(root, "usr/local/bin")+":"+os.Getenv("PATH"),
			envRoot+"="+root, envMap+"="+hostMap, envBin+"="+bin, envRun+"="+run)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		t.Logf("on %s (%s):\n%s", h, time.Since(start).Round(time.Millisecond), out.String())
		if err != nil {
			t.Fatalf("the walk-through failed on %s: %v\nscript:\n%s\n%s", h, err, script.String(), logs(run))
		}
		if m := regexp.MustCompile(`(?m)^AMQP_PASSWORD=(\S+)$`).FindStringSubmatch(out.String()); m != nil {
			carried = append(carried, m[0])
		}
	}
	t.Logf("walk-through from the broker's setup to its verification: %s", time.Since(start).Round(time.Millisecond))
	envs, _ := filepath.Glob(filepath.Join(tmp, "hosts", "*", "etc", "callgw", "*.env"))
	if len(envs) != 3 {
		t.Errorf("settings files %v, want the gateway's and two workers'", envs)
	}
	for _, f := range envs {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", f, st.Mode().Perm(), err)
		}
	}
}

// logs returns the output of the processes the stand-in started.
func logs(run string) string {
	fs, _ := filepath.Glob(filepath.Join(run, "*.log"))
	var b strings.Builder
	for _, f := range fs {
		raw, _ := os.ReadFile(f)
		if len(raw) > 4000 {
			raw = raw[len(raw)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), raw)
	}
	return b.String()
}

// stopStarted stops the processes the stand-in started (by their pids),
// gracefully first.
func stopStarted(t *testing.T, run string) {
	fs, _ := filepath.Glob(filepath.Join(run, "*.pid"))
	var pids []int
	for _, f := range fs {
		raw, err := os.ReadFile(f)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && perr == nil {
			pids = append(pids, pid)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			t.Logf("pid %d did not stop in time: killed", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// alive: the process runs (an exited one whose parent, the stand-in, is
// gone may stay a zombie until init reaps it).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
