// Package e2e tells the user's story against the real local stack: MinIO as
// S3 and dynalite as DynamoDB, reached through the real SDK clients, the API
// served by the same handlers the Lambda functions run, and MinIO's bucket
// notifications delivered to the process function.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

var stack *localstack.Stack

// processFunction is the template's logical id of the function S3 events go to.
const processFunction = "ProcessFunction"

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		// Lambda retries after about 1 and 2 minutes, with claims lasting 30 s;
		// the same proportions, scaled down.
		RetryBackoff: []time.Duration{3 * time.Second, 5 * time.Second},
		// Renewed every third of it: 2 s leaves room for a heartbeat
		// delayed by a loaded machine (at 500 ms, duplicate deliveries took
		// over a live worker's claim in CI), and still lapses before the
		// first retry, as 30 s does before Lambda's first retry.
		// KeepUploads: the searchable PDFs the format tests ask for are
		// made from the uploaded files; package e2e/retention runs a stack
		// that deletes them.
		// No quotas: the suite sends hundreds of uploads from one
		// address (package e2e/auth holds callers to them).
		Parameters:    withNoQuotas(map[string]string{"ClaimLease": "2s", "KeepUploads": "true"}),
		PersistDynamo: true, // TestFaults restarts it
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("e2e: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// settle waits until every event delivered so far has been handled, so that
// counts taken from the functions' logs include them.
func settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := stack.Lambda.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func testdata(t *testing.T, name string) []byte { return moduleFile(t, "testdata", name) }

// moduleFile reads a file of the project, from any test's directory.
func moduleFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(append([]string{root}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createUpload asks the API for an upload; it returns the decoded answer or
// fails the test.
func createUpload(t *testing.T, req service.CreateUploadRequest) service.CreatedUpload {
	t.Helper()
	status, body := doJSON(t, http.MethodPost, "/uploads", req)
	if status != http.StatusCreated {
		t.Fatalf("POST /uploads = %d %s", status, body)
	}
	var out service.CreatedUpload
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func doJSON(t *testing.T, method, path string, v any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if v != nil {
		switch v := v.(type) {
		case string:
			body = strings.NewReader(v)
		default:
			b, _ := json.Marshal(v)
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, stack.APIURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, b
}

// post sends content the way a browser form does: every policy field, then
// the file last in a part named "file". It returns S3's status and body.
func post(t *testing.T, up service.CreatedUpload, content []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range up.Upload.Fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "upload")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	resp, err := http.Post(up.Upload.URL, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustPost(t *testing.T, up service.CreatedUpload, content []byte) {
	t.Helper()
	if status, body := post(t, up, content); status/100 != 2 {
		t.Fatalf("POST to S3 = %d %s", status, body)
	}
}

func getStatus(t *testing.T, id string) (int, service.UploadStatus, []byte) {
	t.Helper()
	status, body := doJSON(t, http.MethodGet, "/uploads/"+id, nil)
	var st service.UploadStatus
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("decode status %s: %v", body, err)
		}
	}
	return status, st, body
}

// waitTerminal polls the status as a browser would until the upload is done
// or failed.
func waitTerminal(t *testing.T, id string) service.UploadStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for delay := 100 * time.Millisecond; time.Now().Before(deadline); delay = min(delay*3/2, time.Second) {
		code, st, body := getStatus(t, id)
		if code != http.StatusOK {
			t.Fatalf("GET /uploads/%s = %d %s", id, code, body)
		}
		if st.Status.Terminal() {
			return st
		}
		time.Sleep(delay)
	}
	t.Fatalf("upload %s did not finish within 90 s", id)
	return service.UploadStatus{}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// words returns the lower-case words of s, for comparing OCR text with the
// expected text without caring about line breaks.
func words(s string) []string { return strings.Fields(strings.ToLower(s)) }

func TestFlow_UploadIsReadAndTheResultPolled(t *testing.T) {
	img := testdata(t, "hello.png")
	want := strings.TrimSpace(string(testdata(t, "hello.txt")))
	up := createUpload(t, service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(img)), Languages: []string{"eng"}})
	if _, st, _ := getStatus(t, up.UploadID); st.Status != ocr.StatusPending {
		t.Fatalf("before the upload: %s", st.Status)
	}
	mustPost(t, up, img)
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusDone || st.Result == nil {
		t.Fatalf("upload ended %s: %+v", st.Status, st.Error)
	}
	if got := strings.Join(words(st.Result.Text), " "); got != strings.Join(words(want), " ") {
		t.Fatalf("text:\n got %q\nwant %q", st.Result.Text, want)
	}
	if st.Cached || st.Document == nil || st.Document.SHA256 != sha256Hex(img) || st.Document.ContentType != "image/png" ||
		st.Document.Size != int64(len(img)) || st.Document.Pages != 1 {
		t.Fatalf("status = %+v, document %+v", st, st.Document)
	}
	if st.Result.Confidence < 0.5 || st.Result.Confidence > 1 || st.Result.Engine.Name != "tesseract" || st.Result.Engine.Version == "" {
		t.Fatalf("result = confidence %v engine %+v", st.Result.Confidence, st.Result.Engine)
	}
	if len(st.Result.Pages) != 1 || st.Result.Pages[0].Number != 1 || len(st.Result.Pages[0].Lines) == 0 {
		t.Fatalf("pages = %+v", st.Result.Pages)
	}
}

func TestFlow_SameBytesUploadedAgainAreCached(t *testing.T) {
	img := testdata(t, "hello.jpg")
	first := createUpload(t, service.CreateUploadRequest{Filename: "a.jpg", ContentType: "image/jpeg", Size: int64(len(img))})
	mustPost(t, first, img)
	a := waitTerminal(t, first.UploadID)
	settle(t)
	runs := stack.OCRRuns()

	second := createUpload(t, service.CreateUploadRequest{Filename: "b.jpg", ContentType: "image/jpeg", Size: int64(len(img))})
	mustPost(t, second, img)
	b := waitTerminal(t, second.UploadID)
	if b.Status != ocr.StatusDone || !b.Cached || b.Result.Text != a.Result.Text {
		t.Fatalf("second upload = %s cached=%v", b.Status, b.Cached)
	}
	settle(t)
	if n := stack.OCRRuns() - runs; n != 0 {
		t.Fatalf("the second upload of the same bytes ran OCR %d times", n)
	}
}

func TestFlow_DuplicateConcurrentEventsRunOneOCR(t *testing.T) {
	img := testdata(t, "hello.tif")
	up := createUpload(t, service.CreateUploadRequest{Filename: "hello.tif", ContentType: "image/tiff", Size: int64(len(img))})
	settle(t)
	before, deadBefore := stack.OCRRuns(), stack.Lambda.Stats(processFunction).DeadLettered
	mustPost(t, up, img)
	// S3 delivers at least once: add 19 more deliveries of the same event.
	ev := events.S3Event{Records: []events.S3EventRecord{{
		EventSource: "aws:s3", EventName: "ObjectCreated:Post",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: stack.Bucket}, Object: events.S3Object{Key: "uploads/" + up.UploadID, Size: int64(len(img))}},
	}}}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 19 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := stack.Lambda.InvokeAsync(processFunction, payload); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st := waitTerminal(t, up.UploadID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := stack.Lambda.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Status != ocr.StatusDone {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	if n := stack.OCRRuns() - before; n != 1 {
		t.Fatalf("20 deliveries ran OCR %d times, want 1", n)
	}
	// Deliveries that found the work running were retried and then ignored:
	// none was given up on.
	if n := stack.Lambda.Stats(processFunction).DeadLettered - deadBefore; n != 0 {
		t.Fatalf("%d deliveries dead-lettered", n)
	}
}

func TestFlow_FileLargerThanDeclaredIsRefusedByS3(t *testing.T) {
	img := testdata(t, "hello.png")
	up := createUpload(t, service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(img)) - 100})
	status, body := post(t, up, img)
	if status != http.StatusBadRequest || !strings.Contains(body, "EntityTooLarge") {
		t.Fatalf("POST of more bytes than declared = %d %s; want 400 EntityTooLarge", status, body)
	}
	time.Sleep(500 * time.Millisecond)
	if _, st, _ := getStatus(t, up.UploadID); st.Status != ocr.StatusPending {
		t.Fatalf("refused upload is %s, want pending", st.Status)
	}
}

func TestFlow_BytesOfAnotherTypeFailWithCode(t *testing.T) {
	jpg := testdata(t, "hello.jpg")
	up := createUpload(t, service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(jpg))})
	mustPost(t, up, jpg)
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.ETYPEMISMATCH {
		t.Fatalf("status = %s %+v; want failed %s", st.Status, st.Error, ocr.ETYPEMISMATCH)
	}
}

