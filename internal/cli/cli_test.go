package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/service"
)

var stack *localstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	// 50 KB: hello.png (23 KB) and pages.tif (42 KB) fit, hello.jpg (68 KB) does not.
	s, err := localstack.Start(ctx, localstack.Options{
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Parameters: map[string]string{"MaxUploadBytes": "50000", "KeepUploads": "true"}, // KeepUploads: --format pdf is made from the uploaded files
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
	dir := t.TempDir()
	for _, args := range [][]string{
		{}, {"ocr"}, {"frobnicate"}, {"ocr", "--nope", "x"}, {"delete"}, {"rm", "--nope", "x"},
		{"ocr", "--format", "docx", "x.png"},
		{"ocr", "--redact", "email,shoe_size", "x.png"},
		{"ocr", "--out", dir, "x.png"}, // text goes to stdout
		// Two inputs that would write one output.
		{"ocr", "--format", "pdf", "--out", dir, filepath.Join("a", "x.png"), filepath.Join("b", "x.png")},
		// An output that is an input: b.png.pdf read, and written by b.png.
		{"ocr", "--format", "pdf", "--force", filepath.Join(dir, "b.png"), filepath.Join(dir, "b.png.pdf")},
	} {
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

// copyInputs copies testdata files into a fresh directory, so outputs
// written next to them stay out of the repository.
func copyInputs(t *testing.T, names ...string) (dir string, paths []string) {
	t.Helper()
	dir = t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(testdata(n))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pdfText is pdftotext's reading of the PDF at path: its text layer.
func pdfText(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is needed to read the PDF's text layer")
	}
	out, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}

func TestOCR_PDFIsWrittenNextToEachInputAndNotOverwritten(t *testing.T) {
	_, in := copyInputs(t, "hello.png", "pages.tif")
	inputBytes := readFile(t, in[0])
	code, out, errs := run(t, "ocr", "--format", "pdf", in[0], in[1])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := []string{in[0] + ".pdf", in[1] + ".pdf"}
	if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("stdout lists %q, want the paths written %q", got, want)
	}
	for _, p := range want {
		if pdf := readFile(t, p); !strings.HasPrefix(pdf, "%PDF-") {
			t.Fatalf("%s starts %q, not %%PDF-", p, pdf[:min(len(pdf), 16)])
		}
	}
	if readFile(t, in[0]) != inputBytes {
		t.Fatal("the input was changed")
	}
	hello, _ := os.ReadFile(testdata("hello.txt"))
	if got := pdfText(t, want[0]); !strings.Contains(words(got), words(string(hello))) {
		t.Errorf("the PDF's text layer reads %q, want %q", got, hello)
	}
	if pages := strings.Count(pdfText(t, want[1]), "\f"); pages != 2 {
		t.Errorf("pages.tif's PDF has %d pages of text, want 2", pages)
	}

	// Again: the outputs exist, so each file fails before its upload and
	// the outputs stay as they were.
	if err := os.WriteFile(want[0], []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "ocr", "--format", "pdf", in[0])
	if code != 1 || out != "" || !strings.Contains(errs, want[0]+" already exists; --force overwrites it") ||
		strings.Contains(errs, "uploading") {
		t.Fatalf("existing output: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if readFile(t, want[0]) != "mine" {
		t.Fatal("an existing output was overwritten without --force")
	}
	if code, _, errs = run(t, "ocr", "--format", "pdf", "--force", in[0]); code != 0 || !strings.HasPrefix(readFile(t, want[0]), "%PDF-") {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(in[0]), ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

func TestOCR_ALTOIsWrittenIntoOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alto") // made if missing
	code, stdout, errs := run(t, "ocr", "--format", "alto", "--out", out, testdata("hello.png"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	path := filepath.Join(out, "hello.png.alto.xml")
	if strings.TrimSpace(stdout) != path {
		t.Fatalf("stdout %q, want %q", stdout, path)
	}
	alto := readFile(t, path)
	if !strings.Contains(alto, `xmlns="http://www.loc.gov/standards/alto/ns-v4#"`) || !strings.Contains(alto, `CONTENT="world."`) {
		t.Fatalf("not ALTO v4 with hello.png's words:\n%s", alto)
	}
}

// invoice.png holds billing@example.com and the IBAN DE89 3704 0044 0532
// 0130 00; --redact email,iban masks both in every format, and leaves the
// rest.
func TestOCR_RedactMasksTheNamedEntitiesInEveryFormat(t *testing.T) {
	masked := func(t *testing.T, what, s string) {
		t.Helper()
		for _, secret := range []string{"billing@example.com", "DE89", "3704"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s still shows %q:\n%s", what, secret, s)
			}
		}
		if !strings.Contains(s, "█") || !strings.Contains(s, "Invoice") {
			t.Errorf("%s is not masked with █, or lost the rest:\n%s", what, s)
		}
	}
	t.Run("text", func(t *testing.T) {
		code, out, errs := run(t, "ocr", "--redact", "email,iban", testdata("invoice.png"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		masked(t, "the text", out)
	})
	t.Run("json", func(t *testing.T) {
		code, out, errs := run(t, "ocr", "--format", "json", "--redact", "email,iban", testdata("invoice.png"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var st service.UploadStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil || st.Result == nil {
			t.Fatalf("not a status: %v\n%s", err, out)
		}
		masked(t, "the JSON", out)
		if !strings.Contains(out, `"money"`) || !strings.Contains(out, "1234.56") {
			t.Errorf("an entity not named was masked too:\n%s", out)
		}
	})
	t.Run("hocr", func(t *testing.T) {
		code, out, errs := run(t, "ocr", "--format", "hocr", "--redact", "email,iban", testdata("invoice.png"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		masked(t, "the hOCR", out)
	})
	t.Run("pdf", func(t *testing.T) {
		_, in := copyInputs(t, "invoice.png")
		code, _, errs := run(t, "ocr", "--format", "pdf", "--redact", "email,iban", in[0])
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		text := pdfText(t, in[0]+".pdf")
		for _, secret := range []string{"billing@example.com", "DE89"} {
			if strings.Contains(text, secret) {
				t.Errorf("the PDF's text layer still holds %q:\n%s", secret, text)
			}
		}
		if !strings.Contains(text, "Invoice") {
			t.Errorf("the PDF's text layer lost the rest:\n%s", text)
		}
	})
}

func TestDelete_ErasesTheUploadThenNotFound(t *testing.T) {
	code, out, errs := run(t, "ocr", "--format", "json", testdata("hello.png"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var st service.UploadStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if code, out, errs = run(t, "delete", st.UploadID); code != 0 || out != "deleted "+st.UploadID+"\n" {
		t.Fatalf("delete: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	_, err := client.New(stack.APIURL, nil).Status(context.Background(), st.UploadID)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("status after delete: %v, want 404", err)
	}
	code, out, errs = run(t, "rm", st.UploadID)
	if code != 1 || out != "" || !strings.Contains(errs, st.UploadID+": no such upload") {
		t.Fatalf("second delete: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// redirectingAPI is the local API behind a proxy that answers every
// ?format=pdf with a 303 to a presigned GET of body in the local S3, valid
// for ttl, as the API answers what is too large for a Lambda response.
func redirectingAPI(t *testing.T, body string, ttl time.Duration) string {
	t.Helper()
	ctx := context.Background()
	key := fmt.Sprintf("responses/cli-test-%d.pdf", time.Now().UnixNano())
	if _, err := stack.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.Bucket), Key: aws.String(key), Body: strings.NewReader(body), ContentType: aws.String("application/pdf"),
	}); err != nil {
		t.Fatal(err)
	}
	link, err := s3store.New(stack.S3, stack.Bucket).PresignGet(ctx, key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(stack.APIURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("format") == "pdf" {
			http.Redirect(w, r, link, http.StatusSeeOther)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestOCR_FollowsTheRedirectToS3(t *testing.T) {
	api := redirectingAPI(t, "%PDF-1.7 kept in S3", time.Minute)
	_, in := copyInputs(t, "hello.png")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"ocr", "--format", "pdf", "--api", api, in[0]}, &out, &errb, func(string) string { return "" }, false)
	if code != 0 || readFile(t, in[0]+".pdf") != "%PDF-1.7 kept in S3" {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestOCR_AnExpiredLinkIsReportedAsS3s(t *testing.T) {
	api := redirectingAPI(t, "%PDF-1.7 kept in S3", time.Second)
	time.Sleep(2 * time.Second) // S3 dates signatures to the second
	_, in := copyInputs(t, "hello.png")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"ocr", "--format", "pdf", "--api", api, in[0]}, &out, &errb, func(string) string { return "" }, false)
	want := regexp.MustCompile(`hello.png: S3 refused the download: AccessDenied: Request has expired.*may have expired`)
	if code != 1 || !want.MatchString(errb.String()) {
		t.Fatalf("exit %d, stderr %q; want 1 and %s", code, errb.String(), want)
	}
	if _, err := os.Stat(in[0] + ".pdf"); !os.IsNotExist(err) {
		t.Errorf("a failed download left %s.pdf: %v", in[0], err)
	}
}

// authorizedAPI is the local API behind a proxy that, like API Gateway's
// JWT authorizer, answers 401 {"message":"Unauthorized"} to every request
// but GET /info without "Authorization: Bearer <token>", and answers every
// ?format=pdf with a 303 to a presigned GET in the local S3 (MinIO refuses a
// presigned request that also carries an Authorization header). It returns
// the proxy's URL and the Authorization header of each request it passed.
func authorizedAPI(t *testing.T, token string) (string, func() map[string]string) {
	t.Helper()
	redirecting := redirectingAPI(t, "%PDF-1.7 kept in S3", time.Minute)
	target, _ := url.Parse(redirecting)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.URL.Path != "/info" && auth != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Unauthorized"}`)
			return
		}
		mu.Lock()
		seen[r.Method+" "+regexp.MustCompile(`/uploads/[^/?]+`).ReplaceAllString(r.URL.Path, "/uploads/{id}")] = auth
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}

func TestOCR_TokenFromTheFlagOrTheEnvironmentReachesTheAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"--token", "tok"}, nil},
		{"environment", nil, map[string]string{"S3OCR_TOKEN": "tok"}},
		{"flag over environment", []string{"--token", "tok"}, map[string]string{"S3OCR_TOKEN": "stale"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, seen := authorizedAPI(t, "tok")
			_, in := copyInputs(t, "hello.png")
			var out, errb bytes.Buffer
			args := append([]string{"ocr", "--format", "pdf", "--api", api, in[0]}, tc.args...)
			code := Run(context.Background(), args, &out, &errb, func(k string) string { return tc.env[k] }, false)
			// The PDF came from the presigned GET the 303 led to, which MinIO
			// refuses with the token on it.
			if code != 0 || readFile(t, in[0]+".pdf") != "%PDF-1.7 kept in S3" {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if code := Run(context.Background(), append([]string{"delete", "--api", api, "nope"}, tc.args...), &out, &errb, func(k string) string { return tc.env[k] }, false); code != 1 {
				t.Errorf("delete of an unknown upload: exit %d", code)
			}
			got := seen()
			for _, k := range []string{"POST /uploads", "GET /uploads/{id}", "DELETE /uploads/{id}"} {
				if got[k] != "Bearer tok" {
					t.Errorf("the API got %s with Authorization %q; want the token (all: %q)", k, got[k], got)
				}
			}
		})
	}
}

func TestOCR_UnauthorizedSaysToPassAToken(t *testing.T) {
	api, _ := authorizedAPI(t, "tok")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ocr", testdata("hello.png")}, "hello.png: the API at " + api + " wants a token: pass --token JWT or set S3OCR_TOKEN (http_401: Unauthorized)"},
		{[]string{"ocr", "--token", "expired", testdata("hello.png")}, "hello.png: the API at " + api + " refused the token"},
		{[]string{"delete", "abc"}, "abc: the API at " + api + " wants a token"},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append(tc.args, "--api", api), &out, &errb, func(string) string { return "" }, false)
		if code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
