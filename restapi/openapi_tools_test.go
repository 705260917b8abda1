package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/internal/testenv"
)

// The generators and linters openapi.json is checked with, pinned. .ci/run
// fetches the same versions.
const (
	oapiCodegen        = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	oapiRuntime        = "github.com/oapi-codegen/runtime v1.9.0"
	redoclyCLI         = "@redocly/cli@2.77.0"
	externalToolBudget = 5 * time.Minute
)

// runTool runs a tool and returns its standard output and its standard
// error apart: what go run prints on stderr while it downloads ("go:
// downloading …") must not end up in generated code.
func runTool(t *testing.T, ctx context.Context, dir string, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.Bytes(), errOut.Bytes()
}

// TestOpenAPIGeneratesGoClient: oapi-codegen turns openapi.json into a
// client and its types, and the generated package compiles. This is what a
// Go user of the API runs first; a clash of generated names (a parameter
// and a schema both named Node) or an unsupported construct fails here.
func TestOpenAPIGeneratesGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run of a pinned generator: not in -short")
	}
	goBin := testenv.NeedTool(t, "go")
	ctx, cancel := context.WithTimeout(context.Background(), externalToolBudget)
	defer cancel()
	dir := t.TempDir()
	spec, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := runTool(t, ctx, dir, goBin, "run", oapiCodegen, "-generate", "types,client,skip-prune", "-package", "callapiclient", spec)
	if !bytes.Contains(gen, []byte("func (c *Client) Originate(")) {
		t.Fatalf("generated client has no Originate method (%d bytes)", len(gen))
	}
	for _, want := range []string{"type CallHangupEvent struct", "func (t Event) AsCallHangupEvent()", "type HangupData struct"} {
		if !bytes.Contains(gen, []byte(want)) {
			t.Errorf("generated code lacks %q: Event is not typed per event type", want)
		}
	}
	files := map[string]string{
		"client.gen.go": string(gen),
		"go.mod":        "module example.com/callapiclient\n\ngo 1.24\n\nrequire " + oapiRuntime + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, ctx, dir, goBin, "mod", "tidy")
	runTool(t, ctx, dir, goBin, "vet", "./...")
}

// TestOpenAPIRedoclyLint: Redocly's recommended rules report no error
// (warnings are allowed and printed).
func TestOpenAPIRedoclyLint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs npx: not in -short")
	}
	npx := testenv.NeedTool(t, "npx")
	ctx, cancel := context.WithTimeout(context.Background(), externalToolBudget)
	defer cancel()
	spec, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := runTool(t, ctx, t.TempDir(), npx, "-y", redoclyCLI, "lint", "--format=summary", spec)
	out := append(stdout, stderr...)
	if bytes.Contains(out, []byte("error ")) || !bytes.Contains(out, []byte("valid")) {
		t.Errorf("redocly lint:\n%s", out)
	}
	t.Logf("redocly lint:\n%s", out)
}

// TestOpenAPIVersionTracksRelease: info.version is the release in VERSION,
// the file `make build` stamps the binaries with.
func TestOpenAPIVersionTracksRelease(t *testing.T) {
	raw, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(raw)); doc.Info.Version != want {
		t.Errorf("openapi.json info.version %q, VERSION %q", doc.Info.Version, want)
	}
}

// TestOpenAPIEventsTyped: components/schemas/Event is a oneOf over one
// schema per event type, discriminated by type, whose data schema is the
// one docs/events.schema.json (generated from the Go payload types) names.
func TestOpenAPIEventsTyped(t *testing.T) {
	type schema = map[string]any
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../docs/events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`))
	var ev struct {
		Defs  map[string]schema `json:"$defs"`
		AllOf []struct {
			If struct {
				Properties struct {
					Type struct {
						Const string `json:"const"`
					} `json:"type"`
				} `json:"properties"`
			} `json:"if"`
			Then struct {
				Properties struct {
					Data struct {
						Ref string `json:"$ref"`
					} `json:"data"`
				} `json:"properties"`
			} `json:"then"`
		} `json:"allOf"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	dataOf := map[string]string{}
	for _, c := range ev.AllOf {
		dataOf[c.If.Properties.Type.Const] = c.Then.Properties.Data.Ref
	}
	s := doc.Components.Schemas
	mapping, _ := s["Event"]["discriminator"].(schema)["mapping"].(schema)
	var types []string
	for typ := range mapping {
		types = append(types, typ)
	}
	sort.Strings(types)
	var want []string
	for typ := range dataOf {
		want = append(want, typ)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("Event discriminator maps %v, events.schema.json types %v", types, want)
	}
	if n := len(s["Event"]["oneOf"].([]any)); n != len(want) {
		t.Errorf("Event oneOf has %d members for %d types", n, len(want))
	}
	checked := map[string]bool{}
	for _, typ := range types {
		ref, _ := mapping[typ].(string)
		one := s[strings.TrimPrefix(ref, "#/components/schemas/")]
		allOf, _ := one["allOf"].([]any)
		if len(allOf) != 2 {
			t.Errorf("%s: %s is not allOf [EventBase, narrowing]", typ, ref)
			continue
		}
		props := allOf[1].(schema)["properties"].(schema)
		enum := props["type"].(schema)["enum"].([]any)
		dataRef := props["data"].(schema)["$ref"]
		if len(enum) != 1 || enum[0] != typ || dataRef != dataOf[typ] {
			t.Errorf("%s: type %v data %v, want [%s] %s", typ, enum, dataRef, typ, dataOf[typ])
		}
		checked[strings.TrimPrefix(dataOf[typ], "#/components/schemas/")] = true
	}
	for name := range checked {
		if !reflect.DeepEqual(s[name], ev.Defs[name]) {
			t.Errorf("schema %s differs from docs/events.schema.json's:\n openapi %v\n events  %v", name, s[name], ev.Defs[name])
		}
	}
}
