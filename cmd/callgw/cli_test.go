package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHelpDocumentsEveryFlag: `callgw <command> --help` lists every flag
// with the CALLGW_* variable that sets it and its default.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	line := regexp.MustCompile(`^  --([a-z0-9-]+) \[(.*)\]$`)
	for _, cmd := range []string{"gateway", "worker", "dev", "simulator", "webhooks"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{cmd, "--help"}, func(string) string { return "" }, &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) && err != nil {
				t.Fatal(err)
			}
			text := out.String() + errOut.String()
			flags := 0
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				if !strings.HasPrefix(l, "  --") {
					continue
				}
				flags++
				m := line.FindStringSubmatch(l)
				if m == nil || !strings.HasPrefix(m[2], "CALLGW_") {
					t.Errorf("flag line %q names no CALLGW_* variable", l)
					continue
				}
				if i+1 >= len(lines) || !strings.Contains(lines[i+1], "(default ") {
					t.Errorf("--%s: no description with its default", m[1])
				}
			}
			if flags < 5 {
				t.Fatalf("%d flags in:\n%s", flags, text)
			}
		})
	}
}

type noRead struct{ t *testing.T }

func (r noRead) Read([]byte) (int, error) {
	r.t.Error("hash-secret --help read standard input")
	return 0, errors.New("not expected")
}

// TestHashSecretHelp: --help explains hash-secret without reading
// standard input; an argument is refused; a secret gives its hash.
func TestHashSecretHelp(t *testing.T) {
	var out bytes.Buffer
	if err := runHashSecret([]string{"--help"}, noRead{t}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "CALLGW_AUTH_CLIENTS_FILE") {
		t.Fatalf("--help: %v\n%s", err, out.String())
	}
	if err := runHashSecret([]string{"s3cret"}, noRead{t}, &out); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Fatalf("argument: %v", err)
	}
	out.Reset()
	if err := runHashSecret(nil, strings.NewReader("a-long-enough-secret\n"), &out); err != nil || len(out.String()) < 20 {
		t.Fatalf("hash: %v %q", err, out.String())
	}
}

// TestVersionStamped: the binary `make build` produces prints the tag,
// commit and date the Makefile stamps.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds callgw")
	}
	make_ := exec.Command("make", "-s", "-C", "../..", "print-ldflags")
	ld, err := make_.Output()
	if err != nil {
		t.Fatalf("make print-ldflags: %v", err)
	}
	ldflags := strings.TrimSpace(string(ld))
	want := map[string]string{}
	for _, m := range regexp.MustCompile(`-X main\.(\w+)=(\S+)`).FindAllStringSubmatch(ldflags, -1) {
		want[m[1]] = m[2]
	}
	rel, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want["version"], "v") || want["commit"] == "" || want["commit"] == "unknown" || want["date"] == "" {
		t.Fatalf("ldflags %q", ldflags)
	}
	if !strings.Contains(want["version"], strings.TrimSpace(string(rel))) && !strings.HasPrefix(want["version"], "v") {
		t.Errorf("tag %s, VERSION %s", want["version"], rel)
	}
	bin := filepath.Join(t.TempDir(), "callgw")
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	for _, k := range []string{"version", "commit", "date"} {
		if !strings.Contains(got, want[k]) {
			t.Errorf("callgw version = %q, lacks %s %s", got, k, want[k])
		}
	}
}

// TestVersionFromVCS: a `go build` in a git checkout without -ldflags
// still prints the commit (with -dirty when the tree had changes) and its
// date, from the module's build info (-buildvcs=true: the machine's GOFLAGS
// may turn the stamping off). It is skipped only where the toolchain
// records no VCS details at all (`go version -m` shows no vcs.revision).
func TestVersionFromVCS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds callgw")
	}
	bin := filepath.Join(t.TempDir(), "callgw")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+build\s+(vcs\.\w+)=(\S+)$`).FindAllStringSubmatch(string(info), -1) {
		settings[m[1]] = m[2]
	}
	rev := settings["vcs.revision"]
	if len(rev) < 7 {
		t.Skipf("go build recorded no VCS details here:\n%s", info)
	}
	want := rev[:7]
	if settings["vcs.modified"] == "true" {
		want += "-dirty"
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if wantPrefix := "callgw dev (commit " + want + ", built " + settings["vcs.time"] + ","; !strings.HasPrefix(got, wantPrefix) {
		t.Errorf("callgw version = %q, want the prefix %q", got, wantPrefix)
	}
}
