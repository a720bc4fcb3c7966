package service_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// retaining returns an env whose processor deletes each upload's file once
// the upload is finished, unless keep, as the process function is wired.
func retaining(t *testing.T, keep bool) *env {
	e := newEnv(t)
	e.proc.Notifier = &service.Retention{Objects: e.objects, UploadPrefix: "uploads/", Keep: keep, Log: quiet}
	e.status.KeepUploads = keep
	return e
}

func (e *env) stored(id string) bool {
	ok, _ := e.objects.Exists(ctx, "uploads/"+id)
	return ok
}

func TestRetention_AFinishedUploadsFileIsDeletedUnlessKept(t *testing.T) {
	for _, keep := range []bool{false, true} {
		e := retaining(t, keep)
		content := pngBytes(t, 60, 30, 255)
		read := e.upload(t, "image/png", content)
		cached := e.upload(t, "image/png", content)
		failed := e.upload(t, "image/jpeg", content) // type_mismatch: failed for good
		// In this order: the second upload of the content is the cached one
		// (a map's random order once made it the first, and the test flaky).
		for _, c := range []struct {
			id   string
			want service.Outcome
		}{{read, service.OutcomeProcessed}, {cached, service.OutcomeCached}, {failed, service.OutcomeFailed}} {
			id, want := c.id, c.want
			if got := e.process(t, id); got != want {
				t.Fatalf("keep=%v: outcome %s, want %s", keep, got, want)
			}
			if e.stored(id) != keep {
				t.Errorf("keep=%v: after %s the file is stored: %v", keep, want, e.stored(id))
			}
		}
	}
}

// S3 delivers an event at least once: a delivery after the file is gone
// finds the upload finished and leaves it as it was.
func TestRetention_DuplicateDeliveryAfterTheDeleteLeavesTheUploadDone(t *testing.T) {
	e := retaining(t, false)
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	e.process(t, id)
	if e.stored(id) {
		t.Fatal("file kept")
	}
	out, err := e.proc.Process(ctx, "uploads/"+id)
	if err != nil || out != service.OutcomeIgnored {
		t.Fatalf("duplicate delivery: %s %v, want ignored, no error to retry", out, err)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone || st.Result == nil || st.Error != nil {
		t.Fatalf("after the duplicate: %s %+v", st.Status, st.Error)
	}
}

// Deliveries that overlap the reading: the ones that find it running wait
// on it (their file is not touched), the file goes once it is done, and
// none fails the upload.
func TestRetention_OverlappingDeliveriesDeleteOnceAndFailNothing(t *testing.T) {
	e := retaining(t, false)
	e.engine.gate = make(chan struct{})
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.proc.Process(ctx, "uploads/"+id); err != nil {
				t.Errorf("Process: %v", err)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if !e.stored(id) {
		t.Fatal("the file was deleted while it was being read")
	}
	close(e.engine.gate)
	wg.Wait()
	if e.stored(id) {
		t.Fatal("file kept after the upload was done")
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("status %s %+v", st.Status, st.Error)
	}
}

// An upload that waits on another's reading of the same bytes is finished
// by that reading, in another invocation: its file goes then, not while it
// waits (a takeover of a dead reading may still need to happen).
func TestRetention_AWaitersFileIsDeletedWhenTheReadingItWaitsOnFinishes(t *testing.T) {
	e := retaining(t, false)
	content := pngBytes(t, 60, 30, 255)
	waiter := e.upload(t, "image/png", content)
	e.plantClaim(t, content, "reader#1") // a reading that then dies
	if got := e.process(t, waiter); got != service.OutcomeWaiting {
		t.Fatalf("outcome %s, want waiting", got)
	}
	if !e.stored(waiter) {
		t.Fatal("a waiting upload's file was deleted")
	}
	e.clock.Set(e.clock.Now().Add(2 * time.Minute)) // past the dead reading's lease
	taker := e.upload(t, "image/png", content)
	if got := e.process(t, taker); got != service.OutcomeProcessed {
		t.Fatalf("outcome %s, want processed", got)
	}
	for _, id := range []string{waiter, taker} {
		if e.stored(id) {
			t.Errorf("upload %s done, its file kept", id)
		}
		if st := e.get(t, id); st.Status != ocr.StatusDone {
			t.Errorf("upload %s: %s", id, st.Status)
		}
	}
}

// An error to retry is not a finish: the retry reads the file again.
func TestRetention_AnAttemptToBeRetriedKeepsTheFile(t *testing.T) {
	e := retaining(t, false)
	e.engine.err = errors.New("engine down")
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255))
	if _, err := e.proc.Process(ctx, "uploads/"+id); err == nil {
		t.Fatal("no error to retry on")
	}
	if !e.stored(id) {
		t.Fatal("file deleted before a retry could read it")
	}
	e.engine.err = nil
	if got := e.process(t, id); got != service.OutcomeProcessed || e.stored(id) {
		t.Fatalf("retry: %s, file stored %v", got, e.stored(id))
	}
}

func TestStatusOriginal_GoneWhenUploadsAreNotKept(t *testing.T) {
	content := pngBytes(t, 60, 30, 255)
	e := retaining(t, false)
	e.status.MaxBytes = 1 << 20
	id := e.upload(t, "image/png", content)
	// Asked before its file is deleted, the answer is the same: whether a
	// PDF can be had does not depend on timing.
	_, err := e.status.Original(ctx, id)
	if ocr.ErrorCode(err) != ocr.EORIGINALGONE || ocr.Lookup(ocr.EORIGINALGONE).Status != 410 {
		t.Fatalf("Original without KeepUploads: %v, want %s (410)", err, ocr.EORIGINALGONE)
	}
	if msg := ocr.ErrorMessage(err); !strings.Contains(msg, "deletes uploaded files once they are read") || !strings.Contains(msg, "KeepUploads=true") {
		t.Errorf("message %q does not say why, or how to keep them", msg)
	}

	e = retaining(t, true)
	e.status.MaxBytes = 1 << 20
	id = e.upload(t, "image/png", content)
	e.process(t, id)
	f, err := e.status.Original(ctx, id)
	if err != nil || string(f.Data) != string(content) {
		t.Fatalf("Original with KeepUploads: %v", err)
	}
	f.Close()
}
