package chaos

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgw/callgw/internal/testenv"
)

// TestClusterStartsAndStopsTwice runs scripts/cluster.sh as make cluster
// does — on other ports, names and files, so that a running make cluster
// is not touched — twice in a row, and checks that every node ran joined
// and that nothing of it is left afterwards. Long only (about a minute).
func TestClusterStartsAndStopsTwice(t *testing.T) {
	long(t)
	if onCluster() {
		t.Skip("run once, in make chaos's single-broker pass")
	}
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		if _, err := os.Stat("/usr/lib/rabbitmq/bin/rabbitmq-server"); err != nil {
			t.Skip("rabbitmq-server not installed")
		}
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	env := append(os.Environ(), "CALLGW_CLUSTER_DIR="+dir, "CALLGW_CLUSTER_BASE_PORT=5701", "CALLGW_CLUSTER_NAME=rabbit-t")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(repoRoot(), "scripts/cluster.sh"), args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(repoRoot(), "scripts/cluster.sh"), "stop")
		cmd.Env = env // this test's cluster, never make cluster's
		_, _ = cmd.CombinedOutput()
	})
	for round := 1; round <= 2; round++ {
		out := run("start")
		if !strings.Contains(out, "rabbit-t1@localhost rabbit-t2@localhost rabbit-t3@localhost") ||
			!strings.Contains(out, "CALLGW_AMQP_URL=amqp://guest:guest@127.0.0.1:5701/,amqp://guest:guest@127.0.0.1:5702/,amqp://guest:guest@127.0.0.1:5703/") {
			t.Fatalf("round %d: start said:\n%s", round, out)
		}
		for _, port := range []string{"5701", "5702", "5703"} {
			testenv.NeedBroker(t, "amqp://guest:guest@127.0.0.1:"+port+"/")
		}
		run("stop")
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("round %d: %s left after stop", round, dir)
		}
		if out, _ := exec.Command("pgrep", "-f", "rabbit-t[0-9]@localhost").CombinedOutput(); strings.TrimSpace(string(out)) != "" {
			t.Fatalf("round %d: nodes still running after stop: %s", round, out)
		}
	}
}
