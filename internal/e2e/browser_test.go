package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/redact"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/wordmatch"
)

// pageReport is what web/test/browser.mjs prints: what the page showed.
type pageReport struct {
	Limits  string   `json:"limits"`
	Console []string `json:"console"`
	// FailedRequests are "METHOD /path STATUS" for every answer >= 400.
	FailedRequests []string `json:"failedRequests"`
	Image          struct {
		Classes, UploadID, State, Text, Confidence, Error string
		Progress                                          int
		Boxes, LowBoxes                                   int
		ImageLoaded                                       bool
	} `json:"image"`
	TooLarge struct{ Classes, State, Error string } `json:"tooLarge"`

	// APIStatus is the API's status of the document's upload, read before
	// the page deleted it.
	APIStatus     service.UploadStatus `json:"apiStatus"`
	RedactOffered []string             `json:"redactOffered"` // the entity types with a checkbox
	PDF           download             `json:"pdf"`
	ALTO          download             `json:"alto"`
	ExportState   string               `json:"exportState"`
	DeleteAsks    string               `json:"deleteAsks"` // the Delete button after one click
	Deleted       struct {
		Error  string // what the row says when the deletion failed
		Rows   int    // rows left on the page
		Status int    // GET /uploads/{id} afterwards
	} `json:"deleted"`

	CSP           string   `json:"csp"`           // the page's Content-Security-Policy header
	CSPViolations []string `json:"cspViolations"` // "directive blocked-URI" for each the page saw
	NoticeShown   bool     `json:"noticeShown"`   // on the page opened without ?api=
	// ForeignAPI is the page opened with ?api= naming an API it does not
	// allow, then its Settings field changed to it.
	ForeignAPI struct {
		Limits, Notice, API         string
		SettingsAPI, SettingsNotice string
		Requests                    []string // sent to that API
	} `json:"foreignApi"`
	// Token is which of the page's requests, once a token was set, carried
	// it as a Bearer token: all the API's, none of the storage's.
	Token struct {
		APIRequests, StorageRequests int
		APIWithout, StorageWith      []string
	} `json:"token"`
}

// download is a file the page saved: the query it asked the API with, the
// name it gave the file and where the test's browser put it, or the
// refusal the row showed instead.
type download struct{ Query, Filename, Path, Error string }

// browserTools finds node, Chromium and playwright-core, or skips (fails
// under S3OCR_REQUIRE_TOOLS=1, as in make test, where make tools installed
// them).
func browserTools(t *testing.T, root string) (node, chromium string) {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "node_modules/playwright-core")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("browser test needs %s (make tools installs them)", strings.Join(missing, ", "))
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, chromium
}

