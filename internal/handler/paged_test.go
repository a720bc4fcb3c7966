package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/alto"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/hocr"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// pagedUpload makes a done upload whose result keeps its pages apart, as a
// document read in ranges does, and returns the same result whole, which
// the answers must equal.
func pagedUpload(t *testing.T, api *handler.API, table *inmem.Store, pages int, line string) (string, *ocr.Result) {
	t.Helper()
	ctx := context.Background()
	objects := inmem.NewObjects()
	kept := &resultstore.Pages{Objects: objects, Prefix: "results/"}
	api.Status.Store = &resultstore.Store{Store: table, Objects: objects, Prefix: "results/", InlineLimit: 1 << 16}
	api.Status.PartialPages = kept
	resp, _ := api.CreateUpload(ctx, post(`{"filename":"long.pdf","contentType":"application/pdf","size":123}`))
	var created service.CreatedUpload
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	whole := &ocr.Result{Languages: []string{"eng"}, Engine: ocr.EngineInfo{Name: "tesseract", Version: "5"}, Confidence: 0.9, Entities: []ocr.Entity{}}
	var texts []string
	for n := 1; n <= pages; n++ {
		text := fmt.Sprintf("%s %d <&>", line, n)
		p := ocr.Page{Number: n, Width: 100, Height: 50, Text: text, Confidence: 0.9,
			Lines: []ocr.Line{{Text: text, Confidence: 0.9, BBox: ocr.BBox{1, 2, 90, 20}, Words: []ocr.Word{{Text: text, Confidence: 0.9, BBox: ocr.BBox{1, 2, 90, 20}}}}}}
		whole.Pages = append(whole.Pages, p)
		texts = append(texts, text)
	}
	whole.Text = strings.Join(texts, "\f")
	for j := 0; j*ocr.PageChunk < pages; j++ {
		var chunk []*ocr.Page
		for i := j * ocr.PageChunk; i < min(pages, (j+1)*ocr.PageChunk); i++ {
			chunk = append(chunk, &whole.Pages[i])
		}
		if err := kept.PutChunk(ctx, "r1", j, chunk); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	rec := &ocr.ResultRecord{Key: "r1", State: ocr.ResultProcessing, Owner: created.UploadID, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	if won, _, err := table.ClaimResult(ctx, rec, now); !won || err != nil {
		t.Fatal(won, err)
	}
	summary := *whole
	summary.Text, summary.Pages = "", nil
	rec.State, rec.Result, rec.Paged, rec.Document = ocr.ResultDone, &summary, true, ocr.Document{Pages: pages, ContentType: "application/pdf"}
	if _, err := api.Status.Store.CompleteResult(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if ok, err := table.TransitionUpload(ctx, created.UploadID, []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusDone, ResultKey: "r1"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	return created.UploadID, whole
}

func getFormat(t *testing.T, api *handler.API, id, query string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := get(id)
	req.QueryStringParameters = map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			req.QueryStringParameters[k] = v
		}
	}
	resp, err := api.Route(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestGetUpload_AResultReadInRangesIsAnsweredInEveryFormatAsIfWhole(t *testing.T) {
	api, table := newAPI()
	id, whole := pagedUpload(t, api, table, 5, "line")
	for _, tc := range []struct{ query, want string }{
		{"format=txt", whole.Text},
		{"format=hocr", string(hocr.Render(whole))},
		{"format=alto", string(alto.Render(whole))},
	} {
		resp := getFormat(t, api, id, tc.query)
		if resp.StatusCode != http.StatusOK || resp.Body != tc.want {
			t.Errorf("%s = %d, %d bytes; want the whole result's %d bytes", tc.query, resp.StatusCode, len(resp.Body), len(tc.want))
		}
	}
	resp := getFormat(t, api, id, "")
	var st service.UploadStatus
	if err := json.Unmarshal([]byte(resp.Body), &st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON = %d %v", resp.StatusCode, err)
	}
	if st.Status != ocr.StatusDone || st.UploadID != id || st.Document.Pages != 5 || !reflect.DeepEqual(st.Result, whole) {
		t.Fatalf("JSON status = %+v\nresult %+v\nwant   %+v", st, st.Result, whole)
	}
	// A page; and the searchable PDF, made of the uploaded file, which
	// this deployment does not keep (internal/e2e/fanout makes one).
	req := events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteGetPage, PathParameters: map[string]string{"uploadId": id, "page": "4"}}
	if resp, _ := api.Route(context.Background(), req); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"line 4 \u003c\u0026\u003e"`) {
		t.Fatalf("page 4 = %d %s", resp.StatusCode, resp.Body)
	}
	if resp := getFormat(t, api, id, "format=pdf"); resp.StatusCode != http.StatusGone || errorOf(t, resp).Code != ocr.EORIGINALGONE {
		t.Fatalf("pdf = %d %s", resp.StatusCode, resp.Body)
	}
}

func TestGetUpload_AResultReadInRangesTooLargeForLambdaIsRedirectedToACopy(t *testing.T) {
	api, table := newAPI()
	kept := &keptResponses{}
	api.Large = kept
	// 40 pages of 60 KB of text: 2.4 MB of text, twice that in JSON.
	id, whole := pagedUpload(t, api, table, 40, strings.Repeat("word ", 12_000))
	resp := getFormat(t, api, id, "format=txt")
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["Location"] == "" {
		t.Fatalf("= %d %v", resp.StatusCode, resp.Headers)
	}
	if string(kept.body) != whole.Text || !strings.HasPrefix(kept.contentType, "text/plain") {
		t.Fatalf("kept %s, %d bytes, want the text's %d", kept.contentType, len(kept.body), len(whole.Text))
	}
	resp = getFormat(t, api, id, "")
	var st service.UploadStatus
	if resp.StatusCode != http.StatusSeeOther || json.Unmarshal(kept.body, &st) != nil || !reflect.DeepEqual(st.Result, whole) {
		t.Fatalf("JSON = %d, kept %d bytes", resp.StatusCode, len(kept.body))
	}
}
