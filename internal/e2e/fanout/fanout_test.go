// Package fanout_test reads long documents through the local stack the way
// they are read on Lambda: the process function splits them into ranges of
// pages and invokes itself asynchronously (the SDK's Lambda client against
// the local Lambda service), once per range, and the range that finishes
// last assembles the result. The faults are real ones: range workers killed
// with SIGKILL mid-page, and DynamoDB stopped and restarted while ranges
// are read.
package fanout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/bench"
	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

const processFunction = "ProcessFunction"

var stack *localstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		// Lambda's 1 and 2 minutes between attempts and 30 s claims,
		// scaled down in proportion (see internal/e2e).
		RetryBackoff: []time.Duration{3 * time.Second, 5 * time.Second},
		// Documents over 4 pages are read in ranges of 10 (the smallest, a
		// chunk of pages), so a few dozen pages make several ranges.
		Parameters: map[string]string{
			"ClaimLease": "2s", "FanOutPages": "4", "RangePages": "10", "KeepUploads": "true",
			"QuotaUploadsPerDay": "0", "QuotaBytesPerDay": "0", "QuotaPagesPerDay": "0",
		},
		PersistDynamo: true, // a test restarts it
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("e2e/fanout: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e/fanout: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// smallPages returns a scanned PDF of n small pages, each a line of text.
func smallPages(t *testing.T, n int, tag string) []byte {
	t.Helper()
	page, err := bench.A4Page()
	if err != nil {
		t.Fatal(err)
	}
	// The top of the A4 page: a few lines, read in a fraction of a second.
	b := page.Bounds()
	small := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()/6))
	draw.Draw(small, small.Bounds(), page, b.Min, draw.Src)
	return fmt.Appendf(testpdf.Scanned(small, n), "%% %s %d\n", tag, time.Now().UnixNano())
}