// TestBrowser_PageUploadsReadsAndRefuses drives web/, as the status
// function serves it at the API's root, in headless Chromium. Opened with
// ?api= naming an API it does not allow, the page keeps its own and says
// so, under a Content-Security-Policy it never violates. With a token in
// its settings, a real document goes through the file picker, the
// presigned POST and the
// polling, and its text, confidence and line boxes appear; a file over the
// limit is refused in words. Then the document's searchable PDF, redacted
// of the first entity type offered, and its ALTO XML are downloaded, and
// the upload is deleted. The screenshot goes to S3OCR_SCREENSHOT when set
// (make screenshot writes docs/screenshot.png that way).
func TestBrowser_PageUploadsReadsAndRefuses(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, chromium := browserTools(t, root)

	// A corpus document when ../shared/corpus is there, else our own.
	image, truth := filepath.Join(root, "testdata", "invoice.png"), filepath.Join(root, "testdata", "invoice.txt")
	if c := filepath.Join(root, "..", "shared", "corpus", "invoice_flipkart.png"); fileExists(c) {
		image, truth = c, strings.TrimSuffix(c, ".png")+".gt.txt"
	}
	want, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}

	var info service.Info
	if status, body := doJSON(t, http.MethodGet, "/info", nil); status != http.StatusOK || json.Unmarshal(body, &info) != nil {
		t.Fatalf("GET /info = %d %s", status, body)
	}

	shot := os.Getenv("S3OCR_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "screenshot.png")
	} else if shot, err = filepath.Abs(shot); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(root, "web", "test", "browser.mjs"),
		stack.APIURL+"/", image, fmt.Sprint(info.Limits.MaxUploadBytes+1), shot, t.TempDir())
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser.mjs: %v\n%s%s", err, out, stderr.String())
	}
	var got pageReport
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("browser.mjs printed %q: %v", out, err)
	}
	shown := got
	shown.APIStatus = service.UploadStatus{UploadID: got.APIStatus.UploadID, Status: got.APIStatus.Status} // the result is long
	t.Logf("page: %+v", shown)

	if len(got.Console) > 0 {
		t.Errorf("page logged errors: %q", got.Console)
	}
	checkPolicyAndAPI(t, got)
	// The only refusal is the API's, for the file over the limit.
	if want := []string{"POST /uploads 413"}; !slices.Equal(got.FailedRequests, want) {
		t.Errorf("failed requests %q, want %q", got.FailedRequests, want)
	}
	if !strings.Contains(got.Limits, "eng") {
		t.Errorf("limits line %q does not list the languages from /info", got.Limits)
	}

	// The document: done, and the page shows exactly what the API holds.
	img := got.Image
	if !strings.Contains(img.Classes, "done") || img.Error != "" {
		t.Fatalf("document row %q, error %q", img.Classes, img.Error)
	}
	if img.Progress != 100 {
		t.Errorf("upload progress bar at %d%%, want 100", img.Progress)
	}
	st := got.APIStatus
	if st.UploadID != img.UploadID || st.Status != "done" || st.Result == nil {
		t.Fatalf("API status for the page's upload %s: %+v", img.UploadID, st)
	}
	if img.Text != st.Result.Text {
		t.Errorf("page text differs from the API's:\npage %q\napi  %q", img.Text, st.Result.Text)
	}
	if pct := fmt.Sprintf("%.1f%%", 100*st.Result.Confidence); !strings.Contains(img.Confidence, pct) {
		t.Errorf("confidence shown %q, want %s", img.Confidence, pct)
	}
	var lines, low int
	for _, l := range st.Result.Pages[0].Lines {
		lines++
		if l.Confidence < 0.6 {
			low++
		}
	}
	if img.Boxes != lines || img.LowBoxes != low || lines == 0 {
		t.Errorf("page drew %d line boxes (%d low), the result has %d lines (%d low)", img.Boxes, img.LowBoxes, lines, low)
	}
	if !img.ImageLoaded {
		t.Error("the page image was not shown")
	}
	if r := wordmatch.Recall(words(string(want)), words(img.Text)); r < 0.8 {
		t.Errorf("only %.0f%% of the ground truth's words are in the page text", 100*r)
	}

	// The file over the limit: refused in words, with the code.
	if tl := got.TooLarge; !strings.Contains(tl.Classes, "failed") ||
		!strings.Contains(tl.Error, "too large") || !strings.Contains(tl.Error, "too_large") {
		t.Errorf("too-large row: %+v", tl)
	}
	if !isPNG(shot) {
		t.Errorf("no screenshot at %s", shot)
	}

	checkDownloads(t, got, filepath.Base(image))

	// Deleted: the row is gone (the refused file's stays), and so is the upload.
	if got.DeleteAsks != "Delete for good?" {
		t.Errorf("after one click the Delete button says %q, want it to ask", got.DeleteAsks)
	}
	if d := got.Deleted; d.Error != "" || d.Rows != 1 || d.Status != http.StatusNotFound {
		t.Errorf("after Delete: the row says %q, %d rows, GET status %d; want the row gone, 1 row left and 404", d.Error, d.Rows, d.Status)
	}
	if status, _, body := getStatus(t, img.UploadID); status != http.StatusNotFound {
		t.Errorf("GET /uploads/%s after the page deleted it = %d %.200s", img.UploadID, status, body)
	}
}

// checkPolicyAndAPI holds the page to its Content-Security-Policy, its
// allow-list of APIs and its token.
func checkPolicyAndAPI(t *testing.T, got pageReport) {
	t.Helper()
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self';", "connect-src 'self' " + stack.S3Endpoint + ";"} {
		if !strings.Contains(got.CSP, want) {
			t.Errorf("the page's Content-Security-Policy %q has no %q", got.CSP, want)
		}
	}
	if len(got.CSPViolations) > 0 {
		t.Errorf("the page violated its Content-Security-Policy: %q", got.CSPViolations)
	}

	const foreign = "https://evil.example"
	f := got.ForeignAPI
	if f.API != stack.APIURL || !strings.HasPrefix(f.Limits, "Up to") || len(f.Requests) > 0 {
		t.Errorf("with ?api=%s the page uses %q (limits %q) and sent %q; want its own API, %s, and nothing sent there", foreign, f.API, f.Limits, f.Requests, stack.APIURL)
	}
	if !strings.Contains(f.Notice, "?api=") || !strings.Contains(f.Notice, foreign) {
		t.Errorf("with ?api=%s the page's notice says %q; want it to say the parameter was ignored", foreign, f.Notice)
	}
	if f.SettingsAPI != stack.APIURL || !strings.Contains(f.SettingsNotice, foreign) {
		t.Errorf("Settings' API changed to %s: the field says %q and the notice %q; want %s kept and a notice", foreign, f.SettingsAPI, f.SettingsNotice, stack.APIURL)
	}
	if got.NoticeShown {
		t.Error("the page opened without ?api= shows a notice")
	}

	tk := got.Token
	if tk.APIRequests == 0 || tk.StorageRequests == 0 || len(tk.APIWithout) > 0 || len(tk.StorageWith) > 0 {
		t.Errorf("with a token set, %d API requests (without it: %q) and %d to storage (with an Authorization header: %q); want it on every API request and on none to storage",
			tk.APIRequests, tk.APIWithout, tk.StorageRequests, tk.StorageWith)
	}
}

