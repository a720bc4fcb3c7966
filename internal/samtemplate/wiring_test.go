package samtemplate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// names resolves resources and pseudo parameters as the local stack does.
type names map[string]string

func (n names) Ref(id string) (string, bool) { v, ok := n[id]; return v, ok }
func (n names) GetAtt(id, attr string) (string, bool) {
	v, ok := n[id+"."+attr]
	return v, ok
}
func (n names) Pseudo(p string) (string, bool) { v, ok := n[p]; return v, ok }

var local = names{
	"Table": "tbl", "Table.Arn": "arn:tbl", "HttpApi": "api", "TesseractLayer": "layer", "Bucket": "bkt",
	"DeadLetterQueue.Arn": "arn:dlq", "DeadLetterQueue.QueueName": "dlq", "DeadLetterQueue": "dlq-url",
	"AWS::StackName": "s3ocr", "AWS::AccountId": "000000000000", "AWS::Region": "eu-west-1",
	"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
	"AWS::StackId": "arn:aws:cloudformation:eu-west-1:000000000000:stack/s3ocr/id",
}

func TestWiring_TheTemplateAsItRuns(t *testing.T) {
	w, err := load(t).Wiring(map[string]string{"MaxPages": "7"}, local)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range w.Routes {
		keys = append(keys, r.Key()+" -> "+r.Function)
	}
	for _, want := range []string{"POST /uploads -> UploadFunction", "GET /uploads/{uploadId} -> StatusFunction", "GET /info -> StatusFunction"} {
		if !slices.Contains(keys, want) {
			t.Errorf("routes %v lack %s", keys, want)
		}
	}
	if len(w.S3Events) != 1 || w.S3Events[0].Function != "ProcessFunction" || w.S3Events[0].Prefix != "uploads/" || w.S3Events[0].Bucket != "Bucket" {
		t.Errorf("S3 events %+v", w.S3Events)
	}
	p := w.Functions["ProcessFunction"]
	if p.MemoryMB != 1769 || p.Timeout != 300*time.Second || p.ReservedConcurrency != 10 || p.MaxRetryAttempts != 2 || p.MaxEventAge != 6*time.Hour || p.OnFailure != "DeadLetterQueue" {
		t.Errorf("process function %+v", p)
	}
	if p.Env["TABLE_NAME"] != "tbl" || p.Env["BUCKET_NAME"] != "s3ocr-000000000000-eu-west-1" || p.Env["MAX_PAGES"] != "7" || p.Env["OMP_THREAD_LIMIT"] != "1" {
		t.Errorf("process env %v", p.Env)
	}
	if u := w.Functions["UploadFunction"]; u.MemoryMB != 256 || u.Timeout != 10*time.Second || u.ReservedConcurrency != 0 {
		t.Errorf("upload function %+v", u)
	}
	if !slices.Contains(w.CORS.AllowMethods, "POST") || len(w.CORS.AllowOrigins) == 0 || w.CORS.MaxAge != 600 {
		t.Errorf("CORS %+v", w.CORS)
	}
}

func TestWiring_GlobalsConditionsAndIntrinsics(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Parameters:
  Stage: {Type: String, Default: dev}
  Bus: {Type: String, Default: ""}
  Issuer: {Type: String, Default: ""}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasBus: !Not [!Equals [!Ref Bus, ""]]
  HasAuth: !Not [!Equals [!Ref Issuer, ""]]
Globals:
  Function:
    MemorySize: 512
    Timeout: 20
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: globals
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 30
      Environment:
        Variables:
          OVERRIDDEN: own
          SIZE: !If [IsProd, big, small]
          BUS: !If [HasBus, !Ref Bus, none]
          ARN: !Sub "arn:${AWS::Region}:${Table}:${Table.Arn}:${Extra}"
          JOINED: !Join ["-", [a, !Ref Stage]]
      Events:
        Put:
          Type: S3
          Properties:
            Bucket: !Ref B
            Events: [s3:ObjectCreated:Put]
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .pdf}]}}
  Api: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: HTTP}}
  Authz:
    Type: AWS::ApiGatewayV2::Authorizer
    Condition: HasAuth
    Properties:
      ApiId: !Ref Api
      AuthorizerType: JWT
      JwtConfiguration: {Issuer: !Ref Issuer, Audience: [aud1]}
  FInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt F.Arn, PayloadFormatVersion: "2.0"}
  GetThing:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: GET /things/{id}
      Target: !Sub "integrations/${FInteg}"
      AuthorizationType: !If [HasAuth, JWT, NONE]
      AuthorizerId: !If [HasAuth, !Ref Authz, !Ref AWS::NoValue]
  Fallback:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${FInteg}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := names{"AWS::Region": "r1", "Table": "t1", "Table.Arn": "arn:t1"}
	if _, err := tpl.Wiring(nil, r); err == nil || !strings.Contains(err.Error(), "Extra") {
		t.Fatalf("an unresolvable ${Extra} resolved: %v", err)
	}
	r["Extra"] = "x"
	w, err := tpl.Wiring(map[string]string{"Stage": "prod", "Bus": "b1"}, r)
	if err != nil {
		t.Fatal(err)
	}
	f := w.Functions["F"]
	want := map[string]string{"SHARED": "from-globals", "OVERRIDDEN": "own", "SIZE": "big", "BUS": "b1", "ARN": "arn:r1:t1:arn:t1:x", "JOINED": "a-prod"}
	for k, v := range want {
		if f.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, f.Env[k], v)
		}
	}
	if f.MemoryMB != 512 || f.Timeout != 30*time.Second || f.MaxEventAge != 6*time.Hour || f.MaxRetryAttempts != 2 {
		t.Errorf("function %+v", f)
	}
	if rt, ok := w.Route("GET /things/{id}"); !ok || rt.Function != "F" || rt.Auth != nil {
		t.Errorf("routes %+v", w.Routes)
	}
	if rt, ok := w.Route("$default"); !ok || rt.Function != "F" {
		t.Errorf("routes %+v", w.Routes)
	}
	authed, err := tpl.Wiring(map[string]string{"Issuer": "https://id.example"}, r)
	if err != nil {
		t.Fatal(err)
	}
	if rt, _ := authed.Route("GET /things/{id}"); rt.Auth == nil || rt.Auth.Issuer != "https://id.example" || !slices.Equal(rt.Auth.Audience, []string{"aud1"}) {
		t.Errorf("with an issuer, the route's authorizer is %+v", rt.Auth)
	}
	if rt, _ := authed.Route("$default"); rt.Auth != nil {
		t.Errorf("$default has no AuthorizationType but got %+v", rt.Auth)
	}
	ev := w.S3Events[0]
	if !ev.Matches("ObjectCreated:Put", "a/b.pdf") || ev.Matches("s3:ObjectCreated:Post", "a/b.pdf") || ev.Matches("ObjectCreated:Put", "a/b.png") {
		t.Errorf("S3 event filter %+v", ev)
	}
	if _, err := tpl.Wiring(map[string]string{"Nope": "1"}, r); err == nil {
		t.Error("an unknown parameter was accepted")
	}
}
