package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/metrics"
	"github.com/s3ocr/s3ocr/internal/service"
)

func records(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not one JSON object per line: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestObserve_WritesEMFRecords(t *testing.T) {
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Function: "process", Now: func() time.Time { return time.UnixMilli(1795341600000) }}
	e.Observe(context.Background(), service.Report{Outcome: service.OutcomeProcessed, Pages: 3, Bytes: 4096, OCR: 1500 * time.Millisecond})
	e.Observe(context.Background(), service.Report{Outcome: service.OutcomeCached, Bytes: 4096})
	e.Observe(context.Background(), service.Report{Outcome: service.OutcomeFailed, Code: "bad_image", Bytes: 10})
	e.Observe(context.Background(), service.Report{Outcome: service.OutcomeIgnored})
	recs := records(t, &buf)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (3 reports, a failure, nothing for ignored)", len(recs))
	}
	first := recs[0]
	aws := first["_aws"].(map[string]any)
	cwm := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if aws["Timestamp"].(float64) != 1795341600000 || cwm["Namespace"] != "s3ocr" || first["Function"] != "process" {
		t.Fatalf("record = %v", first)
	}
	if first["Pages"] != 3.0 || first["OCRMilliseconds"] != 1500.0 || first["Bytes"] != 4096.0 || first["CacheHits"] != 0.0 {
		t.Fatalf("values = %v", first)
	}
	// Every metric named in the directive has a value in the record.
	for _, d := range cwm["Metrics"].([]any) {
		if _, ok := first[d.(map[string]any)["Name"].(string)]; !ok {
			t.Fatalf("metric %v has no value", d)
		}
	}
	if recs[1]["CacheHits"] != 1.0 {
		t.Fatalf("cached report: %v", recs[1])
	}
	fail := recs[3]
	dims := fail["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)[0].([]any)
	if fail["Failures"] != 1.0 || fail["Code"] != "bad_image" || len(dims) != 2 || dims[1] != "Code" {
		t.Fatalf("failure record = %v", fail)
	}
}
