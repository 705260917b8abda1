package docs

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeLayout: the README's layout table names every top-level
// directory that holds Go packages, and every path it names exists.
func TestReadmeLayout(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "## Layout\n")
	if !ok {
		t.Fatal("README has no Layout section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z][a-z0-9/_-]*)/?`").FindAllStringSubmatch(table, -1) {
		p := strings.TrimSuffix(m[1], "/")
		if strings.Contains(p, "/") || isDir("../"+p) {
			if !isDir("../" + p) {
				t.Errorf("the layout table names %s, which does not exist", p)
			}
			named[p] = true
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		top, _, _ := strings.Cut(strings.TrimPrefix(p, module), "/")
		if !named[top] && top != "internal" && top != "cmd" {
			t.Errorf("the layout table does not name %s/ (package %s)", top, p)
		}
	}
	for _, want := range []string{"internal", "cmd/callgw", "cmd/callctl"} {
		if !named[want] {
			t.Errorf("the layout table does not name %s", want)
		}
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
