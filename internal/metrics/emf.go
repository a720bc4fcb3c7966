// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// JSON lines on stdout that CloudWatch Logs turns into metrics, so the
// functions publish metrics without an API call (or its latency, IAM grant
// and failure mode) per invocation.
//
// It is hand-written: the format is one documented JSON shape, and the Go
// libraries for it pull in more than the 60 lines here.
package metrics

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/service"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "s3ocr"

// EMF writes metrics records to W, one JSON object per line.
type EMF struct {
	W        io.Writer
	Function string // the "Function" dimension
	Now      func() time.Time

	mu sync.Mutex
}

var _ service.Observer = (*EMF)(nil)

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Metric is one value with its CloudWatch unit.
type Metric struct {
	Name  string
	Unit  string // Count, Milliseconds, Bytes
	Value float64
}

// Emit writes one record: the metrics, under the dimensions (plus Function).
func (e *EMF) Emit(dims map[string]string, ms ...Metric) error {
	rec := map[string]any{}
	keys := []string{"Function"}
	rec["Function"] = e.Function
	for k, v := range dims {
		rec[k] = v
		keys = append(keys, k)
	}
	var defs []metricDef
	for _, m := range ms {
		defs = append(defs, metricDef{m.Name, m.Unit})
		rec[m.Name] = m.Value
	}
	rec["_aws"] = map[string]any{
		"Timestamp": e.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": Namespace, "Dimensions": [][]string{keys}, "Metrics": defs,
		}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.W.Write(append(b, '\n'))
	return err
}

// Observe implements service.Observer: pages, OCR time, bytes and cache hits
// per processed object, and failures by error code.
func (e *EMF) Observe(_ context.Context, r service.Report) {
	if r.Outcome == service.OutcomeIgnored {
		return
	}
	cacheHit := 0.0
	if r.Outcome == service.OutcomeCached {
		cacheHit = 1
	}
	_ = e.Emit(nil,
		Metric{"Pages", "Count", float64(r.Pages)},
		Metric{"OCRMilliseconds", "Milliseconds", float64(r.OCR.Milliseconds())},
		Metric{"Bytes", "Bytes", float64(r.Bytes)},
		Metric{"CacheHits", "Count", cacheHit},
	)
	if r.Code != "" {
		_ = e.Emit(map[string]string{"Code": r.Code}, Metric{"Failures", "Count", 1})
	}
}