// checkDownloads holds the page's downloads to the API's result: a PDF
// named after the file, redacted of the first entity type offered, and
// ALTO XML; the redaction choice offers the types the result has.
func checkDownloads(t *testing.T, got pageReport, name string) {
	t.Helper()
	var found []string
	for _, e := range got.APIStatus.Result.Entities {
		found = append(found, e.Type)
	}
	var want []string
	for _, typ := range redact.Types() {
		if slices.Contains(found, typ) {
			want = append(want, typ)
		}
	}
	if !slices.Equal(got.RedactOffered, want) {
		t.Errorf("redaction offers %q, the result has entities of types %q", got.RedactOffered, want)
	}
	if got.ExportState != "" {
		t.Errorf("the row says %q after its downloads", got.ExportState)
	}

	pdf := got.PDF
	if pdf.Error != "" {
		t.Fatalf("Download searchable PDF (%s): the row says %q", pdf.Query, pdf.Error)
	}
	if pdf.Filename != name+".pdf" || !strings.Contains(pdf.Query, "format=pdf") {
		t.Errorf("PDF saved as %q from ?%s, want %s.pdf", pdf.Filename, pdf.Query, name)
	}
	head, err := os.ReadFile(pdf.Path)
	if err != nil || !strings.HasPrefix(string(head), "%PDF-") {
		t.Fatalf("the downloaded PDF starts %q (%v), not %%PDF-", head[:min(len(head), 16)], err)
	}
	if len(want) > 0 {
		redacted := want[0]
		if !strings.Contains(pdf.Query, "redact="+redacted) {
			t.Errorf("the PDF was asked for with ?%s, not redact=%s as ticked", pdf.Query, redacted)
		}
		if text, err := exec.Command("pdftotext", pdf.Path, "-").Output(); err == nil {
			for _, e := range got.APIStatus.Result.Entities {
				if e.Type == redacted && strings.Contains(string(text), e.Text) {
					t.Errorf("the redacted PDF's text layer still holds the %s %q", e.Type, e.Text)
				}
			}
		} else {
			t.Logf("the PDF's text layer not checked: pdftotext: %v", err)
		}
	}

	alto := got.ALTO
	if alto.Error != "" {
		t.Fatalf("Download ALTO (%s): the row says %q", alto.Query, alto.Error)
	}
	body, err := os.ReadFile(alto.Path)
	if alto.Filename != name+".alto.xml" || err != nil || !strings.Contains(string(body), "http://www.loc.gov/standards/alto/ns-v4#") {
		t.Errorf("ALTO saved as %q (%v), want %s.alto.xml in the v4 namespace:\n%.300s", alto.Filename, err, name, body)
	}
}

// TestBrowser_EntityTypesHaveWords holds the page's words for the entity
// types to the types the service redacts, in its order.
func TestBrowser_EntityTypesHaveWords(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(root, "web", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)const ENTITY_TYPES = \{(.*?)\n\};`).FindSubmatch(js)
	if block == nil {
		t.Fatal("web/app.js has no ENTITY_TYPES table")
	}
	var keys []string
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z_]+):`).FindAllSubmatch(block[1], -1) {
		keys = append(keys, string(m[1]))
	}
	if want := redact.Types(); !slices.Equal(keys, want) {
		t.Errorf("web/app.js ENTITY_TYPES has %q, want redact.Types() %q", keys, want)
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

func isPNG(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8)
	if _, err := io.ReadFull(f, head); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	return string(head) == "\x89PNG\r\n\x1a\n"
}
