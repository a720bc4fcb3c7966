// Package storetest holds the behaviour every ocr.Store must have. The
// in-memory store and the DynamoDB store both run it, so unit tests written
// against the fake mean the same as they would against DynamoDB.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Clock is a settable clock for stores under test.
type Clock struct{ t atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.t.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.t.Store(t.UnixNano()) }

// NewStore returns an empty store that reads the time from clock. Stores
// that share a database should use a fresh table or key space each call.
type NewStore func(t *testing.T, clock *Clock) ocr.Store

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Run runs the contract against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ocr.Store, c *Clock)
	}{
		{"UploadRoundTrip", testUploadRoundTrip},
		{"CreateUploadTwiceFails", testCreateUploadTwice},
		{"UnknownUploadIsNotFound", testUnknownUpload},
		{"ExpiredUploadIsNotFound", testExpiredUpload},
		{"TransitionOnlyFromListedStatus", testTransition},
		{"UnknownResultIsNotFound", testUnknownResult},
		{"ClaimIsExclusiveUntilLeaseEnds", testClaimExclusive},
		{"ClaimOfFinishedResultFails", testClaimFinished},
		{"ClaimOfExpiredResultSucceeds", testClaimExpired},
		{"ConcurrentClaimsOneWinner", testConcurrentClaims},
		{"WaitersReturnedOnComplete", testWaiters},
		{"TakeoverKeepsWaitersAndCountsDeadWorkers", testTakeover},
		{"CompleteByLostOwnerFails", testCompleteLost},
		{"ResultRoundTrip", testResultRoundTrip},
		{"FailedResultKeepsError", testFailedResult},
		{"TooLargeResultIsRefused", testTooLarge},
		{"RenewOnlyByOwner", testRenew},
		{"ReleaseOnlyByOwner", testRelease},
		{"ReleasedClaimKeepsWaitersAndRefsUncounted", testReleaseKeeps},
		{"ExtendNeverShortens", testExtend},
		{"DeleteUploadReturnsItOnce", testDeleteUpload},
		{"RefsAreCountedOnceEach", testRefs},
		{"RefsSurviveTakeoverAndCompletion", testRefsKept},
		{"DeleteResultOnlyWhenNothingKeepsIt", testDeleteResult},
		{"TooManyRefsPinTheResult", testPinned},
		{"PagesDoneAddUpWhileProcessing", testPagesDone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{}
			c.Set(t0)
			tc.fn(t, newStore(t, c), c)
		})
	}
}

var ctx = context.Background()

func newUpload(id string) *ocr.Upload {
	return &ocr.Upload{
		ID: id, Status: ocr.StatusPending, Filename: "scan.png", ContentType: "image/png",
		Size: 12345, Languages: []string{"eng", "deu"},
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), UploadBy: t0.Add(10 * time.Minute),
		Owner: "alice", Quota: "sub:alice",
	}
}

func mustCreate(t *testing.T, s ocr.Store, u *ocr.Upload) {
	t.Helper()
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
}

func mustUpload(t *testing.T, s ocr.Store, id string) *ocr.Upload {
	t.Helper()
	u, err := s.Upload(ctx, id)
	if err != nil {
		t.Fatalf("Upload(%s): %v", id, err)
	}
	return u
}

