package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// eraser returns the status service with what erasure needs, over the same
// stores the processor writes; results over inlineLimit bytes are objects.
func (e *env) eraser(inlineLimit int) *service.Status {
	results := &resultstore.Store{Store: e.store, Objects: e.objects, Prefix: "results/", InlineLimit: inlineLimit}
	e.proc.Store = results
	return &service.Status{Store: results, Originals: e.objects, UploadPrefix: "uploads/", Log: quiet, Now: e.clock.Now}
}

func (e *env) resultKey(t *testing.T, id string) string {
	t.Helper()
	u, err := e.store.Upload(ctx, id)
	if err != nil || u.ResultKey == "" {
		t.Fatalf("upload %s: %+v, %v; want one linked to a result", id, u, err)
	}
	return u.ResultKey
}

func mustErase(t *testing.T, s *service.Status, id string) {
	t.Helper()
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete(%s): %v", id, err)
	}
}

// assertErased checks that the upload answers not_found, to reading and to
// erasing again, and that its file is gone.
func (e *env) assertErased(t *testing.T, s *service.Status, id string) {
	t.Helper()
	if _, err := s.Get(ctx, id); !ocr.NotFound(err) {
		t.Fatalf("Get after Delete = %v, want not_found", err)
	}
	if err := s.Delete(ctx, id); !ocr.NotFound(err) {
		t.Fatalf("Delete again = %v, want not_found", err)
	}
	if slices.Contains(e.objects.Keys(), "uploads/"+id) {
		t.Fatalf("the uploaded file is still there: %v", e.objects.Keys())
	}
}

func TestErase_UploadIsNotFoundAfterwards(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	e.process(t, id)
	key := e.resultKey(t, id)
	mustErase(t, s, id)
	e.assertErased(t, s, id)
	if _, err := e.store.Result(ctx, key); !ocr.NotFound(err) {
		t.Fatalf("the result of its only upload = %v, want not_found", err)
	}
}

func TestErase_MalformedAndUnknownIDs(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	if err := s.Delete(ctx, "../uploads/x"); ocr.ErrorCode(err) != ocr.EBADID {
		t.Fatalf("Delete(malformed) = %v, want %s", err, ocr.EBADID)
	}
	unknown, _ := service.NewUploadID()
	if err := s.Delete(ctx, unknown); !ocr.NotFound(err) {
		t.Fatalf("Delete(unknown) = %v, want not_found", err)
	}
}

func TestErase_SharedResultOutlivesAllButItsLastUpload(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10) // every result is kept as an object
	content := pngBytes(t, 60, 30, 255)
	first, second := e.upload(t, "image/png", content), e.upload(t, "image/png", content)
	e.process(t, first)
	if got := e.process(t, second); got != service.OutcomeCached {
		t.Fatalf("second upload = %s, want cached", got)
	}
	key := e.resultKey(t, first)
	rec, err := e.store.Result(ctx, key)
	if err != nil || rec.ObjectKey == "" {
		t.Fatalf("result = %+v, %v; want one kept as an object", rec, err)
	}

	mustErase(t, s, first)
	e.assertErased(t, s, first)
	st := e.get(t, second)
	if st.Status != ocr.StatusDone || st.Result == nil || st.Result.Text != "hello world [eng]" {
		t.Fatalf("the other upload after the first was erased: %+v", st)
	}

	mustErase(t, s, second)
	e.assertErased(t, s, second)
	if _, err := e.store.Result(ctx, key); !ocr.NotFound(err) {
		t.Fatalf("result after its last upload was erased = %v, want not_found", err)
	}
	if keys := e.objects.Keys(); len(keys) != 0 {
		t.Fatalf("objects left: %v", keys)
	}
}