func TestAPI_ErrorsAreJSONWithCodes(t *testing.T) {
	unknown, _ := service.NewUploadID()
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed JSON", http.MethodPost, "/uploads", `{"filename":`, 400, ocr.EINVALID},
		{"unknown field", http.MethodPost, "/uploads", `{"filename":"a.png","contentType":"image/png","size":1,"colour":"red"}`, 400, ocr.EINVALID},
		{"oversized body", http.MethodPost, "/uploads", `{"filename":"` + strings.Repeat("a", 20000) + `"}`, 413, ocr.EBODYTOOLARGE},
		{"unsupported type", http.MethodPost, "/uploads", service.CreateUploadRequest{Filename: "a.zip", ContentType: "application/zip", Size: 10}, 415, ocr.EUNSUPPORTED},
		{"too large", http.MethodPost, "/uploads", service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 500<<20 + 1}, 413, ocr.ETOOLARGE},
		{"language not installed", http.MethodPost, "/uploads", service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10, Languages: []string{"xyz"}}, 400, ocr.ELANGUAGE},
		{"unknown upload", http.MethodGet, "/uploads/" + unknown, nil, 404, ocr.ENOTFOUND},
		{"malformed upload id", http.MethodGet, "/uploads/not-an-id", nil, 400, ocr.EBADID},
		{"unknown route", http.MethodGet, "/nowhere", nil, 404, ocr.ENOTFOUND},
		{"wrong method", http.MethodDelete, "/uploads", nil, 405, ocr.EMETHOD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := doJSON(t, tc.method, tc.path, tc.body)
			var e struct{ Error ocr.Error }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if status != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Fatalf("= %d %s; want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
}

func TestAPI_InfoListsEngineLanguagesAndLimits(t *testing.T) {
	status, body := doJSON(t, http.MethodGet, "/info", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /info = %d %s", status, body)
	}
	var info service.Info
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if info.Engine.Name != "tesseract" || info.Engine.Version == "" || !slices.Contains(info.Languages, "eng") ||
		info.Limits.MaxUploadBytes != 500<<20 || info.Limits.MaxPages != 3000 || info.Limits.MaxPixelsPerPage != 60_000_000 || info.Limits.PresignExpirySeconds != 600 ||
		!slices.Contains(info.ContentTypes, "image/png") {
		t.Fatalf("info = %+v", info)
	}
	// The languages it lists are the ones uploads may ask for.
	for _, l := range info.Languages {
		createUpload(t, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10, Languages: []string{l}})
	}
}