func testUploadRoundTrip(t *testing.T, s ocr.Store, _ *Clock) {
	want := newUpload("u1")
	mustCreate(t, s, want)
	got := mustUpload(t, s, "u1")
	if got.ID != want.ID || got.Status != want.Status || got.Filename != want.Filename ||
		got.ContentType != want.ContentType || got.Size != want.Size ||
		!slices.Equal(got.Languages, want.Languages) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.UploadBy.Equal(want.UploadBy) ||
		got.Owner != want.Owner || got.Quota != want.Quota {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Document != nil || got.Error != nil || got.ResultKey != "" || got.Cached {
		t.Fatalf("new upload has processing fields set: %+v", got)
	}
}

func testCreateUploadTwice(t *testing.T, s ocr.Store, _ *Clock) {
	mustCreate(t, s, newUpload("u1"))
	if err := s.CreateUpload(ctx, newUpload("u1")); err == nil {
		t.Fatal("second CreateUpload with the same id succeeded")
	}
}

func testUnknownUpload(t *testing.T, s ocr.Store, _ *Clock) {
	_, err := s.Upload(ctx, "nope")
	if !ocr.NotFound(err) {
		t.Fatalf("Upload(unknown) = %v, want not_found", err)
	}
}

func testExpiredUpload(t *testing.T, s ocr.Store, c *Clock) {
	mustCreate(t, s, newUpload("u1"))
	c.Set(t0.Add(24*time.Hour + time.Second))
	if _, err := s.Upload(ctx, "u1"); !ocr.NotFound(err) {
		t.Fatalf("Upload(expired) = %v, want not_found", err)
	}
	ok, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusProcessing})
	if err != nil || ok {
		t.Fatalf("TransitionUpload(expired) = %v, %v; want false, nil", ok, err)
	}
}

func testTransition(t *testing.T, s ocr.Store, _ *Clock) {
	mustCreate(t, s, newUpload("u1"))
	doc := &ocr.Document{SHA256: strings.Repeat("ab", 32), ContentType: "image/png", Size: 999, Pages: 1}
	since := t0.Add(time.Minute)
	ok, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{
		Status: ocr.StatusProcessing, UpdatedAt: since, Document: doc, ResultKey: "rk", ProcessingSince: since,
	})
	if err != nil || !ok {
		t.Fatalf("pending→processing = %v, %v", ok, err)
	}
	// Not from pending any more: a second identical transition must not apply.
	ok, err = s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusFailed})
	if err != nil || ok {
		t.Fatalf("transition from a status it is not in = %v, %v; want false", ok, err)
	}
	ok, err = s.TransitionUpload(ctx, "missing", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusFailed})
	if err != nil || ok {
		t.Fatalf("transition of a missing upload = %v, %v; want false", ok, err)
	}
	ok, err = s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending, ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusDone, Cached: true, UpdatedAt: since.Add(time.Second),
	})
	if err != nil || !ok {
		t.Fatalf("processing→done = %v, %v", ok, err)
	}
	ok, err = s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusDone}, ocr.UploadChange{
		Status: ocr.StatusDone, Progress: &ocr.Progress{PagesDone: 3, Pages: 7},
	})
	if err != nil || !ok {
		t.Fatalf("progress update = %v, %v", ok, err)
	}
	u := mustUpload(t, s, "u1")
	if u.Progress == nil || *u.Progress != (ocr.Progress{PagesDone: 3, Pages: 7}) {
		t.Fatalf("progress = %+v", u.Progress)
	}
	if u.Status != ocr.StatusDone || !u.Cached || u.ResultKey != "rk" || u.Document == nil || *u.Document != *doc ||
		!u.ProcessingSince.Equal(since) || !u.UpdatedAt.Equal(since.Add(time.Second)) || u.Filename != "scan.png" {
		t.Fatalf("after transitions: %+v (document %+v)", u, u.Document)
	}
	// A failure records its code and message.
	mustCreate(t, s, newUpload("u2"))
	ok, err = s.TransitionUpload(ctx, "u2", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{
		Status: ocr.StatusFailed, Error: ocr.Errorf(ocr.EBADIMAGE, "broken"),
	})
	if err != nil || !ok {
		t.Fatalf("pending→failed = %v, %v", ok, err)
	}
	if u := mustUpload(t, s, "u2"); u.Error == nil || u.Error.Code != ocr.EBADIMAGE || u.Error.Message != "broken" {
		t.Fatalf("failed upload error = %+v", u.Error)
	}
}

func testUnknownResult(t *testing.T, s ocr.Store, _ *Clock) {
	if _, err := s.Result(ctx, "nope"); !ocr.NotFound(err) {
		t.Fatalf("Result(unknown) = %v, want not_found", err)
	}
}

