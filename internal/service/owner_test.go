package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

var (
	alice = service.WithCaller(ctx, service.Caller{Sub: "alice", IP: "192.0.2.1"})
	bob   = service.WithCaller(ctx, service.Caller{Sub: "bob", IP: "192.0.2.1"})
)

// uploadAs creates and sends an upload as the context's caller.
func (e *env) uploadAs(t *testing.T, c context.Context, content []byte) string {
	t.Helper()
	out, err := e.uploads.Create(c, service.CreateUploadRequest{Filename: "scan.png", ContentType: "image/png", Size: int64(len(content))})
	if err != nil {
		t.Fatalf("Create as %+v: %v", service.CallerFrom(c), err)
	}
	if err := e.objects.Put(ctx, out.Upload.Fields["key"], "image/png", content); err != nil {
		t.Fatal(err)
	}
	return out.UploadID
}

func TestOwner_AnotherCallerIsToldTheUploadDoesNotExist(t *testing.T) {
	e := newEnv(t)
	id := e.uploadAs(t, alice, pngBytes(t, 60, 30, 255))
	e.process(t, id)
	if st, err := e.status.Get(alice, id); err != nil || st.Status != ocr.StatusDone {
		t.Fatalf("the owner's Get = %+v, %v", st, err)
	}
	missing, _ := service.NewUploadID()
	_, errMissing := e.status.Get(bob, missing)
	for name, c := range map[string]context.Context{"another caller": bob, "no caller": ctx} {
		_, err := e.status.Get(c, id)
		if ocr.ErrorCode(err) != ocr.ENOTFOUND {
			t.Fatalf("%s: Get = %v, want not_found", name, err)
		}
		// The same answer as for an id that does not exist, so nothing
		// tells a probe an id is real.
		if want := ocr.ErrorMessage(errMissing); ocr.ErrorMessage(err) != want[:len(want)-len(missing)-1]+id+`"` {
			t.Fatalf("%s: message %q, unlike a missing id's %q", name, ocr.ErrorMessage(err), want)
		}
		if err := e.status.Delete(c, id); ocr.ErrorCode(err) != ocr.ENOTFOUND {
			t.Fatalf("%s: Delete = %v, want not_found", name, err)
		}
	}
	if err := e.status.Delete(alice, id); err != nil {
		t.Fatalf("the owner's Delete: %v", err)
	}
}

func TestOwner_UploadsOfAnOpenAPIAreReadableByTheirId(t *testing.T) {
	e := newEnv(t)
	anon := service.WithCaller(ctx, service.Caller{IP: "198.51.100.7"})
	id := e.uploadAs(t, anon, pngBytes(t, 60, 30, 255))
	e.process(t, id)
	if st, err := e.status.Get(ctx, id); err != nil || st.Status != ocr.StatusDone {
		t.Fatalf("Get by id = %+v, %v", st, err)
	}
}

func TestOwner_ResultsAreSharedWithinOneOwnerOnly(t *testing.T) {
	e := newEnv(t)
	content := pngBytes(t, 60, 30, 200)
	a1 := e.uploadAs(t, alice, content)
	b1 := e.uploadAs(t, bob, content)
	a2 := e.uploadAs(t, alice, content)
	if got := e.process(t, a1); got != service.OutcomeProcessed {
		t.Fatalf("first: %s", got)
	}
	if got := e.process(t, b1); got != service.OutcomeProcessed {
		t.Fatalf("bob's upload of alice's bytes = %s, want read again (processed)", got)
	}
	if got := e.process(t, a2); got != service.OutcomeCached {
		t.Fatalf("alice's second upload = %s, want cached", got)
	}
	if n := e.engine.runs.Load(); n != 2 {
		t.Fatalf("%d OCR runs, want 2 (one per owner)", n)
	}
	if st, _ := e.status.Get(bob, b1); st.Cached {
		t.Fatal("bob's upload says cached")
	}
	if st, _ := e.status.Get(alice, a2); !st.Cached {
		t.Fatal("alice's second upload does not say cached")
	}
}

func TestOwner_SharingAcrossOwnersSavesOCRAndStillRevealsNothing(t *testing.T) {
	e := newEnv(t)
	e.proc.ShareAcrossOwners = true
	content := pngBytes(t, 60, 30, 200)
	a1 := e.uploadAs(t, alice, content)
	b1 := e.uploadAs(t, bob, content)
	a2 := e.uploadAs(t, alice, content)
	e.process(t, a1)
	if got := e.process(t, b1); got != service.OutcomeCached {
		t.Fatalf("bob's upload = %s, want the shared result (cached)", got)
	}
	e.process(t, a2)
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("%d OCR runs, want 1", n)
	}
	st, err := e.status.Get(bob, b1)
	if err != nil || st.Status != ocr.StatusDone || st.Result == nil || st.Cached {
		t.Fatalf("bob's status = %+v, %v; want done, not cached (the result was read for alice)", st, err)
	}
	if st, _ := e.status.Get(alice, a2); !st.Cached {
		t.Fatal("alice's second upload does not say cached")
	}
}

func quotaEnv(t *testing.T, limits ocr.Usage) *env {
	e := newEnv(t)
	q := &service.Quota{Counters: e.store, Limits: limits, HashKey: "k"}
	e.uploads.Quota, e.proc.Quota = q, q
	// Counters of a past day have expired in the store: today.
	e.clock.Set(time.Now().UTC())
	return e
}