func TestErase_FailedUploads(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	// Failed for itself (the bytes are not what was declared): no result.
	mismatch := e.upload(t, "image/png", jpegBytes(t))
	e.process(t, mismatch)
	if st := e.get(t, mismatch); st.Status != ocr.StatusFailed {
		t.Fatalf("upload = %+v", st)
	}
	mustErase(t, s, mismatch)
	e.assertErased(t, s, mismatch)

	// Failed for its content: the failure is the content's result, shared.
	e.engine.err = ocr.Errorf(ocr.EOCRFAILED, "could not read")
	content := pngBytes(t, 60, 30, 200)
	a, b := e.upload(t, "image/png", content), e.upload(t, "image/png", content)
	e.process(t, a)
	e.process(t, b)
	key := e.resultKey(t, a)
	mustErase(t, s, a)
	if st := e.get(t, b); st.Status != ocr.StatusFailed || st.Error.Code != ocr.EOCRFAILED {
		t.Fatalf("the other failed upload = %+v", st)
	}
	mustErase(t, s, b)
	if _, err := e.store.Result(ctx, key); !ocr.NotFound(err) {
		t.Fatalf("failed result after both uploads were erased = %v, want not_found", err)
	}
}

func TestErase_PendingUploads(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	// The file has arrived but is not read yet.
	sent := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	mustErase(t, s, sent)
	e.assertErased(t, s, sent)
	if got := e.process(t, sent); got != service.OutcomeIgnored {
		t.Fatalf("the erased upload's event = %s, want ignored", got)
	}
	// No file yet.
	out, err := e.uploads.Create(ctx, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	mustErase(t, s, out.UploadID)
	e.assertErased(t, s, out.UploadID)
}

func TestErase_WaiterErasedWhileTheResultIsReadLeavesItToItsOwner(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	e.engine.gate = make(chan struct{})
	content := pngBytes(t, 60, 30, 255)
	owner, waiter := e.upload(t, "image/png", content), e.upload(t, "image/png", content)
	done := make(chan service.Outcome)
	go func() { out, _ := e.proc.Process(ctx, "uploads/"+owner); done <- out }()
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if got := e.process(t, waiter); got != service.OutcomeWaiting {
		t.Fatalf("second upload = %s, want waiting", got)
	}
	mustErase(t, s, waiter)
	close(e.engine.gate)
	if got := <-done; got != service.OutcomeProcessed {
		t.Fatalf("owner = %s", got)
	}
	if st := e.get(t, owner); st.Status != ocr.StatusDone || st.Result == nil {
		t.Fatalf("owner after its waiter was erased: %+v", st)
	}
	key := e.resultKey(t, owner)
	mustErase(t, s, owner)
	if _, err := e.store.Result(ctx, key); !ocr.NotFound(err) {
		t.Fatalf("result after both were erased = %v, want not_found", err)
	}
}

// flakyObjects fails the first Delete, as S3 can.
type flakyObjects struct {
	ocr.Objects
	failed bool
}

func (f *flakyObjects) Delete(ctx context.Context, key string) error {
	if !f.failed {
		f.failed = true
		return errors.New("s3: service unavailable")
	}
	return f.Objects.Delete(ctx, key)
}

func TestErase_FailedErasureIsFinishedByTheRetry(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	s.Originals = &flakyObjects{Objects: e.objects}
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	e.process(t, id)
	key := e.resultKey(t, id)
	if err := s.Delete(ctx, id); err == nil || ocr.ErrorCode(err) != ocr.EINTERNAL || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("Delete with S3 failing = %v, want an internal error", err)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("after a failed erasure the upload is %+v; want it still there to erase again", st)
	}
	mustErase(t, s, id)
	e.assertErased(t, s, id)
	if _, err := e.store.Result(ctx, key); !ocr.NotFound(err) {
		t.Fatalf("result = %v, want not_found", err)
	}
}

func TestErase_RelinkedResultIsKeptForItsNewUpload(t *testing.T) {
	e := newEnv(t)
	s := e.eraser(10_000)
	content := pngBytes(t, 60, 30, 255)
	first := e.upload(t, "image/png", content)
	e.process(t, first)
	mustErase(t, s, first)
	// The same bytes again after the result went with its only upload: read
	// anew, and the new result is this upload's.
	again := e.upload(t, "image/png", content)
	if got := e.process(t, again); got != service.OutcomeProcessed {
		t.Fatalf("the same bytes after erasure = %s, want processed", got)
	}
	if st := e.get(t, again); st.Status != ocr.StatusDone || st.Cached {
		t.Fatalf("upload = %+v", st)
	}
}