func claim(key, owner string, now time.Time) *ocr.ResultRecord {
	return &ocr.ResultRecord{
		Key: key, State: ocr.ResultProcessing, Owner: owner, LeaseUntil: now.Add(time.Minute),
		Document:  ocr.Document{SHA256: "ab", ContentType: "image/png", Size: 10},
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
}

func mustClaim(t *testing.T, s ocr.Store, rec *ocr.ResultRecord, now time.Time, want bool) *ocr.ResultRecord {
	t.Helper()
	ok, cur, err := s.ClaimResult(ctx, rec, now)
	if err != nil {
		t.Fatalf("ClaimResult(%s by %s): %v", rec.Key, rec.Owner, err)
	}
	if ok != want {
		t.Fatalf("ClaimResult(%s by %s) = %v, want %v (current %+v)", rec.Key, rec.Owner, ok, want, cur)
	}
	if !ok && cur == nil {
		t.Fatalf("failed claim returned no current record")
	}
	return cur
}

func testClaimExclusive(t *testing.T, s ocr.Store, c *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	cur := mustClaim(t, s, claim("k", "b", t0), t0, false)
	if cur.Owner != "a" || cur.State != ocr.ResultProcessing {
		t.Fatalf("current record = %+v, want processing by a", cur)
	}
	// Still within the lease.
	later := t0.Add(59 * time.Second)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, false)
	// The lease has ended: b takes over.
	later = t0.Add(61 * time.Second)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, true)
	r, err := s.Result(ctx, "k")
	if err != nil || r.Owner != "b" {
		t.Fatalf("after takeover Result = %+v, %v; want owner b", r, err)
	}
}

func done(key, owner string, now time.Time) *ocr.ResultRecord {
	r := claim(key, owner, now)
	r.State = ocr.ResultDone
	r.LeaseUntil = time.Time{}
	r.Result = &ocr.Result{Text: "hello", Confidence: 0.9, Languages: []string{"eng"},
		Pages:  []ocr.Page{{Number: 1, Text: "hello", Confidence: 0.9}},
		Engine: ocr.EngineInfo{Name: "tesseract", Version: "5.3.0"}}
	return r
}

func mustComplete(t *testing.T, s ocr.Store, rec *ocr.ResultRecord) []string {
	t.Helper()
	w, err := s.CompleteResult(ctx, rec)
	if err != nil {
		t.Fatalf("CompleteResult(%s by %s): %v", rec.Key, rec.Owner, err)
	}
	return w
}

func testClaimFinished(t *testing.T, s ocr.Store, c *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	mustComplete(t, s, done("k", "a", t0))
	later := t0.Add(time.Hour) // long after the lease: a done result is never taken over
	c.Set(later)
	cur := mustClaim(t, s, claim("k", "b", later), later, false)
	if cur.State != ocr.ResultDone || cur.Result == nil || cur.Result.Text != "hello" {
		t.Fatalf("current = %+v, want the done result", cur)
	}
}

func testClaimExpired(t *testing.T, s ocr.Store, c *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	mustComplete(t, s, done("k", "a", t0))
	later := t0.Add(31 * 24 * time.Hour)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, true)
}

func testConcurrentClaims(t *testing.T, s ocr.Store, _ *Clock) {
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := s.ClaimResult(ctx, claim("k", fmt.Sprint("owner", i), t0), t0)
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ClaimResult: %v", err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 20 concurrent claims won, want exactly 1", n)
	}
}

