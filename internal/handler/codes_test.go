package handler_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/s3ocr/s3ocr/api"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The error codes have one home, ocr.Codes; these tests hold every copy of
// them that cannot be derived from it (the constants, the OpenAPI enum, the
// browser page's messages and the README's table) to that table.

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
}

func tableCodes() []string {
	var codes []string
	for _, c := range ocr.Codes {
		codes = append(codes, c.Code)
	}
	slices.Sort(codes)
	return codes
}

func TestCodes_EveryConstantIsInTheTableOnce(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(moduleRoot(t), "internal", "ocr", "error.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(n.Name, "E") && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					consts = append(consts, v)
				}
			}
		}
	}
	slices.Sort(consts)
	if got := tableCodes(); !slices.Equal(consts, got) {
		t.Errorf("constants %v\ntable     %v", consts, got)
	}
	seen := map[string]bool{}
	for _, c := range ocr.Codes {
		if seen[c.Code] {
			t.Errorf("%s is in ocr.Codes twice", c.Code)
		}
		seen[c.Code] = true
		if c.Status < 400 || c.When == "" {
			t.Errorf("%s: status %d, when %q", c.Code, c.Status, c.When)
		}
	}
}

func TestCodes_OpenAPIEnumIsTheTable(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `yaml:"enum"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	enum := slices.Clone(doc.Components.Schemas["Error"].Properties["code"].Enum)
	slices.Sort(enum)
	if want := tableCodes(); !slices.Equal(enum, want) {
		t.Errorf("api/openapi.yaml Error.code enum\n %v\nocr.Codes\n %v", enum, want)
	}
}

func TestCodes_PageHasWordsForEveryFailure(t *testing.T) {
	js, err := os.ReadFile(filepath.Join(moduleRoot(t), "web", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)const MESSAGES = \{(.*?)\n\};`).FindSubmatch(js)
	if block == nil {
		t.Fatal("web/app.js has no MESSAGES table")
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z_]+):`).FindAllSubmatch(block[1], -1) {
		keys[string(m[1])] = true
	}
	for _, c := range ocr.Codes {
		// A person meets these: a refused upload, a failed one, a busy service.
		meets := c.Cause == ocr.CauseContent || c.Cause == ocr.CauseUpload || c.Code == ocr.EUNAVAILABLE
		if meets && !keys[c.Code] {
			t.Errorf("web/app.js MESSAGES has no words for %s", c.Code)
		}
		delete(keys, c.Code)
	}
	for k := range keys {
		t.Errorf("web/app.js MESSAGES has %s, which is not an error code", k)
	}
}

func TestCodes_READMETableIsTheTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (\\d+) \\| (.*) \\|$").FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = m[2] + " " + m[3]
	}
	for _, c := range ocr.Codes {
		want := fmt.Sprintf("%d %s", c.Status, c.When)
		if rows[c.Code] != want {
			t.Errorf("README row for %s: %q, want %q", c.Code, rows[c.Code], want)
		}
		delete(rows, c.Code)
	}
	for k := range rows {
		t.Errorf("README has a row for %s, which is not an error code", k)
	}
}
