package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/ocr/storetest"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// fakeEngine counts recognitions and answers with fixed text. A test can
// hold recognitions at a gate to make runs overlap, or make them fail.
type fakeEngine struct {
	runs atomic.Int32
	text string
	gate chan struct{} // when set, Recognize waits for it
	err  error         // returned instead of a page when set
}

func (e *fakeEngine) Recognize(ctx context.Context, img image.Image, langs []string) (*ocr.Page, error) {
	e.runs.Add(1)
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	b := img.Bounds()
	return &ocr.Page{Width: b.Dx(), Height: b.Dy(), Text: e.text + " [" + strings.Join(langs, "+") + "]", Confidence: 0.9}, nil
}

func (e *fakeEngine) Info() ocr.EngineInfo { return ocr.EngineInfo{Name: "fake", Version: "1"} }
func (e *fakeEngine) Languages() []string  { return []string{"deu", "eng", "fra"} }

type env struct {
	clock   *storetest.Clock
	store   *inmem.Store
	objects *inmem.Objects
	engine  *fakeEngine
	uploads *service.Uploads
	proc    *service.Processor
	status  *service.Status
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &storetest.Clock{}
	c.Set(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	e := &env{clock: c, store: inmem.NewStore(c.Now), objects: inmem.NewObjects(), engine: &fakeEngine{text: "hello world"}}
	results := &resultstore.Store{Store: e.store, Objects: e.objects, Prefix: "results/", InlineLimit: 10_000}
	e.uploads = &service.Uploads{
		Store: e.store, Presigner: e.objects, Log: quiet, Languages: e.engine.Languages(),
		MaxBytes: 1 << 20, PresignExpiry: 10 * time.Minute, UploadTTL: 24 * time.Hour, UploadPrefix: "uploads/", Now: c.Now,
	}
	e.proc = &service.Processor{
		Store: results, Objects: e.objects, Engine: e.engine, Log: quiet, Now: c.Now,
		MaxBytes: 1 << 20, Documents: &document.Reader{MaxPixels: 1_000_000, MaxPages: 10}, ResultTTL: 30 * 24 * time.Hour, Lease: time.Minute,
		UploadPrefix: "uploads/",
	}
	e.status = &service.Status{Store: results, Originals: e.objects, UploadPrefix: "uploads/", Log: quiet, Now: c.Now}
	return e
}

var ctx = context.Background()

func pngBytes(t *testing.T, w, h int, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	img.Set(1, 1, color.Black)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload creates an upload for content and "sends" it, returning its id.
func (e *env) upload(t *testing.T, contentType string, content []byte, langs ...string) string {
	t.Helper()
	size := int64(len(content))
	if size == 0 {
		size = 1
	}
	out, err := e.uploads.Create(ctx, service.CreateUploadRequest{Filename: "scan", ContentType: contentType, Size: size, Languages: langs})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := e.objects.Put(ctx, out.Upload.Fields["key"], contentType, content); err != nil {
		t.Fatal(err)
	}
	return out.UploadID
}

// plantClaim stores the claim a worker that then died would have left on
// content (read in English): processing, owned by owner, leased for e.proc.Lease.
func (e *env) plantClaim(t *testing.T, content []byte, owner string) {
	t.Helper()
	now := e.clock.Now()
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(content), "1")
	if ok, _, err := e.store.ClaimResult(ctx, &ocr.ResultRecord{Key: key, State: ocr.ResultProcessing, Owner: owner,
		LeaseUntil: now.Add(e.proc.Lease), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); !ok || err != nil {
		t.Fatalf("plant claim: %v %v", ok, err)
	}
}

func (e *env) process(t *testing.T, id string) service.Outcome {
	t.Helper()
	out, err := e.proc.Process(ctx, "uploads/"+id)
	if err != nil {
		t.Fatalf("Process(%s): %v", id, err)
	}
	return out
}

func (e *env) get(t *testing.T, id string) *service.UploadStatus {
	t.Helper()
	st, err := e.status.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return st
}

func TestProcess_ReadsUploadIntoResult(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	if st := e.get(t, id); st.Status != ocr.StatusPending {
		t.Fatalf("before the object is processed: %s", st.Status)
	}
	if got := e.process(t, id); got != service.OutcomeProcessed {
		t.Fatalf("outcome = %s", got)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || st.Cached || st.Result == nil || st.Result.Text != "hello world [eng]" {
		t.Fatalf("status = %+v result %+v", st, st.Result)
	}
	if st.Document == nil || st.Document.ContentType != "image/png" || st.Document.Size != int64(len(content)) ||
		len(st.Document.SHA256) != 64 || st.Document.Pages != 1 {
		t.Fatalf("document = %+v", st.Document)
	}
	if p := st.Result.Pages; len(p) != 1 || p[0].Number != 1 || p[0].Width != 60 || p[0].Height != 30 {
		t.Fatalf("pages = %+v", p)
	}
	if st.Result.Engine.Name != "fake" || st.Result.Confidence != 0.9 {
		t.Fatalf("result = %+v", st.Result)
	}
}

func TestProcess_SameBytesAgainIsCachedWithoutOCR(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	first := e.upload(t, "image/png", content)
	e.process(t, first)
	second := e.upload(t, "image/png", content)
	if got := e.process(t, second); got != service.OutcomeCached {
		t.Fatalf("outcome = %s, want cached", got)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times, want 1", n)
	}
	st := e.get(t, second)
	if st.Status != ocr.StatusDone || !st.Cached || st.Result.Text != "hello world [eng]" {
		t.Fatalf("second upload = %+v", st)
	}
	if e.get(t, first).Cached {
		t.Fatal("the upload that ran OCR says cached")
	}
}

func TestProcess_OtherLanguagesAreAnotherResult(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	e.process(t, e.upload(t, "image/png", content, "eng"))
	id := e.upload(t, "image/png", content, "deu", "eng")
	if got := e.process(t, id); got != service.OutcomeProcessed {
		t.Fatalf("outcome = %s, want processed", got)
	}
	if st := e.get(t, id); st.Result.Text != "hello world [deu+eng]" || st.Cached {
		t.Fatalf("status = %+v", st)
	}
}

func TestProcess_DuplicateEventsRunOCROnce(t *testing.T) {
	e := newEnv(t)
	e.engine.gate = make(chan struct{})
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	var wg sync.WaitGroup
	var waiting, returned atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer returned.Add(1)
			out, err := e.proc.Process(ctx, "uploads/"+id)
			switch {
			case err != nil:
				t.Errorf("Process: %v", err)
			case out == service.OutcomeWaiting:
				waiting.Add(1)
			}
		}()
	}
	// Let the one run finish only once every duplicate has answered: the
	// run is held at the engine's gate until then. (A fixed sleep here let
	// a duplicate on a loaded machine arrive after the run was done.)
	for deadline := time.Now().Add(30 * time.Second); returned.Load() < 19 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(e.engine.gate)
	wg.Wait()
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times for 20 deliveries, want 1", n)
	}
	// The duplicates that found the work running waited on it and answered
	// at once, without an error to retry: no retries spent, none to send to
	// the dead-letter queue.
	if waiting.Load() != 19 {
		t.Fatalf("%d deliveries waited on the running one, want 19", waiting.Load())
	}
	if out := e.process(t, id); out != service.OutcomeIgnored {
		t.Fatalf("a later delivery = %s, want ignored", out)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone || st.Cached {
		t.Fatalf("status = %+v", st)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times after the retries, want 1", n)
	}
}

func TestProcess_RetryTakesOverItsOwnStaleClaim(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	// An earlier attempt for this very upload claimed the work and died
	// without releasing it (the store was unreachable, or it was killed).
	now := e.clock.Now()
	e.plantClaim(t, content, id+"#dead")
	// Within the lease the attempt cannot tell a dead holder from a live
	// one: it waits on the claim and answers.
	if out, err := e.proc.Process(ctx, "uploads/"+id); err != nil || out != service.OutcomeWaiting {
		t.Fatalf("retry within the lease = %s %v, want waiting", out, err)
	}
	e.clock.Set(now.Add(e.proc.Lease + time.Second))
	if out := e.process(t, id); out != service.OutcomeProcessed {
		t.Fatalf("retry after the lease = %s, want processed", out)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone || st.Cached {
		t.Fatalf("status = %s cached=%v", st.Status, st.Cached)
	}
}

func TestProcess_LeaseIsRenewedWhileOCRRuns(t *testing.T) {
	e := newEnv(t)
	e.proc.Lease = 60 * time.Millisecond
	e.engine.gate = make(chan struct{})
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	done := make(chan error)
	go func() { _, err := e.proc.Process(ctx, "uploads/"+id); done <- err }()
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Long after the first lease would have ended, the claim is still held.
	later := e.clock.Now().Add(time.Hour)
	e.clock.Set(later)
	time.Sleep(100 * time.Millisecond)
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(content), "1")
	rec, err := e.store.Result(ctx, key)
	if err != nil || service.OwnerUpload(rec.Owner) != id || rec.LeaseUntil.Before(later) {
		t.Fatalf("claim = %+v, %v; want held by %s with a lease renewed past %s", rec, err, id, later)
	}
	other := e.upload(t, "image/png", content)
	if out := e.process(t, other); out != service.OutcomeWaiting {
		t.Fatalf("another upload of the same bytes = %s, want waiting (not a takeover)", out)
	}
	close(e.engine.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times", n)
	}
}

func TestProcess_ConcurrentUploadsOfSameContentShareOneRun(t *testing.T) {
	e := newEnv(t)
	e.engine.gate = make(chan struct{})
	content := pngBytes(t, 60, 30, 255)
	var ids []string
	for range 5 {
		ids = append(ids, e.upload(t, "image/png", content))
	}
	var wg sync.WaitGroup
	outcomes := make(chan service.Outcome, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.proc.Process(ctx, "uploads/"+id)
			if err != nil {
				t.Errorf("Process(%s): %v", id, err)
			}
			outcomes <- out
		}()
	}
	// The run is held at the engine's gate until the other four uploads
	// have answered, so each of them found it running.
	for deadline := time.Now().Add(30 * time.Second); len(outcomes) < len(ids)-1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(e.engine.gate)
	wg.Wait()
	close(outcomes)
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times for 5 uploads of the same bytes, want 1", n)
	}
	cached := 0
	for _, id := range ids {
		st := e.get(t, id)
		if st.Status != ocr.StatusDone || st.Result == nil {
			t.Fatalf("upload %s = %+v", id, st)
		}
		if st.Cached {
			cached++
		}
		// Waiters are finished in their own records, not only through status.
		if u, _ := e.store.Upload(ctx, id); u.Status != ocr.StatusDone {
			t.Errorf("stored upload %s is %s, want done", id, u.Status)
		}
	}
	if cached != 4 {
		t.Fatalf("%d uploads cached, want 4", cached)
	}
}

