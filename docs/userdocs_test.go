package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callgw/callgw/callapi"
)

func readPage(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// history are the pages that record how callgw got here; they may name
// issues and missed targets. Every other page is for users.
var history = map[string]bool{"decisions.md": true, "performance-history.md": true}

// TestReadmeListsEveryPage: the README links every page of docs/, and
// "Using the API" comes before the section on fuzzing.
func TestReadmeListsEveryPage(t *testing.T) {
	readme := readPage(t, "../README.md")
	pages, _ := filepath.Glob("*.md")
	for _, p := range pages {
		if !strings.Contains(readme, "(docs/"+p+")") {
			t.Errorf("README does not link docs/%s", p)
		}
	}
	using, fuzz := strings.Index(readme, "## Using the API"), strings.Index(readme, "make fuzz")
	if using < 0 || fuzz < 0 || fuzz < using {
		t.Errorf("README: \"Using the API\" (at %d) must come before the fuzzing paragraph (at %d)", using, fuzz)
	}
	if !strings.Contains(readme, "## Who callgw is for") {
		t.Error("README does not say who callgw is for")
	}
}

// userPagesChecked are the pages held to the rule below; the others are
// to follow it too.
var userPagesChecked = []string{"../README.md", "performance.md", "protocol.md", "api.md", "architecture.md", "comparison.md"}

var trackerRe = regexp.MustCompile(`(?i:\bissues? #?\d+|\bPR #?\d+|design brief)|MISSED`)

// TestUserPagesHaveNoTrackerHistory: pages for users say how things are,
// without the tracker's issue numbers or the benchmark's missed targets
// (those live in the history pages).
func TestUserPagesHaveNoTrackerHistory(t *testing.T) {
	for _, p := range userPagesChecked {
		if history[filepath.Base(p)] {
			continue
		}
		for i, line := range strings.Split(readPage(t, p), "\n") {
			// links to other projects' trackers are citations, not our history
			line = regexp.MustCompile(`\[[^\]]*\]\(https://github\.com/[^)]*\)`).ReplaceAllString(line, "")
			if m := trackerRe.FindString(line); m != "" {
				t.Errorf("%s:%d: %q belongs in the history pages", p, i+1, m)
			}
		}
	}
}

// mermaidBlocks returns the mermaid pictures of a page.
func mermaidBlocks(page string) []string {
	var out []string
	for _, part := range strings.Split(page, "```mermaid\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		out = append(out, block)
	}
	return out
}

func findBlock(t *testing.T, page, kind, must string) string {
	t.Helper()
	for _, b := range mermaidBlocks(readPage(t, page)) {
		if strings.HasPrefix(b, kind) && strings.Contains(b, must) {
			return b
		}
	}
	t.Fatalf("%s has no %s picture with %q", page, kind, must)
	return ""
}

// TestPictures: the three pictures users need are on their pages and name
// what the code uses: the deployment (hosts, ports, firewall), an
// originate with wait=answered whose event subscription comes first, and
// the routing keys and bindings with the protocol's exchange and queue
// names.
func TestPictures(t *testing.T) {
	deploy := findBlock(t, "architecture.md", "flowchart", "firewall")
	for _, port := range []string{":443", ":8080", ":5672", ":8088", ":9310", ":9311"} {
		if !strings.Contains(deploy, port) {
			t.Errorf("the deployment picture lacks port %s", port)
		}
	}

	seq := findBlock(t, "api.md", "sequenceDiagram", "wait")
	sub, post := strings.Index(seq, "GET /v1/events"), strings.Index(seq, "POST /v1/calls")
	if sub < 0 || post < 0 || sub > post {
		t.Error("the originate picture must subscribe to events before it POSTs the call")
	}
	for _, ev := range []string{"call.created", "call.ringing", "call.answered", "201 Created"} {
		if !strings.Contains(seq, ev) {
			t.Errorf("the originate picture lacks %s", ev)
		}
	}

	routing := findBlock(t, "protocol.md", "flowchart", callapi.ExchangeCommands)
	for _, name := range []string{callapi.ExchangeCommands, callapi.ExchangeEvents, callapi.ExchangeEventsRouted,
		callapi.ExchangeNodes, callapi.ExchangeDead, callapi.QueueAny, callapi.QueueNodePrefix,
		"cmd.any.#", "cmd.all.#", ".tag."} {
		if !strings.Contains(routing, name) {
			t.Errorf("the routing picture lacks %s", name)
		}
	}
}
