package samtemplate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Wiring is what the template says runs where: which function serves which
// HTTP route, which function S3 events go to, and how each function runs
// (environment, memory, timeout, concurrency, async retries). The local
// stack builds everything from it, so adding a route or a variable to the
// template is all it takes for it to exist locally.
type Wiring struct {
	Functions map[string]*Function // by logical id
	Routes    []Route              // the HttpApi events, sorted by route key
	S3Events  []S3Event            // the S3 events, sorted by function
	CORS      CORS                 // the HTTP API's CORS configuration
}

// Function is one AWS::Serverless::Function as it will run.
type Function struct {
	Name                string            // logical id
	Env                 map[string]string // Environment.Variables, Globals merged, intrinsics resolved
	MemoryMB            int               // default 128, as SAM's
	Timeout             time.Duration     // default 3 s, as SAM's
	ReservedConcurrency int               // 0 when not reserved
	MaxRetryAttempts    int               // EventInvokeConfig; 2 when not set, as Lambda's
	MaxEventAge         time.Duration     // EventInvokeConfig; 6 h when not set, as Lambda's
	OnFailure           string            // the on-failure destination's logical id, or ""
	Layers              []string          // logical ids of the layers it uses
}

// Route is an HttpApi event: method and path to a function.
type Route struct {
	Method, Path string
	Function     string
	Event        string // the event's name in the function
}

// Key is the API Gateway route key, "GET /uploads/{uploadId}", or
// "$default" for the catch-all route.
func (r Route) Key() string {
	if r.Path == "$default" {
		return r.Path
	}
	return r.Method + " " + r.Path
}

// S3Event is an S3 event source of a function.
type S3Event struct {
	Function       string
	Bucket         string   // the bucket resource's logical id
	Events         []string // e.g. s3:ObjectCreated:*
	Prefix, Suffix string   // key filters
}

// Matches reports whether an event of the given name for key is delivered:
// the name is one of Events (with * as a wildcard for the last part), and
// the key has the prefix and suffix.
func (e S3Event) Matches(eventName, key string) bool {
	if !strings.HasPrefix(key, e.Prefix) || !strings.HasSuffix(key, e.Suffix) {
		return false
	}
	name := strings.TrimPrefix(eventName, "s3:")
	for _, want := range e.Events {
		want = strings.TrimPrefix(want, "s3:")
		if base, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(name, base) || want == name {
			return true
		}
	}
	return false
}

// CORS is an HTTP API's CorsConfiguration.
type CORS struct {
	AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders []string
	AllowCredentials                                        bool
	MaxAge                                                  int
}

// Resolver gives the values CloudFormation computes at deploy time: the
// physical name of a resource (!Ref) and its attributes (!GetAtt), and the
// pseudo parameters (AWS::StackName, AWS::Region, …).
type Resolver interface {
	Ref(logicalID string) (string, bool)
	GetAtt(logicalID, attr string) (string, bool)
	Pseudo(name string) (string, bool)
}

// Wiring resolves the template with the given parameter values (over the
// parameters' defaults) and resolver. It fails on what it cannot resolve,
// so that a template the local stack cannot run is not run half-wired.
func (t *Template) Wiring(params map[string]string, r Resolver) (*Wiring, error) {
	e, err := t.evaluator(params, r)
	if err != nil {
		return nil, err
	}
	w := &Wiring{Functions: map[string]*Function{}}
	globals := Map(Get(t.Globals, "Function"))
	for _, name := range slices.Sorted(maps.Keys(t.Functions())) {
		props := mergeGlobals(globals, t.Resources[name].Properties)
		fn, err := e.function(name, props)
		if err != nil {
			return nil, fmt.Errorf("template: %s: %w", name, err)
		}
		w.Functions[name] = fn
		for _, evName := range slices.Sorted(maps.Keys(Map(props["Events"]))) {
			ev := Map(Map(props["Events"])[evName])
			ep := Map(ev["Properties"])
			switch Str(ev["Type"]) {
			case "HttpApi":
				method, err := e.str(ep["Method"])
				if err != nil {
					return nil, fmt.Errorf("template: %s.%s: %w", name, evName, err)
				}
				path, err := e.str(ep["Path"])
				if err != nil {
					return nil, fmt.Errorf("template: %s.%s: %w", name, evName, err)
				}
				w.Routes = append(w.Routes, Route{Method: strings.ToUpper(method), Path: path, Function: name, Event: evName})
			case "S3":
				s3e := S3Event{Function: name, Bucket: Str(Get(ep, "Bucket", "Ref"))}
				for _, v := range List(ep["Events"]) {
					s, err := e.str(v)
					if err != nil {
						return nil, err
					}
					s3e.Events = append(s3e.Events, s)
				}
				for _, rule := range List(Get(ep, "Filter", "S3Key", "Rules")) {
					v, err := e.str(Map(rule)["Value"])
					if err != nil {
						return nil, err
					}
					switch strings.ToLower(Str(Map(rule)["Name"])) {
					case "prefix":
						s3e.Prefix = v
					case "suffix":
						s3e.Suffix = v
					}
				}
				w.S3Events = append(w.S3Events, s3e)
			}
		}
	}
	sort.Slice(w.Routes, func(i, j int) bool { return w.Routes[i].Key() < w.Routes[j].Key() })
	for name, res := range t.Resources {
		if res.Type != "AWS::Serverless::HttpApi" {
			continue
		}
		cors := Map(mergeGlobals(Map(Get(t.Globals, "HttpApi")), res.Properties)["CorsConfiguration"])
		if cors == nil {
			continue
		}
		var err error
		c := &w.CORS
		for field, dst := range map[string]*[]string{"AllowOrigins": &c.AllowOrigins, "AllowMethods": &c.AllowMethods, "AllowHeaders": &c.AllowHeaders, "ExposeHeaders": &c.ExposeHeaders} {
			if *dst, err = e.strs(cors[field]); err != nil {
				return nil, fmt.Errorf("template: %s.CorsConfiguration.%s: %w", name, field, err)
			}
		}
		if v, ok := cors["MaxAge"]; ok {
			s, err := e.str(v)
			if err != nil {
				return nil, err
			}
			c.MaxAge, _ = strconv.Atoi(s)
		}
		c.AllowCredentials, _ = cors["AllowCredentials"].(bool)
	}
	return w, nil
}

