package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// scannedPDF returns a PDF of n pages, each page the PNG as a scanned
// picture the engine reads; tag makes its bytes its own.
func scannedPDF(t *testing.T, pngPage []byte, n, tag int) []byte {
	t.Helper()
	return fmt.Appendf(testpdf.Scanned(grayPNG(t, pngPage), n), "%% s3ocr backlog %d\n", tag)
}

// backdateUploadBy moves the upload's link expiry an hour into the past, as
// if its file had been posted long ago: the upload record is written again
// through the store with only UploadBy changed.
//
// The stack's PresignExpiry is the template's for every test (GET /info
// reports its 600 s), and status waits a fixed 2 minutes past it, so a real
// expiry would need a backlog of minutes. Backdating the record puts every
// status poll past expiry and grace from the moment the file is posted,
// which is the state a long backlog makes; the presigned POST, the S3
// event, its queue and the status function are all the real ones.
func backdateUploadBy(t *testing.T, store *dynamostore.Store, id string) {
	t.Helper()
	u, err := store.DeleteUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	u.UploadBy = time.Now().Add(-time.Hour)
	if err := store.CreateUpload(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

// TestBacklog_QueuedUploadsPastTheirLinkEndDoneAndNeverFail queues ten times
// the process function's reserved concurrency behind slow documents: one
// scanned PDF of several pages per container, then single pages. Every
// upload's link has expired (see backdateUploadBy) while its event waits.
//
// The events are held in the function's queue (Lambda.Hold) until every
// upload has been asked about, so the backlog is there when status is asked
// whatever the machine's speed: each must say pending, none
// failed. Released, the backlog drains while status is polled throughout;
// no poll may say failed, and every upload must end done, read once, with
// nothing dead-lettered.
func TestBacklog_QueuedUploadsPastTheirLinkEndDoneAndNeverFail(t *testing.T) {
	const slowPages = 5
	conc := stack.Wiring.Functions[processFunction].ReservedConcurrency
	n := 10 * conc
	page := testdata(t, "hello.png")
	singles := variants(t, page, 1<<14, n-conc) // a range no other test uses: nothing is cached
	type upload struct {
		name, contentType string
		content           []byte
	}
	ups := make([]upload, 0, n)
	for i := range conc {
		ups = append(ups, upload{fmt.Sprintf("slow-%d.pdf", i), "application/pdf", scannedPDF(t, page, slowPages, i)})
	}
	for i, b := range singles {
		ups = append(ups, upload{fmt.Sprintf("page-%d.png", i), "image/png", b})
	}

	settle(t)
	runs, dead := stack.OCRRuns(), stack.Lambda.Stats(processFunction).DeadLettered
	store := dynamostore.New(stack.Dynamo, stack.Table, time.Now)

	created := make([]service.CreatedUpload, len(ups))
	for i, u := range ups {
		created[i] = createUpload(t, service.CreateUploadRequest{Filename: u.name, ContentType: u.contentType, Size: int64(len(u.content))})
		backdateUploadBy(t, store, created[i].UploadID)
	}
	release, err := stack.Lambda.Hold(processFunction)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := time.Now()
	next := make(chan int)
	var clients sync.WaitGroup
	for range 4 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := range next {
				mustPost(t, created[i], ups[i].content)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	clients.Wait()

	// S3 delivers its events a moment after each POST.
	for wait := time.Now().Add(time.Minute); stack.Lambda.Stats(processFunction).Pending < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("%d of %d events queued a minute after the last file arrived", stack.Lambda.Stats(processFunction).Pending, n)
		}
	}
	for _, c := range created {
		code, st, body := getStatus(t, c.UploadID)
		if code != http.StatusOK || st.Status != ocr.StatusPending || st.Error != nil {
			t.Errorf("GET /uploads/%s with its event queued = %d %s, want pending", c.UploadID, code, body)
		}
	}
	release()

	// Two pollers go round the uploads not yet done until each is.
	type seen struct {
		id    string
		done  bool
		polls int
	}
	var (
		mu   sync.Mutex
		open = make([]*seen, 0, n)
	)
	for _, c := range created {
		open = append(open, &seen{id: c.UploadID})
	}
	deadline := time.Now().Add(3 * time.Minute)
	var wg sync.WaitGroup
	polls := 0
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; time.Now().Before(deadline); i++ {
				mu.Lock()
				if len(open) == 0 {
					mu.Unlock()
					return
				}
				s := open[i%len(open)]
				mu.Unlock()
				code, st, body := getStatus(t, s.id)
				mu.Lock()
				polls++
				switch {
				case code != http.StatusOK || st.Status == ocr.StatusFailed:
					t.Errorf("GET /uploads/%s = %d %s while its file was in the bucket", s.id, code, body)
					s.done = true
				case st.Status == ocr.StatusDone:
					s.done = true
				}
				if s.done {
					open = slices.DeleteFunc(open, func(o *seen) bool { return o == s })
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, s := range open {
		t.Errorf("upload %s not done within 3 minutes of the backlog's release", s.id)
	}
	settle(t)
	ocrRuns := stack.OCRRuns() - runs
	fmt.Printf("backlog: %d uploads (%d of %d scanned pages first) at concurrency %d in %s: %d polls while it drained\n",
		n, conc, slowPages, conc, elapsed.Round(time.Millisecond), polls)
	if ocrRuns != int64(n) {
		t.Errorf("%d OCR runs for %d distinct uploads: one was lost or read twice", ocrRuns, n)
	}
	if d := stack.Lambda.Stats(processFunction).DeadLettered - dead; d != 0 {
		t.Errorf("%d events dead-lettered", d)
	}
}
