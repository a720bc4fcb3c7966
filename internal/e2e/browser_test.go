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
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/localstack"
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
}

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

// TestBrowser_PageUploadsReadsAndRefuses drives web/ in headless Chromium:
// a real document goes through the file picker, the presigned POST and the
// polling, and its text, confidence and line boxes appear; a file over the
// limit is refused in words. The screenshot goes to S3OCR_SCREENSHOT when
// set (make screenshot writes docs/screenshot.png that way).
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
		stack.APIURL+"/", image, fmt.Sprint(info.Limits.MaxUploadBytes+1), shot)
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
	t.Logf("page: %+v", got)

	if len(got.Console) > 0 {
		t.Errorf("page logged errors: %q", got.Console)
	}
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
	_, st, _ := getStatus(t, img.UploadID)
	if st.Status != "done" || st.Result == nil {
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