func TestProcess_BadInputFailsWithCodeAndIsNotRetried(t *testing.T) {
	truncated := pngBytes(t, 60, 30, 255)
	truncated = truncated[:len(truncated)/2]
	truncatedJPEG := jpegBytes(t)
	truncatedJPEG = truncatedJPEG[:len(truncatedJPEG)*2/3]
	for _, tc := range []struct {
		name        string
		contentType string
		content     []byte
		code        string
	}{
		{"zero bytes", "image/png", nil, ocr.EEMPTY},
		{"text named .png", "image/png", []byte("just some text, not an image\n"), ocr.EUNSUPPORTED},
		{"JPEG declared PNG", "image/png", jpegBytes(t), ocr.ETYPEMISMATCH},
		{"truncated PNG", "image/png", truncated, ocr.EBADIMAGE},
		{"truncated JPEG", "image/jpeg", truncatedJPEG, ocr.EBADIMAGE},
		{"too many pixels", "image/png", pngBytes(t, 2000, 1000, 255), ocr.ETOOMANYPIXELS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.upload(t, tc.contentType, tc.content)
			if got := e.process(t, id); got != service.OutcomeFailed {
				t.Fatalf("outcome = %s, want failed", got)
			}
			st := e.get(t, id)
			if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != tc.code || st.Error.Message == "" {
				t.Fatalf("status = %+v, error %+v; want failed with %s", st, st.Error, tc.code)
			}
			if n := e.engine.runs.Load(); n != 0 {
				t.Fatalf("engine ran %d times on bad input", n)
			}
			// A redelivery changes nothing.
			if got := e.process(t, id); got != service.OutcomeIgnored {
				t.Fatalf("redelivery outcome = %s, want ignored", got)
			}
		})
	}
}