func TestQuota_UploadsAndBytesPerDayAreRefusedWithWhenTheyReset(t *testing.T) {
	e := quotaEnv(t, ocr.Usage{Uploads: 2, Bytes: 1000})
	req := service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 400}
	for range 2 {
		if _, err := e.uploads.Create(alice, req); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.uploads.Create(alice, req)
	var q *service.QuotaExceeded
	if !errors.As(err, &q) || ocr.ErrorCode(err) != ocr.EQUOTA {
		t.Fatalf("third upload = %v, want quota_exceeded", err)
	}
	if want := ocr.QuotaReset(e.clock.Now()); !q.ResetAt.Equal(want) || !q.ResetAt.After(e.clock.Now()) {
		t.Fatalf("resets at %s, want %s", q.ResetAt, want)
	}
	// Another caller has their own quota; bytes count too.
	if _, err := e.uploads.Create(bob, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.Create(bob, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 1}); ocr.ErrorCode(err) != ocr.EQUOTA {
		t.Fatalf("bob past his bytes = %v, want quota_exceeded", err)
	}
	// The next day, counting starts again.
	e.clock.Set(ocr.QuotaReset(e.clock.Now()).Add(time.Second))
	if _, err := e.uploads.Create(alice, req); err != nil {
		t.Fatalf("the next day: %v", err)
	}
}

func TestQuota_AnOpenAPICountsCallersByAddressWithoutStoringIt(t *testing.T) {
	e := quotaEnv(t, ocr.Usage{Uploads: 1})
	req := service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10}
	one := service.WithCaller(ctx, service.Caller{IP: "198.51.100.7"})
	out, err := e.uploads.Create(one, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.Create(one, req); ocr.ErrorCode(err) != ocr.EQUOTA {
		t.Fatalf("second upload from one address = %v, want quota_exceeded", err)
	}
	if _, err := e.uploads.Create(service.WithCaller(ctx, service.Caller{IP: "198.51.100.8"}), req); err != nil {
		t.Fatalf("another address: %v", err)
	}
	u, _ := e.store.Upload(ctx, out.UploadID)
	if u.Owner != "" || u.Quota == "" || u.Quota == "ip:198.51.100.7" {
		t.Fatalf("upload owner %q quota %q: want no owner and a hashed address", u.Owner, u.Quota)
	}
}

func TestQuota_PagesAreCountedOnceAndADocumentPastTheLimitFails(t *testing.T) {
	e := quotaEnv(t, ocr.Usage{Pages: 5})
	e.proc.Documents = &numberedPages{n: 3}
	first := e.uploadAs(t, alice, pngBytes(t, 60, 30, 1))
	e.process(t, first)
	// A second delivery of the same event counts nothing more.
	if out, err := e.proc.Process(ctx, "uploads/"+first); err != nil || out != service.OutcomeIgnored {
		t.Fatalf("duplicate delivery = %s %v", out, err)
	}
	info, err := e.uploads.Quota.Info(ctx, service.Caller{Sub: "alice"}, e.clock.Now())
	if err != nil || info.Used.Pages != 3 || info.Remaining.Pages != 2 || info.Remaining.Uploads != -1 {
		t.Fatalf("quota after one 3-page document = %+v, %v", info, err)
	}
	second := e.uploadAs(t, alice, pngBytes(t, 60, 30, 2))
	e.process(t, second)
	st, _ := e.status.Get(alice, second)
	if st.Status != ocr.StatusFailed || st.Error.Code != ocr.EQUOTA {
		t.Fatalf("a 3-page document with 2 pages left = %s %+v, want failed quota_exceeded", st.Status, st.Error)
	}
	// Bob's pages are his own.
	if out := e.process(t, e.uploadAs(t, bob, pngBytes(t, 60, 30, 2))); out != service.OutcomeProcessed {
		t.Fatalf("bob's document = %s", out)
	}
	// The refusal was not kept as the content's result: the next day the
	// same bytes are read.
	e.clock.Set(ocr.QuotaReset(e.clock.Now()).Add(time.Second))
	if out := e.process(t, e.uploadAs(t, alice, pngBytes(t, 60, 30, 2))); out != service.OutcomeProcessed {
		t.Fatalf("the refused document the next day = %s, want processed", out)
	}
}

// A waiter of another owner is finished without "cached", failure or not:
// its record would otherwise tell its caller someone else had the file.
func TestOwner_AWaiterOfAnotherOwnerIsNotToldItWasCached(t *testing.T) {
	e := newEnv(t)
	e.proc.ShareAcrossOwners = true
	e.engine.gate = make(chan struct{})
	e.engine.err = ocr.Errorf(ocr.EOCRFAILED, "unreadable")
	content := pngBytes(t, 60, 30, 77)
	a1 := e.uploadAs(t, alice, content)
	a2 := e.uploadAs(t, alice, content)
	b1 := e.uploadAs(t, bob, content)
	done := make(chan service.Outcome, 1)
	go func() { out, _ := e.proc.Process(ctx, "uploads/"+a1); done <- out }()
	// Once a1 holds the claim (its engine call waits at the gate), the
	// others become its waiters.
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(content), "1")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if rec, err := e.store.Result(ctx, key); err == nil && rec.State == ocr.ResultProcessing && service.OwnerUpload(rec.Owner) == a1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a1 never claimed the content")
		}
	}
	for _, id := range []string{a2, b1} {
		if out, err := e.proc.Process(ctx, "uploads/"+id); err != nil || out != service.OutcomeWaiting {
			t.Fatalf("%s = %s, %v; want waiting", id, out, err)
		}
	}
	close(e.engine.gate)
	if out := <-done; out != service.OutcomeFailed {
		t.Fatalf("a1 = %s", out)
	}
	for id, want := range map[string]bool{a2: true, b1: false} {
		u, err := e.store.Upload(ctx, id)
		if err != nil || u.Status != ocr.StatusFailed || u.Cached != want {
			t.Fatalf("waiter %s = %+v, %v; want failed, cached %v", id, u, err, want)
		}
	}
}