func TestFlow_EntitiesAreFoundInTheReadText(t *testing.T) {
	img := testdata(t, "invoice.png")
	up := createUpload(t, service.CreateUploadRequest{Filename: "invoice.png", ContentType: "image/png", Size: int64(len(img))})
	mustPost(t, up, img)
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusDone {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	got := map[string]string{}
	for _, e := range st.Result.Entities {
		got[e.Type] = e.Value
		if e.Page != 1 || e.BBox[2] <= e.BBox[0] || e.BBox[3] <= e.BBox[1] {
			t.Errorf("entity %+v has no place on the page", e)
		}
	}
	want := map[string]string{"date": "2024-03-12", "email": "billing@example.com", "money": "EUR 1234.56", "iban": "DE89370400440532013000"}
	for typ, v := range want {
		if got[typ] != v {
			t.Errorf("%s = %q, want %q (all: %+v)", typ, got[typ], v, st.Result.Entities)
		}
	}
}

func TestFlow_MultiPageTIFFIsReadPageByPage(t *testing.T) {
	tif := testdata(t, "pages.tif")
	up := createUpload(t, service.CreateUploadRequest{Filename: "pages.tif", ContentType: "image/tiff", Size: int64(len(tif))})
	mustPost(t, up, tif)
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 2 || st.Document.Pages != 2 {
		t.Fatalf("upload = %s %+v, %d pages", st.Status, st.Error, len(st.Result.Pages))
	}
	pages := strings.Split(st.Result.Text, "\f")
	if len(pages) != 2 || strings.Join(words(pages[0]), " ") != strings.Join(words(string(testdata(t, "hello.txt"))), " ") ||
		strings.Join(words(pages[1]), " ") != strings.Join(words(string(testdata(t, "invoice.txt"))), " ") {
		t.Fatalf("text = %q", st.Result.Text)
	}
	for _, e := range st.Result.Entities {
		if e.Page != 2 {
			t.Errorf("entity %+v not on page 2, where the invoice is", e)
		}
	}
	if len(st.Result.Entities) < 4 {
		t.Fatalf("entities = %+v", st.Result.Entities)
	}
}

// withNoQuotas adds localstack.NoQuotas to params.
func withNoQuotas(params map[string]string) map[string]string {
	maps.Copy(params, localstack.NoQuotas())
	return params
}
