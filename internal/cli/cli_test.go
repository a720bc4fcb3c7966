package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/service"
)

var stack *localstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	// 50 KB: hello.png (23 KB) and pages.tif (42 KB) fit, hello.jpg (68 KB) does not.
	s, err := localstack.Start(ctx, localstack.Options{
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Parameters: map[string]string{"MaxUploadBytes": "50000"},
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("cli: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "cli: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append(args, "--api", stack.APIURL), &out, &errb, func(string) string { return "" }, false)
	return code, out.String(), errb.String()
}

func words(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func TestOCR_SeveralFilesPrintTheirTexts(t *testing.T) {
	code, out, errs := run(t, "ocr", testdata("hello.png"), testdata("invoice.png"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	hello, _ := os.ReadFile(testdata("hello.txt"))
	invoice, _ := os.ReadFile(testdata("invoice.txt"))
	if !strings.Contains(words(out), words(string(hello))) || !strings.Contains(words(out), words(string(invoice))) ||
		!strings.Contains(out, "==> "+testdata("hello.png")+" <==") {
		t.Fatalf("stdout:\n%s", out)
	}
	// Not a terminal: plain progress lines, uploads by quarters.
	for _, want := range []string{testdata("hello.png") + ": uploading", testdata("invoice.png") + ": done"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestOCR_JSONIsTheStatus(t *testing.T) {
	code, out, errs := run(t, "ocr", "--format", "json", testdata("hello.png"), testdata("pages.tif"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sts []service.UploadStatus
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("stdout is not a JSON array of statuses: %v\n%s", err, out)
	}
	if len(sts) != 2 || sts[0].Status != "done" || len(sts[1].Result.Pages) != 2 {
		t.Fatalf("statuses = %+v", sts)
	}
}

func TestOCR_HOCR(t *testing.T) {
	code, out, errs := run(t, "ocr", "--format", "hocr", testdata("hello.png"))
	if code != 0 || !strings.Contains(out, "ocrx_word") {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
}

func TestOCR_FailuresExitOneWithTheReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"too large", []string{testdata("hello.jpg")}, "too_large"},
		{"not an image", []string{testdata("not-an-image.png")}, "unsupported_type"},
		{"language not installed", []string{"--lang", "klingon", testdata("hello.png")}, "unsupported_language"},
		{"missing file", []string{testdata("nope.png")}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, append([]string{"ocr"}, tc.args...)...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
	// One bad file among good ones: the good are printed, the exit is 1.
	code, out, _ := run(t, "ocr", testdata("hello.png"), testdata("hello.jpg"))
	if code != 1 || !strings.Contains(words(out), "hello, world.") {
		t.Fatalf("mixed: exit %d, stdout %q", code, out)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{}, {"ocr"}, {"frobnicate"}, {"ocr", "--format", "pdf", "x.png"}, {"ocr", "--nope", "x"}} {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, &out, &errb, func(string) string { return "" }, false); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestInfo(t *testing.T) {
	code, out, errs := run(t, "info")
	if code != 0 || !strings.Contains(out, `"maxUploadBytes": 50000`) {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
}

func TestProgress_TerminalRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, []string{"a.png", "b.png"}, true)
	p.set(0, "uploading "+bar(50, 100))
	p.set(1, "waiting")
	out := b.String()
	if !strings.Contains(out, "\x1b[2A") || !strings.Contains(out, "[##########          ]  50%") {
		t.Fatalf("terminal output %q", out)
	}
	b.Reset()
	plain := newProgress(&b, []string{"a.png"}, false)
	for _, s := range []int64{1, 10, 30, 60, 99, 100} {
		plain.set(0, "uploading "+bar(s, 100))
	}
	if got := strings.Count(b.String(), "\n"); got != 5 {
		t.Fatalf("plain lines %d, want one per quarter (0, 25, 50, 75, 100):\n%s", got, b.String())
	}
}
