package config

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) Getenv { return func(k string) string { return kv[k] } }

func TestLoadProcess_Defaults(t *testing.T) {
	c, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.UploadPrefix != "uploads/" || c.ResultPrefix != "results/" || c.MaxBytes != 500<<20 || c.MaxPages != 3000 || c.FanOutPages != 20 || c.RangePages != 10 || c.RangesInFlight != 4 ||
		c.MaxPixels != 60_000_000 || c.ResultTTLDays != 30 || c.ResultTTL != 29*24*time.Hour || c.TessdataPrefix != "/opt/share/tessdata" ||
		c.KeepUploads || c.LogHashKey != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoad_ReportsEveryBadSettingByName(t *testing.T) {
	_, err := LoadUpload(env(map[string]string{EnvMaxBytes: "lots", EnvPresignExpiry: "-1m"}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{EnvTable, EnvBucket, EnvMaxBytes, EnvPresignExpiry} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestLoad_OverlappingPrefixesRefused(t *testing.T) {
	_, err := LoadStatus(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvUploadPrefix: "data/", EnvResultPrefix: "data/results/"}))
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("err = %v, want overlap", err)
	}
}

func TestLoadUpload_LanguagesList(t *testing.T) {
	c, err := LoadUpload(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvLanguages: "eng, deu,fra"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Languages, "|") != "eng|deu|fra" {
		t.Fatalf("languages = %q", c.Languages)
	}
}

func TestLoadProcess_EnginesAutoOrAPositiveNumber(t *testing.T) {
	for v, want := range map[string]int{"": 0, "auto": 0, "2": 2} {
		c, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvEngines: v}))
		if err != nil || c.Engines != want {
			t.Errorf("ENGINES=%q: %d %v, want %d", v, c.Engines, err, want)
		}
	}
	for _, v := range []string{"0", "-1", "many"} {
		if _, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvEngines: v})); err == nil || !strings.Contains(err.Error(), EnvEngines) {
			t.Errorf("ENGINES=%q: %v", v, err)
		}
	}
}

func TestLoadProcess_ResultTTLIsWholeDaysAndTheRecordADayLess(t *testing.T) {
	for v, want := range map[string]time.Duration{"2": 24 * time.Hour, "30": 29 * 24 * time.Hour, "3650": 3649 * 24 * time.Hour} {
		c, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvResultTTL: v}))
		if err != nil || c.ResultTTL != want || strconv.Itoa(c.ResultTTLDays) != v {
			t.Errorf("RESULT_TTL=%q: record %s, %d days, %v; want record %s", v, c.ResultTTL, c.ResultTTLDays, err, want)
		}
	}
	// A Go duration is refused: the bucket's lifecycle counts whole days,
	// and the record is set from the same number.
	for _, v := range []string{"720h", "30d", "1", "0", "-3", "+30", "3.5", "3651", "99999999999999999999", "thirty"} {
		if _, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvResultTTL: v})); err == nil || !strings.Contains(err.Error(), EnvResultTTL) {
			t.Errorf("RESULT_TTL=%q: %v, want an error naming it", v, err)
		}
	}
}

func TestLoad_KeepUploadsIsTrueOrFalse(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "true": true} {
		p, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvKeepUploads: v}))
		s, err2 := LoadStatus(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvKeepUploads: v}))
		if err != nil || err2 != nil || p.KeepUploads != want || s.KeepUploads != want {
			t.Errorf("KEEP_UPLOADS=%q: process %v %v, status %v %v; want %v", v, p.KeepUploads, err, s.KeepUploads, err2, want)
		}
	}
	for _, v := range []string{"yes", "1", "TRUE", "flase"} {
		if _, err := LoadStatus(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvKeepUploads: v})); err == nil || !strings.Contains(err.Error(), EnvKeepUploads) {
			t.Errorf("KEEP_UPLOADS=%q: %v, want an error naming it", v, err)
		}
	}
}

func TestLoad_LogHashKeyIsOptional(t *testing.T) {
	c, err := LoadUpload(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvLogHashKey: "arn:aws:cloudformation:eu-west-1:1:stack/s3ocr/x"}))
	if err != nil || c.LogHashKey != "arn:aws:cloudformation:eu-west-1:1:stack/s3ocr/x" {
		t.Fatalf("LOG_HASH_KEY: %q %v", c.LogHashKey, err)
	}
	if c, err := LoadUpload(env(map[string]string{EnvTable: "t", EnvBucket: "b"})); err != nil || c.LogHashKey != "" {
		t.Fatalf("no LOG_HASH_KEY: %q %v", c.LogHashKey, err)
	}
}

