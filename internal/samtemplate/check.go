package samtemplate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/handler"
)

// loaders names each function of the template and how its code loads its
// settings: the variables a loader asks for are the ones the template must
// set.
var loaders = map[string]func(config.Getenv) error{
	"UploadFunction":  func(g config.Getenv) error { _, err := config.LoadUpload(g); return err },
	"StatusFunction":  func(g config.Getenv) error { _, err := config.LoadStatus(g); return err },
	"ProcessFunction": func(g config.Getenv) error { _, err := config.LoadProcess(g); return err },
}

// extraEnv are variables read by something other than the config loaders.
var extraEnv = map[string][]string{
	"ProcessFunction": {"OMP_THREAD_LIMIT"}, // libgomp, before main
}

// grant is what a function's code does with a resource: the IAM actions it
// needs, on what. "table" is the DynamoDB table, "bucket" the bucket itself,
// and an environment variable name stands for the object prefix it holds.
type grant map[string][]string

// grants is least privilege: exactly what each function's code calls.
var grants = map[string]grant{
	"UploadFunction": {
		"dynamodb:PutItem":    {"table"},                // Store.CreateUpload
		"dynamodb:UpdateItem": {"table"},                // Quotas.Spend
		"dynamodb:GetItem":    {"table"},                // Quotas.Used (which limit a refusal passed)
		"s3:PutObject":        {config.EnvUploadPrefix}, // the presigned POST is signed with this role
	},
	"StatusFunction": {
		"dynamodb:GetItem":    {"table"},                                                                  // Store.Upload, Store.Result, Quotas.Used (GET /info)
		"dynamodb:UpdateItem": {"table"},                                                                  // Store.RemoveResultRef (erasure)
		"dynamodb:DeleteItem": {"table"},                                                                  // Store.DeleteUpload, Store.DeleteResult (erasure)
		"s3:GetObject":        {config.EnvResultPrefix, config.EnvResponsePrefix, config.EnvUploadPrefix}, // results stored as objects; large answers' presigned GETs; originals for searchable PDFs
		"s3:DeleteObject":     {config.EnvUploadPrefix, config.EnvResultPrefix},                           // Objects.Delete: the erased upload's file, its result's object (erasure)
		"s3:PutObject":        {config.EnvResponsePrefix},                                                 // answers too large for a Lambda response
	},
	"ProcessFunction": {
		"dynamodb:GetItem":      {"table"},
		"dynamodb:PutItem":      {"table"},                                        // ClaimResult
		"dynamodb:UpdateItem":   {"table"},                                        // TransitionUpload, AddWaiter, AddResultRef, RenewClaim, ReleaseClaim, CompleteResult, ExtendResult, ExpireResult, AddPagesDone
		"dynamodb:DeleteItem":   {"table"},                                        // DeleteResult: the claims of a split document's ranges, once it is assembled
		"s3:GetObject":          {config.EnvUploadPrefix, config.EnvResultPrefix}, // the upload's file; a reused result's object, looked for and renewed (resultstore)
		"s3:PutObject":          {config.EnvResultPrefix},                         // large results, and their renewal (a copy onto itself)
		"s3:DeleteObject":       {config.EnvUploadPrefix, config.EnvResultPrefix}, // service.Retention: the file of a finished upload, unless KEEP_UPLOADS; the pages kept while reading (resultstore.Pages)
		"s3:ListBucket":         {"bucket"},
		"lambda:InvokeFunction": {"self"}, // rangequeue: the ranges of a split document are events of the function itself
	},
}

// lambdaSet are variables Lambda sets in every function's environment,
// which a template may not set (reserved keys).
var lambdaSet = []string{config.EnvFunctionName}

// policyTemplates are the SAM policy templates a function may use, each
// with the resource it must be scoped to.
var policyTemplates = map[string]map[string]string{
	"ProcessFunction": {
		"SQSSendMessagePolicy":       "DeadLetterQueue", // the async on-failure destination
		"EventBridgePutEventsPolicy": "EventBusName",    // completion events, when a bus is set
	},
}

