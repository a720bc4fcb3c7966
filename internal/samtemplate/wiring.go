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
	Routes    []Route              // the HTTP API's routes, sorted by route key
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

// Route is an AWS::ApiGatewayV2::Route of the HTTP API: method and path to
// the function its Lambda proxy integration invokes.
type Route struct {
	Method, Path string
	Function     string
	Resource     string   // the route's logical id
	Auth         *JWTAuth // the JWT authorizer that guards it, or nil when it is open
}

// JWTAuth is a JWT authorizer: API Gateway accepts a request when its
// Authorization header holds a token signed by a key of the issuer's JWKS,
// from the issuer, for one of the audiences, and within exp and nbf.
type JWTAuth struct {
	Issuer   string
	Audience []string
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
				return nil, fmt.Errorf("template: %s.%s: HttpApi events are not read; declare the route as an AWS::ApiGatewayV2::Route", name, evName)
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
	if w.Routes, err = e.routes(); err != nil {
		return nil, err
	}
	for name, res := range t.Resources {
		if res.Type != "AWS::ApiGatewayV2::Api" {
			continue
		}
		cors := Map(res.Properties["CorsConfiguration"])
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

// routes reads the HTTP API's AWS::ApiGatewayV2::Route resources that exist
// under the parameters: each route's key, the function its integration
// invokes (IntegrationUri !GetAtt F.Arn), and its JWT authorizer when its
// AuthorizationType is JWT.
func (e *evaluator) routes() ([]Route, error) {
	var out []Route
	for _, id := range slices.Sorted(maps.Keys(e.t.Resources)) {
		res := e.t.Resources[id]
		if res.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		if ok, err := e.exists(res); err != nil || !ok {
			if err != nil {
				return nil, fmt.Errorf("template: %s: %w", id, err)
			}
			continue
		}
		rt, err := e.route(id, res.Properties)
		if err != nil {
			return nil, fmt.Errorf("template: %s: %w", id, err)
		}
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// branch picks the branch of Fn::If (nested ones too) the conditions take,
// without resolving it: a !Ref left as the logical id it names.
func (e *evaluator) branch(v any) (any, error) {
	for {
		m := Map(v)
		args := List(m["Fn::If"])
		if len(m) != 1 || len(args) != 3 {
			return v, nil
		}
		ok, err := e.condition(Str(args[0]))
		if err != nil {
			return nil, err
		}
		if ok {
			v = args[1]
		} else {
			v = args[2]
		}
	}
}

// exists reports whether a resource is created under the parameters: it has
// no Condition, or its condition holds.
func (e *evaluator) exists(res Resource) (bool, error) {
	if res.Condition == "" {
		return true, nil
	}
	return e.condition(res.Condition)
}

func (e *evaluator) route(id string, props map[string]any) (Route, error) {
	key, err := e.str(props["RouteKey"])
	if err != nil {
		return Route{}, fmt.Errorf("RouteKey: %w", err)
	}
	rt := Route{Resource: id}
	if key == "$default" {
		rt.Path = key
	} else {
		method, path, ok := strings.Cut(key, " ")
		if !ok {
			return Route{}, fmt.Errorf("RouteKey %q is not \"METHOD /path\"", key)
		}
		rt.Method, rt.Path = strings.ToUpper(method), path
	}
	// Target is "integrations/${SomeIntegration}", a Sub of the
	// integration's id.
	integ, ok := strings.CutPrefix(Str(Get(props, "Target", "Fn::Sub")), "integrations/${")
	integ = strings.TrimSuffix(integ, "}")
	ir, found := e.t.Resources[integ]
	if !ok || !found || ir.Type != "AWS::ApiGatewayV2::Integration" {
		return Route{}, fmt.Errorf("Target is not !Sub \"integrations/${<an AWS::ApiGatewayV2::Integration>}\"")
	}
	if t := Str(ir.Properties["IntegrationType"]); t != "AWS_PROXY" {
		return Route{}, fmt.Errorf("%s: IntegrationType %q, want AWS_PROXY", integ, t)
	}
	if v := scalar(ir.Properties["PayloadFormatVersion"]); v != "2.0" {
		return Route{}, fmt.Errorf("%s: PayloadFormatVersion %q, want 2.0", integ, v)
	}
	ga := List(Get(ir.Properties, "IntegrationUri", "Fn::GetAtt"))
	if len(ga) != 2 || Str(ga[1]) != "Arn" || e.t.Resources[Str(ga[0])].Type != "AWS::Serverless::Function" {
		return Route{}, fmt.Errorf("%s: IntegrationUri is not !GetAtt <function>.Arn", integ)
	}
	rt.Function = Str(ga[0])
	authType := "NONE"
	if v, ok := props["AuthorizationType"]; ok {
		if authType, err = e.str(v); err != nil {
			return Route{}, fmt.Errorf("AuthorizationType: %w", err)
		}
	}
	switch authType {
	case "NONE":
	case "JWT":
		v, err := e.branch(props["AuthorizerId"])
		if err != nil {
			return Route{}, fmt.Errorf("AuthorizerId: %w", err)
		}
		authz := logicalID(v)
		ar, ok := e.t.Resources[authz]
		if !ok || ar.Type != "AWS::ApiGatewayV2::Authorizer" {
			return Route{}, fmt.Errorf("AuthorizationType JWT without an AuthorizerId that is !Ref to an AWS::ApiGatewayV2::Authorizer")
		}
		if ok, err := e.exists(ar); err != nil || !ok {
			return Route{}, fmt.Errorf("authorizer %s does not exist under these parameters", authz)
		}
		if t := Str(ar.Properties["AuthorizerType"]); t != "JWT" {
			return Route{}, fmt.Errorf("%s: AuthorizerType %q, want JWT", authz, t)
		}
		a := &JWTAuth{}
		if a.Issuer, err = e.str(Get(ar.Properties, "JwtConfiguration", "Issuer")); err != nil {
			return Route{}, fmt.Errorf("%s: Issuer: %w", authz, err)
		}
		if a.Audience, err = e.strs(Get(ar.Properties, "JwtConfiguration", "Audience")); err != nil {
			return Route{}, fmt.Errorf("%s: Audience: %w", authz, err)
		}
		if a.Issuer == "" || len(a.Audience) == 0 || slices.Contains(a.Audience, "") {
			return Route{}, fmt.Errorf("%s: a JWT authorizer needs an issuer and an audience (got %q, %q)", authz, a.Issuer, a.Audience)
		}
		rt.Auth = a
	default:
		return Route{}, fmt.Errorf("AuthorizationType %q: the local gateway knows NONE and JWT", authType)
	}
	return rt, nil
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