func TestProcess_TransientEngineErrorIsRetriedThenSucceeds(t *testing.T) {
	e := newEnv(t)
	e.engine.err = errors.New("engine exploded")
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	if _, err := e.proc.Process(ctx, "uploads/"+id); err == nil {
		t.Fatal("Process returned nil for a transient failure: Lambda would not retry")
	}
	if st := e.get(t, id); st.Status.Terminal() {
		t.Fatalf("after a transient failure the upload is %s", st.Status)
	}
	e.engine.err = nil
	// The claim was released, so the retry runs at once, not after the lease.
	if got := e.process(t, id); got != service.OutcomeProcessed {
		t.Fatalf("retry outcome = %s", got)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("after retry: %+v", st)
	}
}

func TestProcess_PermanentEngineErrorIsCachedForTheContent(t *testing.T) {
	e := newEnv(t)
	e.engine.err = ocr.Errorf(ocr.EOCRFAILED, "could not read")
	content := pngBytes(t, 60, 30, 255)
	first := e.upload(t, "image/png", content)
	e.process(t, first)
	second := e.upload(t, "image/png", content)
	e.process(t, second)
	for _, id := range []string{first, second} {
		if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.EOCRFAILED {
			t.Fatalf("upload %s = %+v", id, st)
		}
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("engine ran %d times, want 1", n)
	}
}

