// Package samtemplate reads the AWS SAM template and checks it against the
// code: the runtimes and build method, the environment each function reads,
// the table's key and TTL attribute, the S3 event's prefix, least-privilege
// IAM, and the bucket's protections. A template edited out of step with the
// code fails these checks before it fails a deploy.
package samtemplate

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed template. Values are plain Go values (map[string]any,
// []any, string, bool, int, float64); CloudFormation's short-form tags become
// their long forms: !Ref X is {"Ref": "X"}, !GetAtt A.B is
// {"Fn::GetAtt": ["A", "B"]}, !Sub s is {"Fn::Sub": s}, and so on.
type Template struct {
	Parameters map[string]any
	Conditions map[string]any
	Globals    map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Resource is one resource of the template.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Condition  string // the condition that decides whether it exists, or ""
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a template.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("template: empty")
	}
	v, err := value(root.Content[0])
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template: not a mapping")
	}
	t := &Template{Parameters: Map(doc["Parameters"]), Conditions: Map(doc["Conditions"]), Globals: Map(doc["Globals"]),
		Outputs: Map(doc["Outputs"]), Resources: map[string]Resource{}}
	for name, r := range Map(doc["Resources"]) {
		rm := Map(r)
		t.Resources[name] = Resource{Type: Str(rm["Type"]), Properties: Map(rm["Properties"]), Metadata: Map(rm["Metadata"]), Condition: Str(rm["Condition"])}
	}
	return t, nil
}

// value converts a YAML node, resolving short-form intrinsic function tags.
// yaml.v3 hands such tags through on the node, so no registration is needed;
// it is hand-written because no library here knows CloudFormation's tags.
func value(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return value(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			val, err := value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		var s []any
		for _, c := range n.Content {
			val, err := value(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		var sv any
		plain := *n
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			plain.Tag = "!!str"
		}
		if err := plain.Decode(&sv); err != nil {
			return nil, fmt.Errorf("template line %d: %w", n.Line, err)
		}
		v = sv
	default:
		return nil, fmt.Errorf("template line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	fn := n.Tag[1:]
	switch fn {
	case "Ref":
		return map[string]any{"Ref": v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

// Map returns v as a mapping, or nil.
func Map(v any) map[string]any { m, _ := v.(map[string]any); return m }

// List returns v as a list; a single value is a list of one, as
// CloudFormation accepts for Action and Resource.
func List(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// Str returns v as a string, or "".
func Str(v any) string { s, _ := v.(string); return s }

// Get follows a path of keys through nested mappings.
func Get(v any, path ...string) any {
	for _, k := range path {
		v = Map(v)[k]
	}
	return v
}

// Functions returns the AWS::Serverless::Function resources by name.
func (t *Template) Functions() map[string]Resource {
	out := map[string]Resource{}
	for name, r := range t.Resources {
		if r.Type == "AWS::Serverless::Function" {
			out[name] = r
		}
	}
	return out
}

// Env returns a function's environment variables, with !Ref to a parameter
// replaced by the parameter's default, so the values can be loaded as the
// function would load them.
func (t *Template) Env(fn string) map[string]string {
	out := map[string]string{}
	for k, v := range Map(Get(t.Resources[fn].Properties, "Environment", "Variables")) {
		switch v := v.(type) {
		case string:
			out[k] = v
		case int, float64, bool:
			out[k] = fmt.Sprint(v)
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok {
				if p, ok := t.Parameters[ref]; ok {
					out[k] = fmt.Sprint(Map(p)["Default"])
					continue
				}
			}
			out[k] = "<" + fmt.Sprint(v) + ">" // a resource attribute, known at deploy
		}
	}
	return out
}
