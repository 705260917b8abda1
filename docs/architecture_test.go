package docs

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/callgw/callgw/"

// notPictured are packages left out of architecture.md's picture: helpers
// of the tests, the benchmark harness, the examples and these docs.
func notPictured(p string) bool {
	switch {
	case p == "internal/testenv", p == "internal/fakepbx", p == "cmd/callgw-bench", p == "docs":
		return true
	case strings.HasPrefix(p, "docs/"), strings.HasPrefix(p, "deploy"):
		return true
	}
	return false
}

// importEdges returns "a --> b" for every import between the module's
// pictured packages, as go list sees them, sorted.
func importEdges(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var edges []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		from := strings.TrimPrefix(f[0], module)
		if notPictured(from) {
			continue
		}
		for _, imp := range f[1:] {
			to, ok := strings.CutPrefix(imp, module)
			if ok && !notPictured(to) {
				edges = append(edges, from+" --> "+to)
			}
		}
	}
	slices.Sort(edges)
	return edges
}

var edgeRe = regexp.MustCompile(`^\s*\w+\["([^"]+)"\] --> \w+\["([^"]+)"\]\s*$`)

// pictureEdges returns the arrows of the mermaid picture in architecture.md.
func pictureEdges(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```mermaid\n")
	if !ok {
		t.Fatal("architecture.md has no mermaid picture")
	}
	block, _, _ := strings.Cut(rest, "```")
	var edges []string
	for _, line := range strings.Split(block, "\n") {
		if m := edgeRe.FindStringSubmatch(line); m != nil {
			edges = append(edges, m[1]+" --> "+m[2])
		}
	}
	slices.Sort(edges)
	return edges
}

// TestArchitecturePicture: the package picture of architecture.md has
// exactly the arrows of the code's imports (regenerate it with
// go test ./docs -run TestArchitecturePicture -v and copy the lines it
// prints).
func TestArchitecturePicture(t *testing.T) {
	code, pic := importEdges(t), pictureEdges(t)
	if slices.Equal(code, pic) {
		return
	}
	var b strings.Builder
	for _, e := range code {
		from, to, _ := strings.Cut(e, " --> ")
		id := func(p string) string { return strings.NewReplacer("/", "_", "-", "_").Replace(p) }
		b.WriteString("  " + id(from) + `["` + from + `"] --> ` + id(to) + `["` + to + `"]` + "\n")
	}
	for _, e := range code {
		if !slices.Contains(pic, e) {
			t.Errorf("missing from the picture: %s", e)
		}
	}
	for _, e := range pic {
		if !slices.Contains(code, e) {
			t.Errorf("in the picture, not in the code: %s", e)
		}
	}
	t.Logf("the picture's lines:\n%s", b.String())
}