// bucketName is the bucket's computed name; see template.yaml on why it is
// not a !Ref.
const bucketName = "${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"

// Check returns every way the template disagrees with the code or with the
// service's security rules; none means it is fit to deploy.
func Check(t *Template) []string {
	var p problems
	p.functions(t)
	p.environment(t)
	p.table(t)
	p.events(t)
	p.iam(t)
	p.bucket(t)
	p.api(t)
	p.routes(t)
	p.operations(t)
	sort.Strings(p)
	return p
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p *problems) functions(t *Template) {
	fns := t.Functions()
	for name := range loaders {
		if _, ok := fns[name]; !ok {
			p.add("%s: missing", name)
		}
	}
	for name, f := range fns {
		if _, ok := loaders[name]; !ok {
			p.add("%s: a function the code does not have", name)
		}
		props := f.Properties
		if Str(props["Runtime"]) != "provided.al2023" {
			p.add("%s: Runtime %v, want provided.al2023", name, props["Runtime"])
		}
		if Str(props["Handler"]) != "bootstrap" {
			p.add("%s: Handler %v, want bootstrap", name, props["Handler"])
		}
		if Str(f.Metadata["BuildMethod"]) != "makefile" {
			p.add("%s: Metadata.BuildMethod %v, want makefile", name, f.Metadata["BuildMethod"])
		}
		if archs := List(props["Architectures"]); len(archs) != 1 || Str(Get(archs[0], "Ref")) != "Architecture" {
			p.add("%s: Architectures %v, want [!Ref Architecture]", name, props["Architectures"])
		}
	}
	proc := t.Resources["ProcessFunction"].Properties
	if !slices.ContainsFunc(List(proc["Layers"]), func(l any) bool { return Str(Get(l, "Ref")) == "TesseractLayer" }) {
		p.add("ProcessFunction: Layers does not include the TesseractLayer")
	}
	eic := Map(proc["EventInvokeConfig"])
	if n, ok := eic["MaximumRetryAttempts"].(int); !ok || n > 2 {
		p.add("ProcessFunction: EventInvokeConfig.MaximumRetryAttempts %v, want at most 2", eic["MaximumRetryAttempts"])
	}
	if Str(Get(eic, "DestinationConfig", "OnFailure", "Type")) != "SQS" {
		p.add("ProcessFunction: no SQS on-failure destination")
	}
	// Status reports an upload processing for longer than STUCK_AFTER as
	// failed (timeout), which clients take as final: only right once every
	// attempt Lambda can make has ended. The last starts within the event
	// age (6 h when not set) and runs up to Lambda's 15-minute limit.
	age := 6 * time.Hour
	if n, ok := eic["MaximumEventAgeInSeconds"].(int); ok {
		age = time.Duration(n) * time.Second
	}
	stuck, err := time.ParseDuration(t.Env("StatusFunction")[config.EnvStuckAfter])
	if err != nil || stuck < age+15*time.Minute {
		p.add("StatusFunction: %s %q is not past every attempt of an event (its age %s plus Lambda's 15-minute limit)", config.EnvStuckAfter, t.Env("StatusFunction")[config.EnvStuckAfter], age)
	}
}

func (p *problems) environment(t *Template) {
	for name, load := range loaders {
		env := t.Env(name)
		var read []string
		err := load(func(k string) string { read = append(read, k); return env[k] })
		read = append(read, extraEnv[name]...)
		for _, k := range read {
			if _, ok := env[k]; !ok && !slices.Contains(lambdaSet, k) {
				p.add("%s: environment variable %s is read by the code but not set", name, k)
			}
		}
		if err != nil {
			p.add("%s: the code refuses the template's settings: %v", name, err)
		}
		if v, ok := env[config.EnvBucket]; ok && v != "<map[Fn::Sub:"+bucketName+"]>" {
			p.add("%s: %s is %s, not the bucket's name", name, config.EnvBucket, v)
		}
		if v, ok := env[config.EnvTable]; ok && v != "<map[Ref:Table]>" {
			p.add("%s: %s is %s, not !Ref Table", name, config.EnvTable, v)
		}
	}
	if env := t.Env("ProcessFunction"); env["OMP_THREAD_LIMIT"] != "1" {
		p.add("ProcessFunction: OMP_THREAD_LIMIT is %q, want 1", env["OMP_THREAD_LIMIT"])
	}
}