func testWaiters(t *testing.T, s ocr.Store, _ *Clock) {
	if ok, err := s.AddWaiter(ctx, "k", "w0"); err != nil || ok {
		t.Fatalf("AddWaiter(missing) = %v, %v; want false", ok, err)
	}
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	for _, w := range []string{"w1", "w2", "w1"} {
		if ok, err := s.AddWaiter(ctx, "k", w); err != nil || !ok {
			t.Fatalf("AddWaiter(%s) = %v, %v; want true", w, ok, err)
		}
	}
	got := mustComplete(t, s, done("k", "a", t0))
	slices.Sort(got)
	if !slices.Equal(got, []string{"w1", "w2"}) {
		t.Fatalf("waiters = %v, want [w1 w2]", got)
	}
	if ok, err := s.AddWaiter(ctx, "k", "w3"); err != nil || ok {
		t.Fatalf("AddWaiter(done) = %v, %v; want false", ok, err)
	}
}

func testTakeover(t *testing.T, s ocr.Store, c *Clock) {
	first := claim("k", "a", t0)
	mustClaim(t, s, first, t0, true)
	if first.Takeovers != 0 {
		t.Fatalf("a fresh claim counts %d takeovers", first.Takeovers)
	}
	for _, w := range []string{"w1", "w2"} {
		if ok, err := s.AddWaiter(ctx, "k", w); err != nil || !ok {
			t.Fatalf("AddWaiter(%s) = %v, %v", w, ok, err)
		}
	}
	// a dies; b takes over after the lease, then dies too; c takes over.
	now := t0
	for i, owner := range []string{"b", "c"} {
		now = now.Add(2 * time.Minute)
		c.Set(now)
		rec := claim("k", owner, now)
		mustClaim(t, s, rec, now, true)
		if rec.Takeovers != i+1 {
			t.Fatalf("claim by %s counts %d takeovers, want %d", owner, rec.Takeovers, i+1)
		}
		if r, err := s.Result(ctx, "k"); err != nil || r.Takeovers != i+1 || r.Owner != owner {
			t.Fatalf("stored after takeover by %s: %+v, %v", owner, r, err)
		}
	}
	if ok, err := s.AddWaiter(ctx, "k", "w3"); err != nil || !ok {
		t.Fatalf("AddWaiter(w3) = %v, %v", ok, err)
	}
	got := mustComplete(t, s, done("k", "c", now))
	slices.Sort(got)
	if !slices.Equal(got, []string{"w1", "w2", "w3"}) {
		t.Fatalf("waiters after two takeovers = %v, want [w1 w2 w3]: the uploads that waited before were lost", got)
	}
}

func testCompleteLost(t *testing.T, s ocr.Store, c *Clock) {
	if _, err := s.CompleteResult(ctx, done("k", "a", t0)); !ocr.NotFound(err) {
		t.Fatalf("CompleteResult without a claim = %v, want not_found", err)
	}
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	later := t0.Add(2 * time.Minute)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, true)
	if _, err := s.CompleteResult(ctx, done("k", "a", t0)); !ocr.NotFound(err) {
		t.Fatalf("CompleteResult by the owner who lost the lease = %v, want not_found", err)
	}
	mustComplete(t, s, done("k", "b", later))
	if _, err := s.CompleteResult(ctx, done("k", "b", later)); !ocr.NotFound(err) {
		t.Fatalf("second CompleteResult = %v, want not_found", err)
	}
}