// Resolve evaluates one value of the template (a resource's property, say)
// as Wiring does.
func (t *Template) Resolve(v any, params map[string]string, r Resolver) (string, error) {
	e, err := t.evaluator(params, r)
	if err != nil {
		return "", err
	}
	return e.str(v)
}

func (t *Template) evaluator(params map[string]string, r Resolver) (*evaluator, error) {
	e := &evaluator{t: t, r: r, params: map[string]string{}}
	for name, p := range t.Parameters {
		if d, ok := Map(p)["Default"]; ok {
			e.params[name] = scalar(d)
		}
	}
	for k, v := range params {
		if _, ok := t.Parameters[k]; !ok {
			return nil, fmt.Errorf("template: no parameter %s", k)
		}
		e.params[k] = v
	}
	return e, nil
}

// Route returns the route with the given key, or false.
func (w *Wiring) Route(key string) (Route, bool) {
	for _, r := range w.Routes {
		if r.Key() == key {
			return r, true
		}
	}
	return Route{}, false
}

// mergeGlobals applies SAM's Globals: a function's own value wins, except
// that maps (Environment.Variables, Tags) are merged key by key.
func mergeGlobals(globals, props map[string]any) map[string]any {
	out := maps.Clone(props)
	if out == nil {
		out = map[string]any{}
	}
	for k, g := range globals {
		own, ok := out[k]
		if !ok {
			out[k] = g
			continue
		}
		gm, om := Map(g), Map(own)
		if gm != nil && om != nil {
			out[k] = mergeMaps(gm, om)
		}
	}
	return out
}

