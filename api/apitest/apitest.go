// Package apitest checks real HTTP responses against api/openapi.yaml, so
// the description cannot drift from what the service answers.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/s3ocr/s3ocr/api"
)

// Spec is the parsed OpenAPI description with a JSON Schema compiler over
// it (OpenAPI 3.1 schemas are JSON Schema 2020-12).
type Spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

const docURL = "mem://openapi.json"

// Load parses the embedded description.
func Load() (*Spec, error) {
	var y any
	if err := yaml.Unmarshal(api.OpenAPI, &y); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	// Through JSON, so the validator sees JSON types (numbers, maps).
	b, err := json.Marshal(y)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	m, _ := doc.(map[string]any)
	return &Spec{doc: m, compiler: c}, nil
}

func get(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// Paths returns every "METHOD /path" the description has.
func (s *Spec) Paths() []string {
	var out []string
	for path, ops := range get(s.doc, "paths").(map[string]any) {
		for method := range ops.(map[string]any) {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	return out
}

// Validate checks a JSON response body against the schema the description
// gives for the route (its path template, e.g. "/uploads/{uploadId}"),
// method and status. A status the description does not list is an error too.
func (s *Spec) Validate(method, path string, status int, body []byte) error {
	return s.ValidateResponse(method, path, status, "application/json", body)
}

// ValidateResponse is Validate for any media type: a JSON body is checked
// against its schema; another must be a media type the description lists
// for the response.
func (s *Spec) ValidateResponse(method, path string, status int, contentType string, body []byte) error {
	media, _, _ := strings.Cut(contentType, ";")
	media = strings.TrimSpace(media)
	method = strings.ToLower(method)
	base := []string{"paths", path, method, "responses", strconv.Itoa(status)}
	resp := get(s.doc, base...)
	if resp == nil {
		return fmt.Errorf("openapi.yaml lists no %d response for %s %s", status, strings.ToUpper(method), path)
	}
	pointer := "#/" + strings.Join(mapEscape(base), "/")
	if ref, ok := get(resp, "$ref").(string); ok {
		pointer = ref
		resp = get(s.doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
	}
	if get(resp, "content", media) == nil {
		return fmt.Errorf("openapi.yaml lists no %s content for %d %s %s", media, status, strings.ToUpper(method), path)
	}
	if media != "application/json" {
		return nil
	}
	pointer += "/content/" + escape(media) + "/schema"
	// Braces are not allowed in a URL fragment as written.
	pointer = strings.NewReplacer("{", "%7B", "}", "%7D").Replace(pointer)
	sch, err := s.compiler.Compile(docURL + pointer)
	if err != nil {
		return fmt.Errorf("schema for %d %s %s: %w", status, strings.ToUpper(method), path, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%d %s %s does not match openapi.yaml: %w", status, strings.ToUpper(method), path, err)
	}
	return nil
}

func mapEscape(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = escape(p)
	}
	return out
}