func testResultRoundTrip(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	want := done("k", "a", t0)
	want.ReadFor = "alice"
	want.Paged = true
	want.Document.Pages = 1
	want.Result.Pages[0].Width, want.Result.Pages[0].Height = 2480, 3508
	want.Result.Pages[0].Lines = []ocr.Line{{
		Text: "hello", Confidence: 0.91, BBox: ocr.BBox{1, 2, 30, 40},
		Words: []ocr.Word{{Text: "hello", Confidence: 0.91, BBox: ocr.BBox{1, 2, 30, 40}}},
	}}
	mustComplete(t, s, want)
	got, err := s.Result(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ocr.ResultDone || got.Document != want.Document || !got.ExpiresAt.Equal(want.ExpiresAt) || got.ReadFor != "alice" || !got.Paged ||
		fmt.Sprintf("%+v", *got.Result) != fmt.Sprintf("%+v", *want.Result) {
		t.Fatalf("round trip:\n got %+v %+v\nwant %+v %+v", got, got.Result, want, want.Result)
	}
	// A result kept in an object instead of inline.
	mustClaim(t, s, claim("k2", "a", t0), t0, true)
	big := done("k2", "a", t0)
	big.Result, big.ObjectKey = nil, "results/k2.json"
	mustComplete(t, s, big)
	if got, err := s.Result(ctx, "k2"); err != nil || got.Result != nil || got.ObjectKey != "results/k2.json" {
		t.Fatalf("object-backed result = %+v, %v", got, err)
	}
}

func testFailedResult(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	rec := claim("k", "a", t0)
	rec.State, rec.Error = ocr.ResultFailed, ocr.Errorf(ocr.EBADIMAGE, "the PNG is truncated")
	mustComplete(t, s, rec)
	got, err := s.Result(ctx, "k")
	if err != nil || got.State != ocr.ResultFailed || got.Error == nil || got.Error.Code != ocr.EBADIMAGE ||
		got.Error.Message != "the PNG is truncated" {
		t.Fatalf("failed result = %+v, %v", got, err)
	}
}

func testTooLarge(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	rec := done("k", "a", t0)
	rec.Result.Text = strings.Repeat("x", 420*1024)
	if _, err := s.CompleteResult(ctx, rec); !errors.Is(err, ocr.ErrItemTooLarge) {
		t.Fatalf("CompleteResult(420 KB) = %v, want ErrItemTooLarge", err)
	}
	// The claim is still held, so the owner can store the result elsewhere.
	rec.Result, rec.ObjectKey = nil, "results/k.json"
	mustComplete(t, s, rec)
}

func testRenew(t *testing.T, s ocr.Store, c *Clock) {
	if ok, err := s.RenewClaim(ctx, "k", "a", t0.Add(time.Hour)); err != nil || ok {
		t.Fatalf("RenewClaim(missing) = %v, %v; want false", ok, err)
	}
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	if ok, err := s.RenewClaim(ctx, "k", "b", t0.Add(time.Hour)); err != nil || ok {
		t.Fatalf("RenewClaim by another owner = %v, %v; want false", ok, err)
	}
	if ok, err := s.RenewClaim(ctx, "k", "a", t0.Add(5*time.Minute)); err != nil || !ok {
		t.Fatalf("RenewClaim by the owner = %v, %v; want true", ok, err)
	}
	// Past the first lease, but within the renewed one: still held.
	later := t0.Add(2 * time.Minute)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, false)
	later = t0.Add(6 * time.Minute)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, true)
	// a lost the claim: its renewals fail from now on.
	if ok, err := s.RenewClaim(ctx, "k", "a", later.Add(time.Hour)); err != nil || ok {
		t.Fatalf("RenewClaim after losing the claim = %v, %v; want false", ok, err)
	}
	mustComplete(t, s, done("k", "b", later))
	if ok, err := s.RenewClaim(ctx, "k", "b", later.Add(time.Hour)); err != nil || ok {
		t.Fatalf("RenewClaim of a finished result = %v, %v; want false", ok, err)
	}
}