func TestLoad_AuthQuotasAndSharing(t *testing.T) {
	base := map[string]string{EnvTable: "t", EnvBucket: "b"}
	with := func(kv map[string]string) Getenv {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return env(m)
	}
	c, err := LoadStatus(with(map[string]string{EnvAuthIssuer: "https://cognito-idp.eu-west-1.amazonaws.com/pool", EnvAuthAudience: "client",
		EnvQuotaUploads: "500", EnvQuotaBytes: "0", EnvQuotaPages: "2000"}))
	if err != nil || !c.Auth.On() || c.Quotas != (Quotas{Uploads: 500, Pages: 2000}) {
		t.Fatalf("status = %+v, %v", c, err)
	}
	p, err := LoadProcess(with(nil))
	if err != nil || p.ShareAcrossOwners || p.Quotas != (Quotas{}) {
		t.Fatalf("process defaults = share %v quotas %+v, %v; want owner, none", p.ShareAcrossOwners, p.Quotas, err)
	}
	if p, err := LoadProcess(with(map[string]string{EnvShareResults: "all"})); err != nil || !p.ShareAcrossOwners {
		t.Fatalf("SHARE_RESULTS=all = %v, %v", p.ShareAcrossOwners, err)
	}
	for name, kv := range map[string]map[string]string{
		EnvAuthAudience: {EnvAuthIssuer: "https://issuer.example"},
		EnvAuthIssuer:   {EnvAuthIssuer: "issuer.example", EnvAuthAudience: "a"},
		EnvQuotaUploads: {EnvQuotaUploads: "-1"},
		EnvShareResults: {EnvShareResults: "everyone"},
	} {
		_, err1 := LoadUpload(with(kv))
		_, err2 := LoadProcess(with(kv))
		if (err1 == nil || !strings.Contains(err1.Error(), name)) && (err2 == nil || !strings.Contains(err2.Error(), name)) {
			t.Errorf("%v: errors %v / %v, want one naming %s", kv, err1, err2, name)
		}
	}
}

func TestLoadStatus_PageAPIOriginsAreOriginsOnly(t *testing.T) {
	load := func(v string) (Status, error) {
		return LoadStatus(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvPageAPIOrigins: v}))
	}
	for v, want := range map[string]string{
		"":                        "",
		" ,":                      "",
		"https://api.example.com": "https://api.example.com",
		"https://a.example, https://b.example:8443":               "https://a.example|https://b.example:8443",
		"http://localhost:8080,http://127.0.0.1:9000":             "http://localhost:8080|http://127.0.0.1:9000",
		"https://abc123.execute-api.eu-west-1.amazonaws.com":      "https://abc123.execute-api.eu-west-1.amazonaws.com",
		"https://xn--bcher-kva.example,https://[2001:db8::1]:443": "https://xn--bcher-kva.example|https://[2001:db8::1]:443",
	} {
		c, err := load(v)
		if err != nil || strings.Join(c.PageAPIOrigins, "|") != want {
			t.Errorf("%s=%q: %q, %v; want %q", EnvPageAPIOrigins, v, c.PageAPIOrigins, err, want)
		}
	}
	for _, v := range []string{
		"http://api.example.com",          // plain http off this machine
		"ftp://api.example.com",           // not a web scheme
		"https://api.example.com/",        // a path, even a bare one
		"https://api.example.com/prod",    // an API's stage is a path, not an origin
		"https://api.example.com?x=1",     // a query
		"https://api.example.com#top",     // a fragment
		"https://user@api.example.com",    // credentials
		"api.example.com",                 // no scheme
		"*",                               // a wildcard
		"https://API.example.com",         // not as a browser writes it
		"https://a.example,https://b.ex/", // one bad entry among good ones
	} {
		bad := v[strings.LastIndex(v, ",")+1:]
		if _, err := load(v); err == nil || !strings.Contains(err.Error(), EnvPageAPIOrigins) || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("%s=%q: err %v, want one naming the variable and the entry", EnvPageAPIOrigins, v, err)
		}
	}
}

func TestLoadProcess_FanOutCanBeTurnedOffAndUncapped(t *testing.T) {
	c, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvFanOutPages: "off", EnvRangesInFlight: "all", EnvRangePages: "30"}))
	if err != nil || c.FanOutPages != 0 || c.RangesInFlight != 0 || c.RangePages != 30 {
		t.Fatalf("off/all = %+v, %v", c, err)
	}
	if _, err := LoadProcess(env(map[string]string{EnvTable: "t", EnvBucket: "b", EnvFanOutPages: "never"})); err == nil || !strings.Contains(err.Error(), EnvFanOutPages) {
		t.Fatalf("FAN_OUT_PAGES=never: %v", err)
	}
}
