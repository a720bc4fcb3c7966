package samtemplate_test

import (
	"fmt"
	"testing"

	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// The bucket's lifecycle of results/ and the process function's RESULT_TTL
// come from one parameter, whose bounds are the ones config accepts: a
// large result's object and its record follow one rule (resultstore).
func TestTemplate_ResultObjectsAndRecordsExpireByOneParameter(t *testing.T) {
	tpl := load(t)
	var rule any
	for _, r := range samtemplate.List(samtemplate.Get(tpl.Resources["Bucket"].Properties, "LifecycleConfiguration", "Rules")) {
		if samtemplate.Str(samtemplate.Get(r, "Prefix")) == "results/" {
			rule = r
		}
	}
	if got := samtemplate.Str(samtemplate.Get(rule, "ExpirationInDays", "Ref")); got != "ResultTTLDays" {
		t.Errorf("results/ lifecycle ExpirationInDays = %v, want !Ref ResultTTLDays", samtemplate.Get(rule, "ExpirationInDays"))
	}
	env := samtemplate.Get(tpl.Resources["ProcessFunction"].Properties, "Environment", "Variables", config.EnvResultTTL, "Ref")
	if samtemplate.Str(env) != "ResultTTLDays" {
		t.Errorf("ProcessFunction %s = %v, want !Ref ResultTTLDays", config.EnvResultTTL, env)
	}
	p := tpl.Parameters["ResultTTLDays"]
	for k, want := range map[string]int{"MinValue": config.MinResultTTLDays, "MaxValue": config.MaxResultTTLDays, "Default": 30} {
		if got := fmt.Sprint(samtemplate.Get(p, k)); got != fmt.Sprint(want) {
			t.Errorf("ResultTTLDays %s = %s, want %d", k, got, want)
		}
	}
	c, err := config.LoadProcess(func(k string) string { return tpl.Env("ProcessFunction")[k] })
	if err != nil || c.ResultTTLDays != 30 || c.ResultTTL.Hours() != 29*24 {
		t.Errorf("the process function's defaults: %d days, record %s, %v; want 30 days, record 29 days", c.ResultTTLDays, c.ResultTTL, err)
	}
}

// Both functions that care whether uploaded files are kept read it from
// one parameter, false by default.
func TestTemplate_KeepUploadsIsOneParameterDefaultFalse(t *testing.T) {
	tpl := load(t)
	for _, fn := range []string{"ProcessFunction", "StatusFunction"} {
		v := samtemplate.Get(tpl.Resources[fn].Properties, "Environment", "Variables", config.EnvKeepUploads, "Ref")
		if samtemplate.Str(v) != "KeepUploads" {
			t.Errorf("%s %s = %v, want !Ref KeepUploads", fn, config.EnvKeepUploads, v)
		}
	}
	if d := fmt.Sprint(samtemplate.Get(tpl.Parameters["KeepUploads"], "Default")); d != "false" {
		t.Errorf("KeepUploads default %s, want false", d)
	}
}

// Every function hashes upload ids in its logs under the stack's id, the
// key README's recipe for finding an upload's lines uses.
func TestTemplate_EveryFunctionHashesLogIDsUnderTheStackID(t *testing.T) {
	tpl := load(t)
	for fn, r := range tpl.Functions() {
		v := samtemplate.Get(r.Properties, "Environment", "Variables", config.EnvLogHashKey, "Ref")
		if samtemplate.Str(v) != "AWS::StackId" {
			t.Errorf("%s %s = %v, want !Ref AWS::StackId", fn, config.EnvLogHashKey, v)
		}
	}
}