func testRelease(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	if err := s.ReleaseClaim(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, claim("k", "b", t0), t0, false)
	if err := s.ReleaseClaim(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, claim("k", "b", t0), t0, true)
	// Releasing a finished result does nothing.
	mustComplete(t, s, done("k", "b", t0))
	if err := s.ReleaseClaim(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Result(ctx, "k"); err != nil || r.State != ocr.ResultDone {
		t.Fatalf("after releasing a done result: %+v, %v", r, err)
	}
}

func testExtend(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	rec := done("k", "a", t0)
	mustComplete(t, s, rec)
	longer := rec.ExpiresAt.Add(48 * time.Hour)
	if err := s.ExtendResult(ctx, "k", longer); err != nil {
		t.Fatal(err)
	}
	if err := s.ExtendResult(ctx, "k", rec.ExpiresAt.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Result(ctx, "k"); err != nil || !r.ExpiresAt.Equal(longer) {
		t.Fatalf("ExpiresAt = %v, %v; want %v", r.ExpiresAt, err, longer)
	}
	if err := s.ExtendResult(ctx, "missing", longer); err != nil {
		t.Fatalf("ExtendResult(missing) = %v, want nil", err)
	}
}

func testDeleteUpload(t *testing.T, s ocr.Store, c *Clock) {
	mustCreate(t, s, newUpload("u1"))
	ok, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusDone, ResultKey: "rk"})
	if err != nil || !ok {
		t.Fatalf("pending→done = %v, %v", ok, err)
	}
	u, err := s.DeleteUpload(ctx, "u1")
	if err != nil || u.ID != "u1" || u.ResultKey != "rk" || u.Status != ocr.StatusDone {
		t.Fatalf("DeleteUpload = %+v, %v; want the upload as it was", u, err)
	}
	if _, err := s.Upload(ctx, "u1"); !ocr.NotFound(err) {
		t.Fatalf("Upload after DeleteUpload = %v, want not_found", err)
	}
	if _, err := s.DeleteUpload(ctx, "u1"); !ocr.NotFound(err) {
		t.Fatalf("second DeleteUpload = %v, want not_found", err)
	}
	mustCreate(t, s, newUpload("u2"))
	c.Set(t0.Add(25 * time.Hour))
	if _, err := s.DeleteUpload(ctx, "u2"); !ocr.NotFound(err) {
		t.Fatalf("DeleteUpload(expired) = %v, want not_found", err)
	}
}

func mustAddRef(t *testing.T, s ocr.Store, key, id string) {
	t.Helper()
	if ok, err := s.AddResultRef(ctx, key, id); err != nil || !ok {
		t.Fatalf("AddResultRef(%s, %s) = %v, %v; want true", key, id, ok, err)
	}
}

func mustRemoveRef(t *testing.T, s ocr.Store, key, id string, want ocr.ResultRefs) {
	t.Helper()
	got, err := s.RemoveResultRef(ctx, key, id)
	if err != nil || *got != want {
		t.Fatalf("RemoveResultRef(%s, %s) = %+v, %v; want %+v", key, id, got, err, want)
	}
}

func testRefs(t *testing.T, s ocr.Store, _ *Clock) {
	if ok, err := s.AddResultRef(ctx, "k", "u1"); err != nil || ok {
		t.Fatalf("AddResultRef(missing) = %v, %v; want false", ok, err)
	}
	if _, err := s.RemoveResultRef(ctx, "k", "u1"); !ocr.NotFound(err) {
		t.Fatalf("RemoveResultRef(missing) = %v, want not_found", err)
	}
	if _, err := s.Result(ctx, "k"); !ocr.NotFound(err) {
		t.Fatalf("removing a ref made a record: %v", err)
	}
	mustClaim(t, s, claim("k", "u1", t0), t0, true)
	for _, id := range []string{"u1", "u2", "u1", "u3"} {
		mustAddRef(t, s, "k", id)
	}
	processing := ocr.ResultRefs{State: ocr.ResultProcessing}
	processing.Remaining = 2
	mustRemoveRef(t, s, "k", "u2", processing)
	mustRemoveRef(t, s, "k", "u2", processing) // not among them any more: nothing changes
	processing.Remaining = 1
	mustRemoveRef(t, s, "k", "u3", processing)
	processing.Remaining = 0
	mustRemoveRef(t, s, "k", "u1", processing)
	if r, err := s.Result(ctx, "k"); err != nil || r.State != ocr.ResultProcessing || r.Owner != "u1" {
		t.Fatalf("the record after its refs went: %+v, %v", r, err)
	}
}

