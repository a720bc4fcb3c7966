package samtemplate_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/api/apitest"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

func load(t *testing.T) *samtemplate.Template {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestTemplate_AgreesWithTheCode(t *testing.T) {
	for _, p := range samtemplate.Check(load(t)) {
		t.Error(p)
	}
}

func TestParse_ShortFormTags(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  F:
    Type: X
    Properties:
      A: !Ref Table
      B: !GetAtt Table.Arn
      C: !Sub "arn:${AWS::Partition}:s3:::b/*"
      D: !If [Cond, true, false]
      E: [!Ref X, plain]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := tpl.Resources["F"].Properties
	for k, want := range map[string]string{
		"A": "map[Ref:Table]", "B": "map[Fn::GetAtt:[Table Arn]]", "C": "map[Fn::Sub:arn:${AWS::Partition}:s3:::b/*]",
		"D": "map[Fn::If:[Cond true false]]", "E": "[map[Ref:X] plain]",
	} {
		if got := fmtv(p[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
}

// A broken template must fail the check, each break with a problem that
// names it.
func TestCheck_BrokenTemplatesFail(t *testing.T) {
	type props = map[string]any
	fn := func(tpl *samtemplate.Template, name string) props { return tpl.Resources[name].Properties }
	statements := func(tpl *samtemplate.Template, name string) []any {
		return samtemplate.List(samtemplate.Map(samtemplate.List(fn(tpl, name)["Policies"])[0])["Statement"])
	}
	for _, tc := range []struct {
		name    string
		breakIt func(tpl *samtemplate.Template)
		want    string
	}{
		{"wrong runtime", func(tpl *samtemplate.Template) { fn(tpl, "StatusFunction")["Runtime"] = "go1.x" }, "StatusFunction: Runtime"},
		{"wrong handler", func(tpl *samtemplate.Template) { fn(tpl, "UploadFunction")["Handler"] = "main" }, "UploadFunction: Handler"},
		{"fixed architecture", func(tpl *samtemplate.Template) { fn(tpl, "ProcessFunction")["Architectures"] = []any{"arm64"} }, "ProcessFunction: Architectures"},
		{"no layer", func(tpl *samtemplate.Template) { delete(fn(tpl, "ProcessFunction"), "Layers") }, "TesseractLayer"},
		{"missing env var", func(tpl *samtemplate.Template) {
			delete(samtemplate.Map(samtemplate.Get(fn(tpl, "StatusFunction"), "Environment", "Variables")), "TABLE_NAME")
		}, "StatusFunction: environment variable TABLE_NAME"},
		{"unparsable setting", func(tpl *samtemplate.Template) {
			samtemplate.Map(samtemplate.Get(fn(tpl, "ProcessFunction"), "Environment", "Variables"))["RESULT_TTL"] = "a month"
		}, "ProcessFunction: the code refuses"},
		{"no OMP_THREAD_LIMIT", func(tpl *samtemplate.Template) {
			delete(samtemplate.Map(samtemplate.Get(fn(tpl, "ProcessFunction"), "Environment", "Variables")), "OMP_THREAD_LIMIT")
		}, "OMP_THREAD_LIMIT"},
		{"TTL attribute renamed", func(tpl *samtemplate.Template) {
			samtemplate.Map(fn(tpl, "Table")["TimeToLiveSpecification"])["AttributeName"] = "ttl"
		}, "Table: TimeToLiveSpecification"},
		{"event on every key", func(tpl *samtemplate.Template) {
			ev := samtemplate.Map(samtemplate.Get(fn(tpl, "ProcessFunction"), "Events", "Uploaded", "Properties"))
			delete(ev, "Filter")
		}, "filters on prefixes []"},
		{"results under the upload prefix", func(tpl *samtemplate.Template) {
			samtemplate.Map(samtemplate.Get(fn(tpl, "ProcessFunction"), "Environment", "Variables"))["RESULT_PREFIX"] = "uploads/results/"
		}, "overlap"},
		{"upload function reads results", func(tpl *samtemplate.Template) {
			st := samtemplate.Map(statements(tpl, "UploadFunction")[1])
			st["Action"] = []any{"s3:PutObject", "s3:GetObject"}
		}, "UploadFunction: allowed s3:GetObject"},
		{"any origin may upload", func(tpl *samtemplate.Template) {
			rules := samtemplate.List(samtemplate.Get(tpl.Resources["Bucket"].Properties, "CorsConfiguration", "CorsRules"))
			samtemplate.Map(rules[0])["AllowedOrigins"] = []any{"*"}
		}, "Bucket: CORS lets origins other than AllowedOrigins write"},
		{"logs kept forever", func(tpl *samtemplate.Template) {
			delete(tpl.Resources, "ProcessFunctionLogGroup")
		}, "ProcessFunction: no log group with a retention"},
		{"no dead-letter alarm", func(tpl *samtemplate.Template) {
			delete(tpl.Resources, "DeadLetterAlarm")
		}, "no alarm on ApproximateNumberOfMessagesVisible"},
		{"status function writes uploads", func(tpl *samtemplate.Template) {
			st := samtemplate.Map(statements(tpl, "StatusFunction")[1])
			st["Action"] = []any{"s3:PutObject"}
			st["Resource"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}/uploads/*"}
		}, "StatusFunction: s3:PutObject on"},
		{"whole bucket", func(tpl *samtemplate.Template) {
			st := samtemplate.Map(statements(tpl, "UploadFunction")[1])
			st["Resource"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}/*"}
		}, "UploadFunction: s3:PutObject on"},
		{"wildcard resource", func(tpl *samtemplate.Template) {
			samtemplate.Map(statements(tpl, "StatusFunction")[0])["Resource"] = "*"
		}, `StatusFunction: dynamodb:GetItem on Resource "*"`},
		{"scan allowed", func(tpl *samtemplate.Template) {
			samtemplate.Map(statements(tpl, "UploadFunction")[0])["Action"] = []any{"dynamodb:PutItem", "dynamodb:Scan"}
		}, "UploadFunction: allowed dynamodb:Scan"},
		{"managed policy", func(tpl *samtemplate.Template) {
			f := fn(tpl, "StatusFunction")
			f["Policies"] = append(samtemplate.List(f["Policies"]), "AmazonS3FullAccess")
		}, "managed policy AmazonS3FullAccess"},
		{"public bucket", func(tpl *samtemplate.Template) {
			samtemplate.Map(fn(tpl, "Bucket")["PublicAccessBlockConfiguration"])["BlockPublicPolicy"] = false
		}, "BlockPublicPolicy"},
		{"no encryption", func(tpl *samtemplate.Template) { delete(fn(tpl, "Bucket"), "BucketEncryption") }, "no default encryption"},
		{"TLS not enforced", func(tpl *samtemplate.Template) { delete(tpl.Resources, "BucketPolicy") }, "without TLS"},
		{"results kept forever", func(tpl *samtemplate.Template) {
			delete(samtemplate.Map(fn(tpl, "Bucket")), "LifecycleConfiguration")
		}, `no lifecycle rule expires objects under "results/"`},
		{"CORS for any origin", func(tpl *samtemplate.Template) {
			samtemplate.Map(tpl.Parameters["AllowedOrigins"])["Default"] = "*"
		}, "allows any origin"},
		{"unbounded retries", func(tpl *samtemplate.Template) {
			samtemplate.Map(fn(tpl, "ProcessFunction")["EventInvokeConfig"])["MaximumRetryAttempts"] = 5
		}, "MaximumRetryAttempts"},
		{"private route left open", func(tpl *samtemplate.Template) {
			fn(tpl, "DeleteUploadRoute")["AuthorizationType"] = "NONE"
			delete(fn(tpl, "DeleteUploadRoute"), "AuthorizerId")
		}, "DeleteUploadRoute: route DELETE /uploads/{uploadId} is open with AuthIssuer set"},
		{"info behind the authorizer", func(tpl *samtemplate.Template) {
			fn(tpl, "InfoRoute")["AuthorizationType"] = fn(tpl, "GetUploadRoute")["AuthorizationType"]
			fn(tpl, "InfoRoute")["AuthorizerId"] = fn(tpl, "GetUploadRoute")["AuthorizerId"]
		}, "InfoRoute: route GET /info is public but has the authorizer"},
		{"route dropped", func(tpl *samtemplate.Template) { delete(tpl.Resources, "CreateUploadRoute") }, "route POST /uploads is served by the code but the template has no"},
		{"API Gateway may not invoke", func(tpl *samtemplate.Template) { delete(tpl.Resources, "StatusApiPermission") }, "no AWS::Lambda::Permission lets API Gateway invoke StatusFunction"},
		{"token header refused by CORS", func(tpl *samtemplate.Template) {
			samtemplate.Map(fn(tpl, "HttpApi")["CorsConfiguration"])["AllowHeaders"] = []any{"content-type"}
		}, "Authorization header"},
		{"stuck before the last attempt", func(tpl *samtemplate.Template) {
			samtemplate.Map(fn(tpl, "ProcessFunction")["EventInvokeConfig"])["MaximumEventAgeInSeconds"] = 8 * 3600
		}, "StatusFunction: STUCK_AFTER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := load(t)
			tc.breakIt(tpl)
			got := samtemplate.Check(tpl)
			for _, p := range got {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Fatalf("no problem mentions %q; got %q", tc.want, got)
		})
	}
}

func fmtv(v any) string { return fmt.Sprint(v) }

// The routes the template deploys are the routes the API description gives
// (the catch-all $default route answers only errors, which every path of
// the description may).
func TestTemplate_RoutesAreTheOpenAPIPaths(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	w, err := load(t).Wiring(nil, local)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, r := range w.Routes {
		if r.Key() != "$default" {
			routes = append(routes, r.Key())
		}
	}
	paths := spec.Paths()
	slices.Sort(routes)
	slices.Sort(paths)
	if !slices.Equal(routes, paths) {
		t.Fatalf("template routes %v, openapi.yaml paths %v", routes, paths)
	}
}