func mergeMaps(g, own map[string]any) map[string]any {
	out := maps.Clone(g)
	for k, v := range own {
		if gm, om := Map(out[k]), Map(v); gm != nil && om != nil {
			out[k] = mergeMaps(gm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func (e *evaluator) function(name string, props map[string]any) (*Function, error) {
	fn := &Function{Name: name, Env: map[string]string{}, MemoryMB: 128, Timeout: 3 * time.Second, MaxRetryAttempts: 2, MaxEventAge: 6 * time.Hour}
	for k, v := range Map(Get(props, "Environment", "Variables")) {
		s, err := e.str(v)
		if err != nil {
			return nil, fmt.Errorf("Environment.Variables.%s: %w", k, err)
		}
		fn.Env[k] = s
	}
	ints := []struct {
		v   any
		dst *int
	}{
		{props["MemorySize"], &fn.MemoryMB},
		{props["ReservedConcurrentExecutions"], &fn.ReservedConcurrency},
		{Get(props, "EventInvokeConfig", "MaximumRetryAttempts"), &fn.MaxRetryAttempts},
	}
	for _, iv := range ints {
		if iv.v == nil {
			continue
		}
		n, err := e.int(iv.v)
		if err != nil {
			return nil, err
		}
		*iv.dst = n
	}
	for _, d := range []struct {
		v   any
		dst *time.Duration
	}{{props["Timeout"], &fn.Timeout}, {Get(props, "EventInvokeConfig", "MaximumEventAgeInSeconds"), &fn.MaxEventAge}} {
		if d.v == nil {
			continue
		}
		n, err := e.int(d.v)
		if err != nil {
			return nil, err
		}
		*d.dst = time.Duration(n) * time.Second
	}
	if dest := Get(props, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination"); dest != nil {
		fn.OnFailure = logicalID(dest)
	}
	for _, l := range List(props["Layers"]) {
		fn.Layers = append(fn.Layers, logicalID(l))
	}
	return fn, nil
}

// logicalID returns the resource a !Ref or !GetAtt names.
func logicalID(v any) string {
	m := Map(v)
	if ref := Str(m["Ref"]); ref != "" {
		return ref
	}
	if ga := List(m["Fn::GetAtt"]); len(ga) > 0 {
		return Str(ga[0])
	}
	return Str(v)
}

// evaluator resolves CloudFormation's intrinsic functions: Ref, Fn::GetAtt,
// Fn::Sub, Fn::If with the template's Conditions (Fn::Equals, Fn::Not,
// Fn::And, Fn::Or), and Fn::Join. It is written here because no library the
// module proxy serves evaluates them (goformation parses, it does not
// resolve), and the template uses only these.
type evaluator struct {
	t      *Template
	r      Resolver
	params map[string]string
}

func scalar(v any) string {
	switch v := v.(type) {
	case []any:
		var s []string
		for _, x := range v {
			s = append(s, scalar(x))
		}
		return strings.Join(s, ",")
	default:
		return fmt.Sprint(v)
	}
}

func (e *evaluator) int(v any) (int, error) {
	s, err := e.str(v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

func (e *evaluator) strs(v any) ([]string, error) {
	val, err := e.eval(v)
	if err != nil {
		return nil, err
	}
	switch val := val.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []string
		for _, x := range val {
			s, err := e.str(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		// A CommaDelimitedList parameter's value.
		return strings.Split(val, ","), nil
	default:
		return []string{fmt.Sprint(val)}, nil
	}
}

func (e *evaluator) str(v any) (string, error) {
	val, err := e.eval(v)
	if err != nil {
		return "", err
	}
	return scalar(val), nil
}

var noValue = struct{}{}

func (e *evaluator) eval(v any) (any, error) {
	m := Map(v)
	if len(m) != 1 {
		if l, ok := v.([]any); ok {
			var out []any
			for _, x := range l {
				y, err := e.eval(x)
				if err != nil {
					return nil, err
				}
				if y != noValue {
					out = append(out, y)
				}
			}
			return out, nil
		}
		return v, nil
	}
	for fn, arg := range m {
		switch fn {
		case "Ref":
			name := Str(arg)
			if p, ok := e.params[name]; ok {
				return p, nil
			}
			if name == "AWS::NoValue" {
				return noValue, nil
			}
			if strings.HasPrefix(name, "AWS::") {
				if s, ok := e.r.Pseudo(name); ok {
					return s, nil
				}
				return nil, fmt.Errorf("no value for pseudo parameter %s", name)
			}
			if s, ok := e.r.Ref(name); ok {
				return s, nil
			}
			return nil, fmt.Errorf("!Ref %s: no local value", name)
		case "Fn::GetAtt":
			parts := List(arg)
			if len(parts) != 2 {
				return nil, fmt.Errorf("!GetAtt %v", arg)
			}
			if s, ok := e.r.GetAtt(Str(parts[0]), Str(parts[1])); ok {
				return s, nil
			}
			return nil, fmt.Errorf("!GetAtt %s.%s: no local value", Str(parts[0]), Str(parts[1]))
		case "Fn::Sub":
			return e.sub(arg)
		case "Fn::If":
			args := List(arg)
			if len(args) != 3 {
				return nil, fmt.Errorf("!If takes three values")
			}
			ok, err := e.condition(Str(args[0]))
			if err != nil {
				return nil, err
			}
			if ok {
				return e.eval(args[1])
			}
			return e.eval(args[2])
		case "Fn::Join":
			args := List(arg)
			if len(args) != 2 {
				return nil, fmt.Errorf("!Join takes two values")
			}
			parts, err := e.strs(args[1])
			if err != nil {
				return nil, err
			}
			return strings.Join(parts, Str(args[0])), nil
		case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
			return e.boolean(m)
		}
	}
	return v, nil
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (e *evaluator) sub(arg any) (any, error) {
	s, vars := Str(arg), map[string]any{}
	if l := List(arg); len(l) == 2 {
		s, vars = Str(l[0]), Map(l[1])
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		var v any
		if x, ok := vars[name]; ok {
			v = x
		} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v = map[string]any{"Fn::GetAtt": []any{res, attr}}
		} else {
			v = map[string]any{"Ref": name}
		}
		val, err := e.str(v)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return val
	})
	return out, firstErr
}

func (e *evaluator) condition(name string) (bool, error) {
	c, ok := Map(e.t.Conditions)[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	return e.boolean(c)
}

func (e *evaluator) boolean(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	m := Map(v)
	for fn, arg := range m {
		args := List(arg)
		switch fn {
		case "Condition":
			return e.condition(Str(arg))
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("!Equals takes two values")
			}
			a, err := e.str(args[0])
			if err != nil {
				return false, err
			}
			b, err := e.str(args[1])
			return a == b, err
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("!Not takes one value")
			}
			b, err := e.boolean(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			all := fn == "Fn::And"
			for _, a := range args {
				b, err := e.boolean(a)
				if err != nil {
					return false, err
				}
				if b != all {
					return b, nil
				}
			}
			return all, nil
		}
	}
	return false, fmt.Errorf("not a condition: %v", v)
}
