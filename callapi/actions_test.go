package callapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// actionConstants parses command.go for the Action constants.
func actionConstants(t *testing.T) []Action {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "command.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []Action
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || types(vs.Type) != "Action" {
			return true
		}
		for _, v := range vs.Values {
			lit, ok := v.(*ast.BasicLit)
			if !ok {
				t.Fatalf("Action constant %v is not a literal", vs.Names)
			}
			s, _ := strconv.Unquote(lit.Value)
			out = append(out, Action(s))
		}
		return true
	})
	if len(out) < 30 {
		t.Fatalf("found %d Action constants in command.go", len(out))
	}
	return out
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestSpecsComplete walks the registry: every Action constant has exactly
// one Spec, every Spec is reachable from REST or says why it is AMQP-only
// (not both), and each Spec is consistent in itself.
func TestSpecsComplete(t *testing.T) {
	count := map[Action]int{}
	for _, s := range Specs() {
		count[s.Action]++
	}
	for _, a := range actionConstants(t) {
		if count[a] != 1 {
			t.Errorf("action %s has %d Specs, want 1", a, count[a])
		}
		delete(count, a)
	}
	for a := range count {
		t.Errorf("Spec %s is not an Action constant", a)
	}
	for _, s := range Specs() {
		switch {
		case len(s.REST) == 0 && s.AMQPOnly == "":
			t.Errorf("%s: neither a REST route nor a reason to be AMQP-only", s.Action)
		case len(s.REST) > 0 && s.AMQPOnly != "":
			t.Errorf("%s: REST routes and AMQP-only", s.Action)
		}
		if s.Args == nil || s.Args.Kind() != reflect.Struct || s.newArgs == nil || s.run == nil {
			t.Errorf("%s: incomplete Spec %+v", s.Action, s)
		}
		if reflect.TypeOf(s.NewArgs()) != reflect.PointerTo(s.Args) {
			t.Errorf("%s: NewArgs gives %T, want *%s", s.Action, s.NewArgs(), s.Args)
		}
		if s.NewID && (!s.Creates || s.ID == IDNone) {
			t.Errorf("%s: names what it creates but does not create or has no id", s.Action)
		}
		if got := s.Action.Creates(); got != s.Creates {
			t.Errorf("%s.Creates() = %v, Spec says %v", s.Action, got, s.Creates)
		}
		for _, rt := range s.REST {
			if m, p, ok := strings.Cut(rt, " "); !ok || !strings.HasPrefix(p, "/v1/") || strings.ToUpper(m) != m {
				t.Errorf("%s: route %q is not \"METHOD /v1/…\"", s.Action, rt)
			}
		}
	}
	if Action("call.bogus").Creates() {
		t.Error("an unknown action creates")
	}
}

// TestProtocolNamesEveryAction: docs/protocol.md lists every action of the
// registry, and says which are AMQP-only.
func TestProtocolNamesEveryAction(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	// between returns the text from the end of from to the start of to.
	between := func(from, to string) string {
		t.Helper()
		_, rest, ok := strings.Cut(doc, from)
		if !ok {
			t.Fatalf("docs/protocol.md lost %q", from)
		}
		part, _, ok := strings.Cut(rest, to)
		if !ok {
			t.Fatalf("docs/protocol.md lost %q after %q", to, from)
		}
		return part
	}
	named := func(text string) map[Action]bool {
		out := map[Action]bool{}
		for _, m := range regexp.MustCompile("`([a-z]+(?:\\.[a-z]+)+)`").FindAllStringSubmatch(text, -1) {
			out[Action(m[1])] = true
		}
		return out
	}
	list := named(between("`<action>` is `<resource>.<verb>`", "Each is one entry"))
	creates := named(between("Commands that create something — ", "are **acked"))
	noREST := named(between("its REST route);", "have no REST route"))
	for _, s := range Specs() {
		if !list[s.Action] {
			t.Errorf("§2's list of actions does not name %s", s.Action)
		}
		if creates[s.Action] != s.Creates {
			t.Errorf("§5 says %s creates: %v; its Spec: %v", s.Action, creates[s.Action], s.Creates)
		}
		if noREST[s.Action] != (len(s.REST) == 0) {
			t.Errorf("§2 says %s has no REST route: %v; its Spec has %d", s.Action, noREST[s.Action], len(s.REST))
		}
	}
	if len(list) != len(Specs()) {
		t.Errorf("§2 names %d actions, the registry has %d", len(list), len(Specs()))
	}
}