func (p *problems) table(t *Template) {
	tbl, ok := t.Resources["Table"]
	if !ok || tbl.Type != "AWS::DynamoDB::Table" {
		p.add("Table: missing")
		return
	}
	props := tbl.Properties
	if Str(props["BillingMode"]) != "PAY_PER_REQUEST" {
		p.add("Table: BillingMode %v, want PAY_PER_REQUEST", props["BillingMode"])
	}
	keys := List(props["KeySchema"])
	if len(keys) != 1 || Str(Get(keys[0], "AttributeName")) != dynamostore.PartitionKey || Str(Get(keys[0], "KeyType")) != "HASH" {
		p.add("Table: KeySchema %v, want one HASH key %q", keys, dynamostore.PartitionKey)
	}
	ttl := Map(props["TimeToLiveSpecification"])
	if Str(ttl["AttributeName"]) != dynamostore.TTLAttribute || ttl["Enabled"] != true {
		p.add("Table: TimeToLiveSpecification %v, want %q enabled (the attribute the code writes)", ttl, dynamostore.TTLAttribute)
	}
	if _, ok := props["PointInTimeRecoverySpecification"]; !ok {
		p.add("Table: no PointInTimeRecoverySpecification")
	}
}

func (p *problems) events(t *Template) {
	env := t.Env("ProcessFunction")
	uploads, results := env[config.EnvUploadPrefix], env[config.EnvResultPrefix]
	if uploads == "" || strings.HasPrefix(results, uploads) || strings.HasPrefix(uploads, results) {
		p.add("ProcessFunction: upload prefix %q and result prefix %q overlap: stored results would trigger processing", uploads, results)
	}
	var s3Events int
	for name, f := range t.Functions() {
		for evName, ev := range Map(f.Properties["Events"]) {
			if Str(Get(ev, "Type")) != "S3" {
				continue
			}
			s3Events++
			if name != "ProcessFunction" {
				p.add("%s: S3 event %s: only the process function is triggered by S3", name, evName)
				continue
			}
			props := Map(Get(ev, "Properties"))
			if Str(Get(props["Bucket"], "Ref")) != "Bucket" {
				p.add("ProcessFunction: S3 event %s is not on the template's Bucket", evName)
			}
			var prefixes []string
			for _, r := range List(Get(props, "Filter", "S3Key", "Rules")) {
				if strings.EqualFold(Str(Get(r, "Name")), "prefix") {
					prefixes = append(prefixes, Str(Get(r, "Value")))
				}
			}
			if len(prefixes) != 1 || prefixes[0] != uploads {
				p.add("ProcessFunction: S3 event %s filters on prefixes %v, want exactly %q (UPLOAD_PREFIX)", evName, prefixes, uploads)
			}
		}
	}
	if s3Events != 1 {
		p.add("ProcessFunction: %d S3 events, want 1", s3Events)
	}
}

// resourceKind names what an IAM resource is: "table", "bucket", an object
// prefix ("prefix:uploads/"), or "" for anything else.
func resourceKind(r any) string {
	if ga := List(Get(r, "Fn::GetAtt")); len(ga) == 2 && Str(ga[0]) == "Table" && Str(ga[1]) == "Arn" {
		return "table"
	}
	sub := Str(Get(r, "Fn::Sub"))
	if fn, ok := strings.CutPrefix(sub, "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"); ok {
		return "function:" + fn
	}
	rest, ok := strings.CutPrefix(sub, "arn:${AWS::Partition}:s3:::"+bucketName)
	switch {
	case !ok:
		return ""
	case rest == "":
		return "bucket"
	case strings.HasPrefix(rest, "/") && strings.HasSuffix(rest, "*") && len(rest) > 2:
		return "prefix:" + strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "*")
	}
	return ""
}