func TestProcess_LargeResultIsStoredAsObject(t *testing.T) {
	e := newEnv(t)
	e.engine.text = strings.Repeat("lorem ipsum ", 2000) // 24 KB > InlineLimit
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	e.process(t, id)
	keys := e.objects.Keys()
	var resultKeys []string
	for _, k := range keys {
		if strings.HasPrefix(k, "results/") {
			resultKeys = append(resultKeys, k)
		}
	}
	if len(resultKeys) != 1 {
		t.Fatalf("result objects = %v, want one under results/", keys)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || st.Result == nil || !strings.HasPrefix(st.Result.Text, "lorem ipsum lorem") || len(st.Result.Text) < 24000 {
		t.Fatalf("status of a large result = %s, text %d bytes", st.Status, len(st.Result.Text))
	}
}

func TestProcess_ExpiredResultIsReadAgain(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	e.process(t, e.upload(t, "image/png", content))
	e.clock.Set(e.clock.Now().Add(31 * 24 * time.Hour))
	id := e.upload(t, "image/png", content)
	if got := e.process(t, id); got != service.OutcomeProcessed {
		t.Fatalf("outcome after the result expired = %s, want processed", got)
	}
	if n := e.engine.runs.Load(); n != 2 {
		t.Fatalf("engine ran %d times, want 2", n)
	}
}

func TestProcess_StaleClaimIsTakenOverAfterLease(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	// Someone claimed this content and crashed.
	now := e.clock.Now()
	e.plantClaim(t, content, "crashed")
	if got := e.process(t, id); got != service.OutcomeWaiting {
		t.Fatalf("outcome under a live claim = %s, want waiting", got)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusProcessing || st.ProcessingSeconds == nil {
		t.Fatalf("status = %+v", st)
	}
	e.clock.Set(now.Add(2 * time.Minute))
	if st := e.get(t, id); *st.ProcessingSeconds != 120 {
		t.Fatalf("processingSeconds = %v, want 120", *st.ProcessingSeconds)
	}
	// The redelivery after the lease takes the work over.
	if got := e.process(t, id); got != service.OutcomeProcessed {
		t.Fatalf("outcome after the lease = %s, want processed", got)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("status = %+v", st)
	}
}

func TestProcess_IgnoresKeysThatAreNotUploads(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"results/x.json", "uploads/../etc/passwd", "uploads/" + strings.Repeat("a", 32)} {
		out, err := e.proc.Process(ctx, key)
		if err != nil || out != service.OutcomeIgnored {
			t.Errorf("Process(%q) = %s, %v; want ignored", key, out, err)
		}
	}
}

func TestProcess_MissingObjectFailsUpload(t *testing.T) {
	e := newEnv(t)
	out, err := e.uploads.Create(ctx, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.process(t, out.UploadID); got != service.OutcomeFailed {
		t.Fatalf("outcome = %s", got)
	}
	if st := e.get(t, out.UploadID); st.Error == nil || st.Error.Code != ocr.EOBJECTNOTFOUND {
		t.Fatalf("status = %+v", st)
	}
}

func TestProcess_StopsBeforeTheDeadlineWithTimeout(t *testing.T) {
	e := newEnv(t)
	e.proc.PageBudget = 5 * time.Second
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	out, err := e.proc.Process(short, "uploads/"+id)
	if err != nil || out != service.OutcomeFailed {
		t.Fatalf("Process near the deadline = %s, %v; want failed, nil (not retried)", out, err)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETIMEOUT || !strings.Contains(st.Error.Message, "timeout") {
		t.Fatalf("status = %+v %+v", st, st.Error)
	}
	if n := e.engine.runs.Load(); n != 0 {
		t.Fatalf("engine ran %d times with no time left", n)
	}
	// A timeout is not the content's fault: the same bytes, given time, are read.
	again := e.upload(t, "image/png", content)
	if got := e.process(t, again); got != service.OutcomeProcessed {
		t.Fatalf("later upload of the same bytes = %s, want processed", got)
	}
}

func TestStatus_ProcessingIsNotForever(t *testing.T) {
	e := newEnv(t)
	e.status.StuckAfter = time.Hour
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	// The invocation that claimed the work died (killed at its deadline,
	// its retries too): nobody will finish it.
	e.engine.gate = make(chan struct{})
	crashed, cancel := context.WithCancel(ctx)
	go e.proc.Process(crashed, "uploads/"+id)
	deadline := time.Now().Add(5 * time.Second)
	for e.engine.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := e.get(t, id); st.Status != ocr.StatusProcessing || st.ProcessingSeconds == nil {
		t.Fatalf("while running: %+v", st)
	}
	e.clock.Set(e.clock.Now().Add(59 * time.Minute))
	if st := e.get(t, id); st.Status != ocr.StatusProcessing || *st.ProcessingSeconds != 59*60 {
		t.Fatalf("after 59 min: %+v", st)
	}
	e.clock.Set(e.clock.Now().Add(2 * time.Minute))
	st := e.get(t, id)
	if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.ETIMEOUT {
		t.Fatalf("after 61 min: %+v %+v", st, st.Error)
	}
	cancel()
	close(e.engine.gate)
}

func TestProcess_LogsOneSummaryLinePerObject(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	e.proc.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	content := pngBytes(t, 60, 30, 255)
	id := e.upload(t, "image/png", content)
	if _, err := e.proc.Process(service.WithRequestID(ctx, "req-1"), "uploads/"+id); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), buf.String())
	}
	l := lines[0]
	for _, k := range []string{"readMs", "ocrMs", "storeMs", "totalMs"} {
		if _, ok := l[k].(float64); !ok {
			t.Errorf("no %s in %v", k, l)
		}
	}
	if l["requestId"] != "req-1" || l["uploadId"] != id || l["sha256"] != sha256Hex(content) || l["pages"] != 1.0 ||
		l["outcome"] != "processed" || l["bytes"] != float64(len(content)) {
		t.Fatalf("log line = %v", l)
	}
	// A failure names its code.
	buf.Reset()
	bad := e.upload(t, "image/png", []byte("text"))
	e.process(t, bad)
	if !strings.Contains(buf.String(), `"code":"unsupported_type"`) || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("failure log = %s", buf.String())
	}
}