// claimWithWaiter claims "k" for owner, as the processor does, with a
// waiting upload: both are counted as its refs, and waiter as a waiter.
func claimWithWaiter(t *testing.T, s ocr.Store, owner, waiter string) {
	t.Helper()
	mustClaim(t, s, claim("k", owner, t0), t0, true)
	mustAddRef(t, s, "k", owner)
	mustAddRef(t, s, "k", waiter)
	if ok, err := s.AddWaiter(ctx, "k", waiter); err != nil || !ok {
		t.Fatalf("AddWaiter = %v, %v", ok, err)
	}
}

func testRefsKept(t *testing.T, s ocr.Store, c *Clock) {
	claimWithWaiter(t, s, "a", "w1")
	later := t0.Add(2 * time.Minute)
	c.Set(later)
	mustClaim(t, s, claim("k", "b", later), later, true) // a died; b takes over
	mustAddRef(t, s, "k", "b")
	mustComplete(t, s, done("k", "b", later))
	mustRemoveRef(t, s, "k", "a", ocr.ResultRefs{Remaining: 2, State: ocr.ResultDone})
	mustRemoveRef(t, s, "k", "w1", ocr.ResultRefs{Remaining: 1, State: ocr.ResultDone})
	mustRemoveRef(t, s, "k", "b", ocr.ResultRefs{Remaining: 0, State: ocr.ResultDone})

	// A claim that replaces an expired record starts with no refs.
	mustClaim(t, s, claim("k2", "a", later), later, true)
	mustAddRef(t, s, "k2", "a")
	mustComplete(t, s, done("k2", "a", later))
	much := later.Add(31 * 24 * time.Hour)
	c.Set(much)
	if ok, err := s.AddResultRef(ctx, "k2", "x"); err != nil || ok {
		t.Fatalf("AddResultRef(expired) = %v, %v; want false", ok, err)
	}
	mustClaim(t, s, claim("k2", "b", much), much, true)
	mustRemoveRef(t, s, "k2", "b", ocr.ResultRefs{State: ocr.ResultProcessing})
}

func testDeleteResult(t *testing.T, s ocr.Store, _ *Clock) {
	if r, err := s.DeleteResult(ctx, "k"); err != nil || r != nil {
		t.Fatalf("DeleteResult(missing) = %+v, %v; want nil", r, err)
	}
	// Processing: its owner finishes it, whatever refs it has.
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	if r, err := s.DeleteResult(ctx, "k"); err != nil || r != nil {
		t.Fatalf("DeleteResult(processing) = %+v, %v; want nil", r, err)
	}
	mustAddRef(t, s, "k", "a")
	mustAddRef(t, s, "k", "b")
	big := done("k", "a", t0)
	big.Result, big.ObjectKey = nil, "results/k.json"
	mustComplete(t, s, big)
	mustRemoveRef(t, s, "k", "a", ocr.ResultRefs{Remaining: 1, State: ocr.ResultDone})
	if r, err := s.DeleteResult(ctx, "k"); err != nil || r != nil {
		t.Fatalf("DeleteResult while b refers to it = %+v, %v; want nil", r, err)
	}
	if _, err := s.Result(ctx, "k"); err != nil {
		t.Fatalf("the result b refers to: %v", err)
	}
	mustRemoveRef(t, s, "k", "b", ocr.ResultRefs{Remaining: 0, State: ocr.ResultDone})
	r, err := s.DeleteResult(ctx, "k")
	if err != nil || r == nil || r.Key != "k" || r.ObjectKey != "results/k.json" {
		t.Fatalf("DeleteResult(unreferenced) = %+v, %v; want the record with its object key", r, err)
	}
	if _, err := s.Result(ctx, "k"); !ocr.NotFound(err) {
		t.Fatalf("Result after DeleteResult = %v, want not_found", err)
	}
	if r, err := s.DeleteResult(ctx, "k"); err != nil || r != nil {
		t.Fatalf("second DeleteResult = %+v, %v; want nil", r, err)
	}
}

