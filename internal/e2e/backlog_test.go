package e2e

import (
	"context"
	"fmt"
	"net/http"
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
// scanned PDF of several pages per container, sent first, then single
// pages. Every upload's link has expired (see backdateUploadBy) while its
// event waits, and status is polled throughout: no poll may say failed,
// many must say pending and queued, and every upload must end done, read
// once, with nothing dead-lettered.
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

	// Pollers go round every upload posted so far until each is done.
	type seen struct {
		id           string
		done, queued bool
		polls        int
		failed       *ocr.Error
	}
	var (
		mu         sync.Mutex
		posted     []*seen
		allPosted  bool
		maxPending int
	)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; time.Now().Before(deadline); i++ {
				mu.Lock()
				if pend := stack.Lambda.Stats(processFunction).Pending; pend > maxPending {
					maxPending = pend
				}
				var open []*seen
				for _, s := range posted {
					if !s.done && s.failed == nil {
						open = append(open, s)
					}
				}
				finished := allPosted && len(open) == 0
				mu.Unlock()
				if finished {
					return
				}
				if len(open) == 0 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				s := open[i%len(open)]
				code, st, body := getStatus(t, s.id)
				mu.Lock()
				s.polls++
				switch {
				case code != http.StatusOK:
					t.Errorf("GET /uploads/%s = %d %s", s.id, code, body)
					s.failed = &ocr.Error{Code: "http"}
				case st.Status == ocr.StatusFailed:
					s.failed = st.Error
				case st.Status == ocr.StatusDone:
					s.done = true
				case st.Queued:
					s.queued = true
				}
				mu.Unlock()
			}
		}()
	}

	// Every upload is made first, so that the files then arrive within a
	// moment of each other and their events queue at once: the slow ones
	// first, one per container, then the rest from a few clients.
	created := make([]service.CreatedUpload, len(ups))
	for i, u := range ups {
		created[i] = createUpload(t, service.CreateUploadRequest{Filename: u.name, ContentType: u.contentType, Size: int64(len(u.content))})
		backdateUploadBy(t, store, created[i].UploadID)
	}
	send := func(i int) {
		mustPost(t, created[i], ups[i].content)
		mu.Lock()
		posted = append(posted, &seen{id: created[i].UploadID})
		mu.Unlock()
	}
	for i := range conc {
		send(i)
	}
	next := make(chan int)
	var clients sync.WaitGroup
	for range 4 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := range next {
				send(i)
			}
		}()
	}
	for i := conc; i < n; i++ {
		next <- i
	}
	close(next)
	clients.Wait()
	mu.Lock()
	allPosted = true
	mu.Unlock()
	wg.Wait()
	elapsed := time.Since(start)

	queued, polls := 0, 0
	for _, s := range posted {
		polls += s.polls
		if s.queued {
			queued++
		}
		switch {
		case s.failed != nil:
			t.Errorf("upload %s reported failed %+v while its file was in the bucket", s.id, s.failed)
		case !s.done:
			t.Errorf("upload %s not done within 3 minutes", s.id)
		}
	}
	settle(t)
	ocrRuns := stack.OCRRuns() - runs
	fmt.Printf("backlog: %d uploads (%d of %d scanned pages first) at concurrency %d in %s: %d polls, %d uploads seen queued, at most %d events pending\n",
		n, conc, slowPages, conc, elapsed.Round(time.Millisecond), polls, queued, maxPending)
	if ocrRuns != int64(n) {
		t.Errorf("%d OCR runs for %d distinct uploads: one was lost or read twice", ocrRuns, n)
	}
	if d := stack.Lambda.Stats(processFunction).DeadLettered - dead; d != 0 {
		t.Errorf("%d events dead-lettered", d)
	}
	// The test means something only if events waited behind the busy
	// containers while status was asked about them: the files arrive in
	// under a second, so most of the ten times the concurrency queue at once.
	if maxPending < n/2 {
		t.Errorf("at most %d events pending at concurrency %d: the backlog never formed", maxPending, conc)
	}
	if queued < n/2 {
		t.Errorf("only %d of %d uploads were seen pending and queued; the backlog did not outlast the polls", queued, n)
	}
}