type recordingNotifier struct {
	mu   sync.Mutex
	sent []service.Completion
}

func (n *recordingNotifier) Notify(_ context.Context, c service.Completion) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, c)
	return nil
}

func TestProcess_NotifiesEachFinishedUploadOnce(t *testing.T) {
	e := newEnv(t)
	n := &recordingNotifier{}
	e.proc.Notifier = n
	e.engine.gate = make(chan struct{})
	content := pngBytes(t, 60, 30, 255)
	owner, waiter := e.upload(t, "image/png", content), e.upload(t, "image/png", content)
	done := make(chan struct{})
	go func() { e.process(t, owner); close(done) }()
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if out := e.process(t, waiter); out != service.OutcomeWaiting {
		t.Fatalf("waiter = %s", out)
	}
	close(e.engine.gate)
	<-done
	bad := e.upload(t, "image/png", []byte("not an image"))
	e.process(t, bad)
	// Duplicate deliveries afterwards change nothing and notify no one.
	e.process(t, owner)
	e.process(t, bad)
	byID := map[string]service.Completion{}
	for _, c := range n.sent {
		if _, dup := byID[c.UploadID]; dup {
			t.Fatalf("upload %s notified twice", c.UploadID)
		}
		byID[c.UploadID] = c
	}
	if len(byID) != 3 || byID[owner].Status != ocr.StatusDone || byID[owner].Cached || !byID[waiter].Cached ||
		byID[bad].Status != ocr.StatusFailed || byID[bad].Error.Code != ocr.EUNSUPPORTED || byID[owner].StatusURL != "/uploads/"+owner {
		t.Fatalf("notifications = %+v", n.sent)
	}
}

