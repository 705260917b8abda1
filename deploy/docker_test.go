package deploy

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestDockerfileShape: the image is the static binaries on scratch, run
// as a non-root user, with the version stamped.
func TestDockerfileShape(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) == 0 || froms[len(froms)-1][1] != "scratch" {
		t.Errorf("final stage %v, want FROM scratch", froms)
	}
	user := regexp.MustCompile(`(?m)^USER (\d+)(?::(\d+))?$`).FindStringSubmatch(df)
	if user == nil || user[1] == "0" || (user[2] != "" && user[2] == "0") {
		t.Errorf("USER %v: want a numeric non-root user (scratch has no user database to look names up in)", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${DATE}", `ENTRYPOINT ["/usr/local/bin/callgw"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}

// TestDockerfileStateDir: the worker's journal has a home in the image. On
// scratch, as user 65532 with HOME=/, the default ~/.local/state/callgw
// cannot be created and the worker would exit; the image names a state
// directory (CALLGW_STATE_DIR), owns it to the image's user and declares it a
// volume, so the journal outlives the container.
func TestDockerfileStateDir(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	final := df[strings.LastIndex(df, "\nFROM "):]
	env := regexp.MustCompile(`(?m)^ENV CALLGW_STATE_DIR=(/\S+)$`).FindStringSubmatch(final)
	if env == nil {
		t.Fatal("the final stage sets no absolute ENV CALLGW_STATE_DIR=…")
	}
	dir := env[1]
	if !regexp.MustCompile(`(?m)^VOLUME \[?"?` + regexp.QuoteMeta(dir) + `"?\]?$`).MatchString(final) {
		t.Errorf("the final stage declares no VOLUME %s", dir)
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(final)
	if user == nil || !regexp.MustCompile(`(?m)^COPY .*--chown=`+regexp.QuoteMeta(user[1])+` .* `+regexp.QuoteMeta(dir)+`/?$`).MatchString(final) {
		t.Errorf("the final stage does not create %s owned by its USER %v (scratch has no mkdir: COPY --chown an empty directory)", dir, user)
	}
}

// TestStaticBinary: callgw built as the Dockerfile builds it needs no
// dynamic loader and no shared library, so it runs on scratch.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds callgw")
	}
	bin := filepath.Join(t.TempDir(), "callgw")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/callgw")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("callgw has a PT_INTERP (dynamic loader): not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("callgw needs shared libraries %v (%v)", libs, err)
	}
}

// dockerAnswers reports whether a Docker daemon answers.
func dockerAnswers() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run() == nil
}

// TestDockerImage builds the image when a Docker daemon answers, and checks
// that it runs as a non-root user and prints the stamped version.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	if !dockerAnswers() {
		t.Skip("no Docker daemon answers")
	}
	tag := "callgw-test:" + uuid.NewString()[:8]
	run(t, 15*time.Minute, "..", "docker", "build", "-t", tag, "--build-arg", "VERSION=v0.0.0-test", "--build-arg", "COMMIT=abc1234", ".")
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	if u := strings.TrimSpace(run(t, time.Minute, ".", "docker", "inspect", "-f", "{{.Config.User}}", tag)); u == "" || strings.HasPrefix(u, "0") || u == "root" {
		t.Errorf("image user %q", u)
	}
	out := run(t, time.Minute, ".", "docker", "run", "--rm", tag, "version")
	if !strings.Contains(out, "v0.0.0-test") || !strings.Contains(out, "abc1234") {
		t.Errorf("callgw version in the image: %q", out)
	}
	if id := strings.TrimSpace(run(t, time.Minute, ".", "docker", "run", "--rm", "--entrypoint", "/usr/local/bin/callctl", tag, "help")); !strings.Contains(id, "callctl") {
		t.Errorf("callctl in the image: %q", id)
	}
}