func upload(t *testing.T, c *client.Client, name string, pdf []byte) string {
	t.Helper()
	up, err := c.CreateUpload(t.Context(), service.CreateUploadRequest{Filename: name, ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(t.Context(), up, name, bytes.NewReader(pdf), nil); err != nil {
		t.Fatal(err)
	}
	return up.UploadID
}

// waitDone polls the upload until it is finished; it must end done.
func waitDone(t *testing.T, c *client.Client, id string, within time.Duration, onPoll func(*service.UploadStatus)) *service.UploadStatus {
	t.Helper()
	st, err := c.Wait(t.Context(), id, within, onPoll)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != ocr.StatusDone {
		t.Fatalf("upload ended %s %+v", st.Status, st.Error)
	}
	return st
}

// readText reads the upload's text through the API, following a 303.
func readText(t *testing.T, c *client.Client, id string) string {
	t.Helper()
	body, err := c.Open(t.Context(), id, "txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// checkPages reads the document's text and each of its pages through the
// API: n pages, each numbered and read.
func checkPages(t *testing.T, c *client.Client, id string, n int) {
	t.Helper()
	text := readText(t, c, id)
	if got := strings.Count(text, "\f") + 1; got != n {
		t.Fatalf("the text has %d pages, want %d", got, n)
	}
	for _, page := range strings.Split(text, "\f") {
		if len(strings.Fields(page)) < 3 {
			t.Fatalf("a page read as %q", page)
		}
	}
	for _, p := range []int{1, n / 2, n} {
		var page ocr.Page
		if err := getJSON(t, fmt.Sprintf("/uploads/%s/pages/%d", id, p), &page); err != nil || page.Number != p || page.Text == "" {
			t.Fatalf("page %d = %+v, %v", p, page, err)
		}
	}
}

func getJSON(t *testing.T, path string, v any) error {
	t.Helper()
	resp, err := http.Get(stack.APIURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

func noDeadLetters(t *testing.T, before localstack.Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := stack.Lambda.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stack.Lambda.Stats(processFunction).DeadLettered - before.DeadLettered; n != 0 {
		t.Fatalf("%d events dead-lettered", n)
	}
}

func TestFanOut_AScannedDocumentIsReadInRangesByInvocationsOfItsOwn(t *testing.T) {
	c := client.New(stack.APIURL, nil)
	before := stack.Lambda.Stats(processFunction)
	const pages = 25 // ranges of 10: three
	pdf := smallPages(t, pages, "ranges")
	id := upload(t, c, "long.pdf", pdf)
	var seen []int
	st := waitDone(t, c, id, 3*time.Minute, func(st *service.UploadStatus) {
		if st.Progress != nil {
			if st.Progress.Pages != pages || (len(seen) > 0 && st.Progress.PagesDone < seen[len(seen)-1]) {
				t.Errorf("progress %+v after %v", st.Progress, seen)
			}
			seen = append(seen, st.Progress.PagesDone)
		}
	})
	if st.Document.Pages != pages || st.Result == nil || len(st.Result.Pages) != pages {
		t.Fatalf("done: document %+v", st.Document)
	}
	checkPages(t, c, id, pages)
	// A searchable PDF of it, made a page at a time from the kept file.
	body, err := c.Open(t.Context(), id, "pdf", nil)
	if err != nil {
		t.Fatal(err)
	}
	searchable, err := io.ReadAll(body)
	body.Close()
	if err != nil || !bytes.HasPrefix(searchable, []byte("%PDF-")) {
		t.Fatalf("searchable PDF: %d bytes, %v", len(searchable), err)
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = bytes.NewReader(searchable)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext of the searchable PDF: %v", err)
	}
	if got := strings.Count(string(out), "\f"); got != pages || len(strings.Fields(string(out))) < 3*pages {
		t.Fatalf("the searchable PDF's text: %d pages, %d words", got, len(strings.Fields(string(out))))
	}
	noDeadLetters(t, before)
	// The document's own event, and one invocation per range.
	if n := stack.Lambda.Stats(processFunction).Invocations - before.Invocations; n < 4 {
		t.Fatalf("%d invocations, want the document's and its three ranges'", n)
	}
	// The same bytes again: cached, and answered from the kept pages.
	again := waitDone(t, c, upload(t, c, "again.pdf", pdf), time.Minute, nil)
	if !again.Cached {
		t.Fatal("the same bytes again were not cached")
	}
	checkPages(t, c, again.UploadID, pages)
}

func TestFanOut_ARangeWorkerKilledMidPageIsTakenOverAndTheDocumentIsDone(t *testing.T) {
	c := client.New(stack.APIURL, nil)
	before := stack.Lambda.Stats(processFunction)
	pdf := smallPages(t, 20, "killed") // two ranges of 10
	id := upload(t, c, "killed.pdf", pdf)
	store := dynamostore.New(stack.Dynamo, stack.Table, time.Now)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Once a range is claimed, its worker is reading a page (each takes
	// about a second): kill every busy container of the function.
	killed := 0
	for killed == 0 {
		if ctx.Err() != nil {
			t.Fatal("no range was claimed within two minutes")
		}
		st, err := c.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != ocr.StatusProcessing && st.Status != ocr.StatusPending {
			t.Fatalf("the upload is %s before any range was killed", st.Status)
		}
		up, err := store.Upload(ctx, id)
		if err == nil && up.ResultKey != "" {
			if rec, err := store.Result(ctx, up.ResultKey+"#range0"); err == nil && rec.State == ocr.ResultProcessing {
				if killed, err = stack.Lambda.KillBusy(processFunction); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d range workers killed mid-page", killed)
	waitDone(t, c, id, 3*time.Minute, nil)
	checkPages(t, c, id, 20)
	noDeadLetters(t, before)
	if n := stack.Lambda.Stats(processFunction).Failures - before.Failures; n < killed {
		t.Fatalf("%d invocations failed, want the %d killed", n, killed)
	}
}

func TestFanOut_DynamoDBStoppedAndRestartedDuringAFanOutLosesNothing(t *testing.T) {
	c := client.New(stack.APIURL, nil)
	before := stack.Lambda.Stats(processFunction)
	id := upload(t, c, "outage.pdf", smallPages(t, 20, "outage"))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Once the ranges are being read, DynamoDB goes away until an
	// invocation has failed for it; the queue is held while it comes back
	// (as internal/e2e's outage test does, so retries find it up).
	for {
		st, err := c.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Progress != nil && st.Progress.Pages == 20 {
			break
		}
		if st.Status != ocr.StatusProcessing && st.Status != ocr.StatusPending {
			t.Fatalf("the upload is %s before the outage", st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stack.StopDynamo(); err != nil {
		t.Fatal(err)
	}
	if err := stack.RecoverDynamo(ctx, processFunction, before.Failures); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c, id, 3*time.Minute, nil)
	checkPages(t, c, id, 20)
	noDeadLetters(t, before)
}

func TestFanOut_AThreeThousandPageDocumentIsAcceptedAndCompletes(t *testing.T) {
	c := client.New(stack.APIURL, nil)
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Limits.MaxPages != 3000 || info.Limits.MaxUploadBytes != 500<<20 {
		t.Fatalf("GET /info limits %+v, want 3,000 pages and 500 MiB", info.Limits)
	}
	before := stack.Lambda.Stats(processFunction)
	// Tiny pages with a text layer of one line each: what is tested is
	// the splitting, the storing and the assembling of 3,000 pages.
	const n = 3000
	pages := make([]testpdf.Page, n)
	for i := range pages {
		pages[i] = testpdf.Page{Lines: []string{fmt.Sprintf("page %d of many", i+1)}, MediaBox: [4]float64{0, 0, 200, 40}, CropBox: [4]float64{0, 0, 200, 40}}
	}
	pdf := testpdf.Pages(fmt.Sprintf("/Title (s3ocr %d)", time.Now().UnixNano()), pages...)
	start := time.Now()
	id := upload(t, c, "3000.pdf", pdf)
	last := time.Now()
	st := waitDone(t, c, id, 15*time.Minute, func(st *service.UploadStatus) {
		if time.Since(last) > 5*time.Second && st.Progress != nil {
			last = time.Now()
			t.Logf("%s: %d of %d pages", time.Since(start).Round(time.Second), st.Progress.PagesDone, st.Progress.Pages)
		}
	})
	t.Logf("done after %s", time.Since(start).Round(time.Second))
	if st.Document.Pages != n {
		t.Fatalf("document %+v", st.Document)
	}
	text := readText(t, c, id)
	t.Logf("text read after %s", time.Since(start).Round(time.Second))
	got := strings.Split(text, "\f")
	if len(got) != n || !strings.Contains(got[0], "page 1 of many") || !strings.Contains(got[n-1], "page 3000 of many") {
		t.Fatalf("text of %d pages, first %q, last %q", len(got), got[0], got[len(got)-1])
	}
	noDeadLetters(t, before)
}