func TestProcess_CancelledMidOCRIsCompletedByTheRedelivery(t *testing.T) {
	e := newEnv(t)
	e.engine.gate = make(chan struct{})
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	killed, kill := context.WithCancel(ctx)
	errc := make(chan error)
	go func() { _, err := e.proc.Process(killed, "uploads/"+id); errc <- err }()
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	kill() // the invocation dies after claiming, in the middle of OCR
	if err := <-errc; err == nil {
		t.Fatal("a killed invocation reported success: Lambda would not retry it")
	}
	if st := e.get(t, id); st.Status.Terminal() {
		t.Fatalf("after the kill the upload is %s", st.Status)
	}
	close(e.engine.gate)
	// Lambda's retry comes after the lease; it completes the work.
	e.clock.Set(e.clock.Now().Add(e.proc.Lease + time.Second))
	if out := e.process(t, id); out != service.OutcomeProcessed {
		t.Fatalf("redelivery = %s, want processed", out)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("status = %+v", st)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcess_MultiPageDocumentIsReadPageByPage(t *testing.T) {
	e := newEnv(t)
	e.proc.Documents = &document.Reader{MaxPixels: 60_000_000, MaxPages: 10}
	id := e.upload(t, "image/tiff", readTestdata(t, "pages.tif"))
	if out := e.process(t, id); out != service.OutcomeProcessed {
		t.Fatalf("outcome = %s", out)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 2 || st.Document.Pages != 2 {
		t.Fatalf("status = %+v", st)
	}
	for i, p := range st.Result.Pages {
		if p.Number != i+1 {
			t.Fatalf("page %d numbered %d", i, p.Number)
		}
	}
	if st.Result.Pages[0].Width == st.Result.Pages[1].Width {
		t.Fatal("both pages have the first page's size")
	}
	if st.Result.Text != "hello world [eng]\fhello world [eng]" {
		t.Fatalf("text = %q, want the pages joined by a form feed", st.Result.Text)
	}
	if e.proc.Stats.Pages.Load() != 2 || e.proc.Stats.OCRRuns.Load() != 1 {
		t.Fatalf("stats: %d pages, %d runs", e.proc.Stats.Pages.Load(), e.proc.Stats.OCRRuns.Load())
	}
}

func TestProcess_TooManyPagesFailsBeforeOCR(t *testing.T) {
	e := newEnv(t)
	e.proc.Documents = &document.Reader{MaxPixels: 60_000_000, MaxPages: 1}
	id := e.upload(t, "image/tiff", readTestdata(t, "pages.tif"))
	e.process(t, id)
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETOOMANYPAGES || e.engine.runs.Load() != 0 {
		t.Fatalf("status = %+v %+v, engine runs %d", st, st.Error, e.engine.runs.Load())
	}
}

func TestProcess_ProgressIsShownWhileAMultiPageDocumentIsRead(t *testing.T) {
	e := newEnv(t)
	e.proc.Documents = &document.Reader{MaxPixels: 60_000_000, MaxPages: 10}
	e.engine.gate = make(chan struct{})
	id := e.upload(t, "image/tiff", readTestdata(t, "pages.tif"))
	done := make(chan struct{})
	go func() { e.process(t, id); close(done) }()
	// Page 1 is held at the engine: no progress yet.
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if st := e.get(t, id); st.Status != ocr.StatusProcessing || st.Progress != nil {
		t.Fatalf("during page 1: %+v progress %+v", st.Status, st.Progress)
	}
	e.engine.gate <- struct{}{} // page 1 done
	for e.engine.runs.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	st := e.get(t, id)
	if st.Progress == nil || *st.Progress != (ocr.Progress{PagesDone: 1, Pages: 2}) {
		t.Fatalf("during page 2: progress %+v", st.Progress)
	}
	close(e.engine.gate)
	<-done
	if st := e.get(t, id); st.Status != ocr.StatusDone || st.Progress != nil {
		t.Fatalf("after: %s progress %+v", st.Status, st.Progress)
	}
}

func TestProcess_ContentWhoseWorkersDiedTwiceFailsWithCrashedAndSoDoItsWaiters(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 255)
	waiter := e.upload(t, "image/png", content)
	id := e.upload(t, "image/png", content)
	// A worker claimed the content and died; the waiter waits on it.
	now := e.clock.Now()
	e.plantClaim(t, content, "died-once")
	if got := e.process(t, waiter); got != service.OutcomeWaiting {
		t.Fatalf("outcome under a live claim = %s, want waiting", got)
	}
	// The next worker takes over after the lease and dies too.
	now = now.Add(2 * time.Minute)
	e.clock.Set(now)
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(content), "1")
	second := &ocr.ResultRecord{Key: key, State: ocr.ResultProcessing, Owner: "died-twice", LeaseUntil: now.Add(e.proc.Lease), ExpiresAt: now.Add(time.Hour)}
	if ok, _, err := e.store.ClaimResult(ctx, second, now); !ok || err != nil || second.Takeovers != 1 {
		t.Fatalf("second claim: %v %v, %d takeovers", ok, err, second.Takeovers)
	}
	// The third reads nothing: it fails the upload, and the waiter, clearly.
	e.clock.Set(now.Add(2 * time.Minute))
	if got := e.process(t, id); got != service.OutcomeFailed {
		t.Fatalf("outcome after two dead workers = %s, want failed", got)
	}
	for _, u := range []string{id, waiter} {
		if st := e.get(t, u); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ECRASHED {
			t.Fatalf("upload %s = %s %+v, want failed crashed", u, st.Status, st.Error)
		}
	}
	if n := e.engine.runs.Load(); n != 0 {
		t.Fatalf("the engine read the content %d times", n)
	}
	// Not kept as the content's result: a later upload is read again.
	e.clock.Set(now.Add(5 * time.Minute))
	if got := e.process(t, e.upload(t, "image/png", content)); got != service.OutcomeProcessed {
		t.Fatalf("a later upload of the same bytes = %s, want processed", got)
	}
}