func (p *problems) iam(t *Template) {
	for name, f := range t.Functions() {
		g, env := grants[name], t.Env(name)
		allowedTemplates := policyTemplates[name]
		for _, pol := range policies(f.Properties["Policies"]) {
			switch pol := pol.(type) {
			case string:
				p.add("%s: managed policy %s: grant only the actions the code uses", name, pol)
			case map[string]any:
				if _, ok := pol["Statement"]; !ok {
					for tmpl, args := range pol {
						want, ok := allowedTemplates[tmpl]
						if !ok {
							p.add("%s: policy template %s is not one this function needs", name, tmpl)
							continue
						}
						if !strings.Contains(fmt.Sprint(args), want) {
							p.add("%s: policy template %s is not scoped to %s", name, tmpl, want)
						}
					}
					continue
				}
				self := Str(Get(f.Properties["FunctionName"], "Fn::Sub"))
				for _, st := range List(pol["Statement"]) {
					p.statement(name, g, env, self, Map(st))
				}
			}
		}
	}
}

// policies lists a function's policies, taking both branches of an !If
// (a policy granted only under a condition) and dropping AWS::NoValue.
func policies(v any) []any {
	var out []any
	for _, pol := range List(v) {
		if branches := List(Get(pol, "Fn::If")); len(branches) == 3 {
			out = append(out, policies(branches[1:])...)
			continue
		}
		if Str(Get(pol, "Ref")) == "AWS::NoValue" {
			continue
		}
		out = append(out, pol)
	}
	return out
}

func (p *problems) statement(fn string, g grant, env map[string]string, self string, st map[string]any) {
	if Str(st["Effect"]) != "Allow" {
		return
	}
	for _, a := range List(st["Action"]) {
		action := Str(a)
		kinds, ok := g[action]
		if !ok {
			p.add("%s: allowed %s, which its code does not use", fn, action)
			continue
		}
		for _, r := range List(st["Resource"]) {
			if Str(r) == "*" {
				p.add("%s: %s on Resource \"*\"", fn, action)
				continue
			}
			kind := resourceKind(r)
			allowed := false
			for _, k := range kinds {
				switch {
				case k == "table" || k == "bucket":
					allowed = allowed || kind == k
				case k == "self": // the function's own ARN, by its FunctionName
					allowed = allowed || (self != "" && kind == "function:"+self)
				default: // an environment variable holding an object prefix
					allowed = allowed || kind == "prefix:"+env[k]
				}
			}
			if !allowed {
				p.add("%s: %s on %v, outside what it needs (%v)", fn, action, r, kinds)
			}
		}
	}
}

