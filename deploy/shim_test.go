package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestMain lets the test binary stand in for the host commands the
// walk-through of docs/operations.md runs (systemctl, useradd, chgrp): the
// walk-through test puts links named after them, to this binary, first in
// PATH.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "systemctl":
		if err := systemctl(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "systemctl (test stand-in):", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "useradd", "chgrp":
		os.Exit(0) // the test runs as one user; the walk-through's ownership is not checked
	}
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// callgwBinary builds cmd/callgw once per test run.
func callgwBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "callgw-deploy-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "callgw"), "../cmd/callgw").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "callgw")
}

// The stand-in's environment, set by the walk-through test per host.
const (
	envRoot = "CALLGW_WALK_ROOT" // the host's root directory
	envMap  = "CALLGW_WALK_MAP"  // "old=new;old=new": the host's addresses on loopback
	envBin  = "CALLGW_WALK_BIN"  // the callgw binary, for the simulated Asterisk
	envRun  = "CALLGW_WALK_RUN"  // where started processes leave their pid and log
)

// systemctl starts the command of a unit the walk-through installed under
// the host's root, with the unit's environment, detached; "asterisk" is
// the ARI simulator configured from the host's http.conf and ari.conf.
func systemctl(args []string) error {
	if len(args) == 1 && args[0] == "daemon-reload" {
		return nil
	}
	if len(args) < 2 || (args[0] != "enable" && args[0] != "restart" && args[0] != "start") {
		return fmt.Errorf("unsupported: %v", args)
	}
	units := args[1:]
	if args[0] == "enable" {
		if units[0] != "--now" {
			return fmt.Errorf("only enable --now is supported: %v", args)
		}
		units = units[1:]
	}
	for _, u := range units {
		cmd, err := unitCommand(strings.TrimSuffix(u, ".service"))
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		if err := startDetached(u, cmd); err != nil {
			return err
		}
	}
	return nil
}

func hostPath(p string) string { return filepath.Join(os.Getenv(envRoot), p) }

func hostAddr(a string) string {
	for _, kv := range strings.Split(os.Getenv(envMap), ";") {
		if old, nw, ok := strings.Cut(kv, "="); ok {
			a = strings.ReplaceAll(a, old, nw)
		}
	}
	return a
}

func unitCommand(unit string) (*exec.Cmd, error) {
	if unit == "asterisk" {
		return simulatedAsterisk()
	}
	file, inst := unit, ""
	if i := strings.Index(unit, "@"); i >= 0 {
		file, inst = unit[:i+1], unit[i+1:]
	}
	lines, err := readLines(hostPath("/etc/systemd/system/" + file + ".service"))
	if err != nil {
		return nil, err
	}
	var env []string
	var exe []string
	for _, l := range lines {
		k, v, _ := strings.Cut(strings.ReplaceAll(l, "%i", inst), "=")
		switch k {
		case "Environment":
			env = append(env, hostAddr(strings.Replace(v, "=/var/lib/", "="+os.Getenv(envRoot)+"/var/lib/", 1)))
		case "StateDirectory":
			if err := os.MkdirAll(hostPath("/var/lib/"+v), 0o750); err != nil {
				return nil, err
			}
		case "EnvironmentFile":
			fl, err := readLines(hostPath(v))
			if err != nil {
				return nil, err
			}
			for _, e := range fl {
				env = append(env, hostAddr(strings.Replace(e, "=/etc/", "="+os.Getenv(envRoot)+"/etc/", 1)))
			}
		case "ExecStart":
			exe = strings.Fields(v)
			exe[0] = hostPath(exe[0])
		}
	}
	if exe == nil {
		return nil, fmt.Errorf("no ExecStart")
	}
	cmd := exec.Command(exe[0], exe[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + hostPath("/")}, env...)
	return cmd, nil
}

// simulatedAsterisk reads ARI's address from http.conf and the callgw
// user's password from ari.conf.
func simulatedAsterisk() (*exec.Cmd, error) {
	conf := map[string]string{}
	for _, f := range []string{"http.conf", "ari.conf"} {
		lines, err := readLines(hostPath("/etc/asterisk/" + f))
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			l, _, _ = strings.Cut(l, ";")
			if k, v, ok := strings.Cut(l, "="); ok {
				conf[f+":"+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	addr := hostAddr(conf["http.conf:bindaddr"] + ":" + conf["http.conf:bindport"])
	return exec.Command(os.Getenv(envBin), "simulator", "--listen", addr, "--ari-user", "callgw",
		"--ari-password", conf["ari.conf:password"], "--log-level", "warn"), nil
}

// readLines returns the lines of a settings file without comments and
// blank lines.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// startDetached starts cmd in its own session (it outlives the stand-in)
// and records its pid for the test's cleanup.
func startDetached(unit string, cmd *exec.Cmd) error {
	dir := os.Getenv(envRun)
	unit = filepath.Base(os.Getenv(envRoot)) + "-" + unit
	log, err := os.Create(filepath.Join(dir, unit+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, unit+".pid"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o600)
}