func testPinned(t *testing.T, s ocr.Store, _ *Clock) {
	mustClaim(t, s, claim("k", "a", t0), t0, true)
	mustComplete(t, s, done("k", "a", t0))
	ids := make([]string, ocr.MaxResultRefs)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032d", i)
	}
	parallel(t, ids, func(id string) error {
		if ok, err := s.AddResultRef(ctx, "k", id); err != nil || !ok {
			return fmt.Errorf("AddResultRef(%s) = %v, %v", id, ok, err)
		}
		return nil
	})
	mustRemoveRef(t, s, "k", "none", ocr.ResultRefs{Remaining: ocr.MaxResultRefs, State: ocr.ResultDone})
	mustAddRef(t, s, "k", "one-too-many")
	want := ocr.ResultRefs{Remaining: ocr.MaxResultRefs, Pinned: true, State: ocr.ResultDone}
	mustRemoveRef(t, s, "k", "one-too-many", want)
	mustAddRef(t, s, "k", ids[0]) // already counted, and pinned: nothing changes
	parallel(t, ids, func(id string) error {
		_, err := s.RemoveResultRef(ctx, "k", id)
		return err
	})
	want.Remaining = 0
	mustRemoveRef(t, s, "k", "none", want)
	if r, err := s.DeleteResult(ctx, "k"); err != nil || r != nil {
		t.Fatalf("DeleteResult(pinned) = %+v, %v; want nil: only its expiry removes it", r, err)
	}
}

// parallel calls fn for every id from a few goroutines, failing the test on
// the first error: thousands of sequential calls to a real store are slow.
func parallel(t *testing.T, ids []string, fn func(string) error) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan string)
	errs := make(chan error, len(ids))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				if err := fn(id); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testReleaseKeeps(t *testing.T, s ocr.Store, _ *Clock) {
	claimWithWaiter(t, s, "a", "w")
	if err := s.ReleaseClaim(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	// Within the released claim's lease: the retry claims at once.
	rec := claim("k", "a", t0)
	mustClaim(t, s, rec, t0, true)
	if rec.Takeovers != 0 {
		t.Fatalf("a released claim counted as %d takeovers; only dead workers count", rec.Takeovers)
	}
	if got := mustComplete(t, s, done("k", "a", t0)); !slices.Equal(got, []string{"w"}) {
		t.Fatalf("waiters after release and claim = %v, want [w]", got)
	}
	mustRemoveRef(t, s, "k", "a", ocr.ResultRefs{Remaining: 1, State: ocr.ResultDone})
}

// testPagesDone: the ranges of a fanned-out document each add the pages
// they read to the upload's progress, concurrently, and nothing is added
// to an upload that has no progress or is no longer processing.
func testPagesDone(t *testing.T, s ocr.Store, _ *Clock) {
	pc, ok := s.(ocr.ProgressCounter)
	if !ok {
		t.Skipf("%T counts no progress", s)
	}
	u := newUpload("u1")
	mustCreate(t, s, u)
	if err := pc.AddPagesDone(ctx, "u1", 3); err != nil { // pending: nothing
		t.Fatal(err)
	}
	if _, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusProcessing, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := pc.AddPagesDone(ctx, "u1", 3); err != nil { // no progress yet: nothing
		t.Fatal(err)
	}
	if got := mustUpload(t, s, "u1"); got.Progress != nil {
		t.Fatalf("progress = %+v, want none", got.Progress)
	}
	if _, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusProcessing, Progress: &ocr.Progress{Pages: 40},
	}); err != nil {
		t.Fatal(err)
	}
	parallel(t, []string{"a", "b", "c", "d", "e"}, func(string) error { return pc.AddPagesDone(ctx, "u1", 2) })
	if got := mustUpload(t, s, "u1"); got.Progress == nil || got.Progress.PagesDone != 10 || got.Progress.Pages != 40 {
		t.Fatalf("progress = %+v, want 10 of 40", got.Progress)
	}
	if err := pc.AddPagesDone(ctx, "missing", 1); err != nil {
		t.Fatalf("a missing upload: %v", err)
	}
}