func (p *problems) bucket(t *Template) {
	b, ok := t.Resources["Bucket"]
	if !ok || b.Type != "AWS::S3::Bucket" {
		p.add("Bucket: missing")
		return
	}
	props := b.Properties
	if Str(Get(props["BucketName"], "Fn::Sub")) != bucketName {
		p.add("Bucket: BucketName %v, want !Sub %s (the name the functions use)", props["BucketName"], bucketName)
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if Get(props, "PublicAccessBlockConfiguration", k) != true {
			p.add("Bucket: PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	if len(List(Get(props, "BucketEncryption", "ServerSideEncryptionConfiguration"))) == 0 {
		p.add("Bucket: no default encryption")
	}
	var expiring []string
	for _, r := range List(Get(props, "LifecycleConfiguration", "Rules")) {
		if Get(r, "ExpirationInDays") != nil && Str(Get(r, "Status")) == "Enabled" {
			expiring = append(expiring, Str(Get(r, "Prefix")))
		}
	}
	env := t.Env("ProcessFunction")
	for _, prefix := range []string{env[config.EnvUploadPrefix], env[config.EnvResultPrefix]} {
		if !slices.Contains(expiring, prefix) {
			p.add("Bucket: no lifecycle rule expires objects under %q", prefix)
		}
	}
	// Uploads (POST) come only from the page's origins; any origin may GET,
	// as the presigned URL alone grants a read (see template.yaml).
	for _, rule := range List(Get(props, "CorsConfiguration", "CorsRules")) {
		methods := fmt.Sprint(List(Get(rule, "AllowedMethods")))
		if strings.Contains(methods, "POST") || strings.Contains(methods, "PUT") || strings.Contains(methods, "DELETE") {
			if Str(Get(Get(rule, "AllowedOrigins"), "Ref")) != "AllowedOrigins" {
				p.add("Bucket: CORS lets origins other than AllowedOrigins write (%s)", methods)
			}
		}
	}
	if len(List(Get(props, "CorsConfiguration", "CorsRules"))) == 0 {
		p.add("Bucket: CORS does not take its origins from the AllowedOrigins parameter")
	}
	denied := false
	for _, r := range t.Resources {
		if r.Type != "AWS::S3::BucketPolicy" || Str(Get(r.Properties["Bucket"], "Ref")) != "Bucket" {
			continue
		}
		for _, st := range List(Get(r.Properties, "PolicyDocument", "Statement")) {
			if Str(Get(st, "Effect")) == "Deny" && Get(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
				denied = true
			}
		}
	}
	if !denied {
		p.add("Bucket: no bucket policy denies requests without TLS")
	}
}

// publicRoutes stay open when the API has an authorizer: GET /info says
// what the service accepts (and, with a token, the caller's quota), and
// $default serves the browser page and answers unknown paths. Every other
// route is the caller's own data.
var publicRoutes = []string{handler.RouteInfo, handler.RouteDefault}

// routes checks the template's routes against the routes the code serves:
// a route the code serves that the template lacks would not exist once
// deployed, and a route the template adds that the code does not serve
// would answer not_found. With AuthIssuer set, every route but the public
// ones must carry the JWT authorizer, and without it none may; and API
// Gateway must be allowed to invoke each function it integrates.
func (p *problems) routes(t *Template) {
	w, err := t.Wiring(nil, deployResolver{})
	if err != nil {
		p.add("%v", err)
		return
	}
	served := map[string]bool{}
	for _, r := range w.Routes {
		served[r.Key()] = true
		if !slices.Contains(handler.RouteKeys, r.Key()) {
			p.add("%s: route %s is not one the code serves", r.Function, r.Key())
		}
		if r.Auth != nil {
			p.add("%s: route %s has an authorizer with AuthIssuer empty", r.Resource, r.Key())
		}
		if !p.invokable(t, r.Function) {
			p.add("%s: no AWS::Lambda::Permission lets API Gateway invoke %s", r.Resource, r.Function)
		}
	}
	for _, k := range handler.RouteKeys {
		if !served[k] {
			p.add("route %s is served by the code but the template has no AWS::ApiGatewayV2::Route for it", k)
		}
	}
	authed, err := t.Wiring(map[string]string{"AuthIssuer": "https://issuer.example", "AuthAudience": "s3ocr"}, deployResolver{})
	if err != nil {
		p.add("with AuthIssuer set: %v", err)
		return
	}
	for _, r := range authed.Routes {
		public := slices.Contains(publicRoutes, r.Key())
		switch {
		case public && r.Auth != nil:
			p.add("%s: route %s is public but has the authorizer", r.Resource, r.Key())
		case !public && r.Auth == nil:
			p.add("%s: route %s is open with AuthIssuer set", r.Resource, r.Key())
		case !public && (r.Auth.Issuer != "https://issuer.example" || !slices.Equal(r.Auth.Audience, []string{"s3ocr"})):
			p.add("%s: route %s's authorizer is not AuthIssuer/AuthAudience (%q, %q)", r.Resource, r.Key(), r.Auth.Issuer, r.Auth.Audience)
		}
	}
}

// invokable reports whether an AWS::Lambda::Permission lets API Gateway
// invoke the function.
func (p *problems) invokable(t *Template, fn string) bool {
	for _, r := range t.Resources {
		if r.Type == "AWS::Lambda::Permission" && logicalID(r.Properties["FunctionName"]) == fn &&
			Str(r.Properties["Principal"]) == "apigateway.amazonaws.com" && Str(r.Properties["Action"]) == "lambda:InvokeFunction" {
			return true
		}
	}
	return false
}

// operations checks what an operator relies on: every function's log group
// made by the template with the LogRetentionDays retention (Lambda's own
// would keep logs forever), and alarms on the dead-letter queue and on the
// process function's errors and throttles.
func (p *problems) operations(t *Template) {
	groups := map[string]bool{}
	alarms := map[string]bool{}
	for name, r := range t.Resources {
		switch r.Type {
		case "AWS::Logs::LogGroup":
			sub := Str(Get(r.Properties, "LogGroupName", "Fn::Sub"))
			fn, ok := strings.CutPrefix(sub, "/aws/lambda/${")
			if !ok {
				continue
			}
			fn = strings.TrimSuffix(fn, "}")
			groups[fn] = true
			if Str(Get(r.Properties, "RetentionInDays", "Ref")) != "LogRetentionDays" {
				p.add("%s: log retention is not the LogRetentionDays parameter", name)
			}
		case "AWS::CloudWatch::Alarm":
			alarms[Str(r.Properties["MetricName"])] = true
		}
	}
	for fn := range t.Functions() {
		if !groups[fn] {
			p.add("%s: no log group with a retention", fn)
		}
	}
	for _, m := range []string{"ApproximateNumberOfMessagesVisible", "Errors", "Throttles"} {
		if !alarms[m] {
			p.add("no alarm on %s", m)
		}
	}
}

// deployResolver stands for CloudFormation when no real values are needed:
// every name resolves to a placeholder.
type deployResolver struct{}

func (deployResolver) Ref(id string) (string, bool) { return "<" + id + ">", true }
func (deployResolver) GetAtt(id, attr string) (string, bool) {
	return "<" + id + "." + attr + ">", true
}
func (deployResolver) Pseudo(name string) (string, bool) { return "<" + name + ">", true }

func (p *problems) api(t *Template) {
	var apis, stages int
	for name, r := range t.Resources {
		switch r.Type {
		case "AWS::Serverless::HttpApi":
			p.add("%s: a SAM HttpApi; the API is plain AWS::ApiGatewayV2 resources, so that its authorizer can be conditional", name)
		case "AWS::ApiGatewayV2::Api":
			apis++
			if Str(Get(r.Properties, "CorsConfiguration", "AllowOrigins", "Ref")) != "AllowedOrigins" {
				p.add("%s: CORS does not take its origins from the AllowedOrigins parameter", name)
			}
			var headers []string
			for _, h := range List(Get(r.Properties, "CorsConfiguration", "AllowHeaders")) {
				headers = append(headers, strings.ToLower(Str(h)))
			}
			if !slices.Contains(headers, "authorization") {
				p.add("%s: CORS does not allow the Authorization header the page sends its token in", name)
			}
		case "AWS::ApiGatewayV2::Stage":
			stages++
			if Get(r.Properties, "DefaultRouteSettings", "ThrottlingBurstLimit") == nil || Get(r.Properties, "DefaultRouteSettings", "ThrottlingRateLimit") == nil {
				p.add("%s: no stage throttling", name)
			}
			if v := Get(r.Properties, "AutoDeploy"); v != true {
				p.add("%s: AutoDeploy is not true, so route changes would not be deployed", name)
			}
		}
	}
	if apis != 1 || stages != 1 {
		p.add("%d AWS::ApiGatewayV2::Api and %d stages, want one of each", apis, stages)
	}
	if def := fmt.Sprint(Get(t.Parameters["AllowedOrigins"], "Default")); strings.Contains(def, "*") {
		p.add("AllowedOrigins: default %q allows any origin", def)
	}
}
