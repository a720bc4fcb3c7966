package config

import (
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
	if c.UploadPrefix != "uploads/" || c.ResultPrefix != "results/" || c.MaxBytes != 20<<20 ||
		c.MaxPixels != 60_000_000 || c.ResultTTL != 720*time.Hour || c.TessdataPrefix != "/opt/share/tessdata" {
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
