package resultstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/service"
)

// The stores the functions are built with can keep the retention rule.
var (
	_ resultstore.Renewer = (*s3store.Store)(nil)
	_ resultstore.Expirer = (*dynamostore.Store)(nil)
	_ resultstore.Expirer = (*inmem.Store)(nil)
)

const bucket = "resultstore-test"

// One MinIO for the package: the objects are S3's, through the real SDK,
// so that what ages and what a copy renews is what S3 does.
var (
	client     *s3.Client // nil when the tests skip
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	server, err := localstack.StartMinIO(ctx, localstack.MinIOOptions{})
	switch {
	case localstack.Skippable(err):
		skipReason = fmt.Sprintf("MinIO is not installed (`make tools` installs it; S3OCR_REQUIRE_TOOLS=1 makes this a failure): %v", err)
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, "resultstore tests: start MinIO:", err)
		return 1
	}
	defer server.Stop()
	c, err := localstack.NewS3Client(ctx, server)
	if err == nil {
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "resultstore tests:", err)
		return 1
	}
	client = c
	return m.Run()
}

var ctx = context.Background()

// stores returns a result store that keeps every result as an object in
// MinIO, over an in-memory record store.
func stores(t *testing.T) (*resultstore.Store, *inmem.Store) {
	t.Helper()
	if client == nil {
		t.Skip(skipReason)
	}
	records := inmem.NewStore(nil)
	prefix := fmt.Sprintf("results/%s/", strings.ReplaceAll(t.Name(), "/", "-"))
	return &resultstore.Store{Store: records, Objects: s3store.New(client, bucket), Prefix: prefix, InlineLimit: 0}, records
}

// complete claims and finishes a result whose record expires in ttl.
func complete(t *testing.T, s *resultstore.Store, key string, ttl time.Duration) *ocr.ResultRecord {
	t.Helper()
	now := time.Now()
	claim := &ocr.ResultRecord{Key: key, State: ocr.ResultProcessing, Owner: "owner#1", LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if won, _, err := s.ClaimResult(ctx, claim, now); !won || err != nil {
		t.Fatalf("claim %s: %v %v", key, won, err)
	}
	done := *claim
	done.State, done.LeaseUntil, done.Result = ocr.ResultDone, time.Time{}, &ocr.Result{Text: "kept as an object"}
	if _, err := s.CompleteResult(ctx, &done); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Store.Result(ctx, key) // the record alone
	if err != nil || rec.ObjectKey == "" {
		t.Fatalf("record %s: %+v %v; want one keeping its result in an object", key, rec, err)
	}
	return rec
}

func lastModified(t *testing.T, key string) time.Time {
	t.Helper()
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: &key})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return aws.ToTime(out.LastModified)
}

func deleteObject(t *testing.T, key string) {
	t.Helper()
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: &key}); err != nil {
		t.Fatal(err)
	}
}

func TestExtendResult_RenewsTheObjectBeforeMovingItsRecord(t *testing.T) {
	s, _ := stores(t)
	rec := complete(t, s, "k", time.Hour)
	first := lastModified(t, rec.ObjectKey)
	time.Sleep(1100 * time.Millisecond) // LastModified is in whole seconds

	// Within the record's life: nothing moves, nothing is copied.
	if err := s.ExtendResult(ctx, "k", rec.ExpiresAt.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := lastModified(t, rec.ObjectKey); !got.Equal(first) {
		t.Errorf("object rewritten (%s, was %s) by an extension that moved nothing", got, first)
	}

	// Past it: the object is new again, so the lifecycle counts its
	// ResultTTLDays from now, and then the record moves.
	until := rec.ExpiresAt.Add(24 * time.Hour)
	if err := s.ExtendResult(ctx, "k", until); err != nil {
		t.Fatal(err)
	}
	if got := lastModified(t, rec.ObjectKey); !got.After(first) {
		t.Errorf("object LastModified %s after the record moved past its expiry; was %s: the object would expire first", got, first)
	}
	got, err := s.Result(ctx, "k")
	if err != nil || !got.ExpiresAt.Equal(until) || got.Result == nil || got.Result.Text != "kept as an object" {
		t.Fatalf("after the extension: %+v %v; want the result, expiring %s", got, err, until)
	}
}

func TestResult_RecordWhoseObjectIsGoneReadsAsExpired(t *testing.T) {
	s, _ := stores(t)
	rec := complete(t, s, "k", time.Hour)
	deleteObject(t, rec.ObjectKey)
	_, err := s.Result(ctx, "k")
	if !ocr.NotFound(err) {
		t.Fatalf("Result of a record whose object is gone = %v, want not found (expired)", err)
	}
	var e *ocr.Error
	if !errors.As(err, &e) || strings.Contains(e.Message, "results/") {
		t.Errorf("message %q names an internal key", e.Message)
	}
}

func TestClaimResult_RecordWhoseObjectIsGoneIsClaimedAgain(t *testing.T) {
	s, _ := stores(t)
	rec := complete(t, s, "k", time.Hour)
	now := time.Now()
	claim := func() (bool, *ocr.ResultRecord) {
		t.Helper()
		won, cur, err := s.ClaimResult(ctx, &ocr.ResultRecord{Key: "k", State: ocr.ResultProcessing, Owner: "other#2",
			LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
		if err != nil {
			t.Fatal(err)
		}
		return won, cur
	}
	if won, cur := claim(); won || cur.State != ocr.ResultDone {
		t.Fatalf("with its object there: won %v, current %+v; want the done record", won, cur)
	}
	deleteObject(t, rec.ObjectKey)
	if won, cur := claim(); !won {
		t.Fatalf("with its object gone: won %v, current %+v; want the claim, to read the content again", won, cur)
	}
}

func TestExtendResult_ObjectGoneExpiresTheRecordAndAsksForARetry(t *testing.T) {
	s, records := stores(t)
	rec := complete(t, s, "k", time.Hour)
	deleteObject(t, rec.ObjectKey)
	if err := s.ExtendResult(ctx, "k", rec.ExpiresAt.Add(time.Hour)); err == nil || ocr.ErrorCode(err) != ocr.EINTERNAL {
		t.Fatalf("ExtendResult with the object gone = %v, want an error to retry on", err)
	}
	if _, err := records.Result(ctx, "k"); !ocr.NotFound(err) {
		t.Fatalf("the record after its object was found gone: %v, want expired", err)
	}
}

// The story: a large result's object is gone (deleted by hand) while its
// record stands. The upload that read it is told its result expired, 410
// with no internal key, and the next upload of the same file is read again
// instead of being linked to a result nobody can read.
func TestProcess_ResultWhoseObjectIsGoneIsExpiredAndReadAgain(t *testing.T) {
	s, records := stores(t)
	objects := inmem.NewObjects() // the uploads; results go to MinIO
	engine := &countingEngine{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	uploads := &service.Uploads{Store: records, Presigner: objects, Log: quiet, Languages: []string{"eng"}, MaxBytes: 1 << 20,
		PresignExpiry: 10 * time.Minute, UploadTTL: 24 * time.Hour, UploadPrefix: "uploads/", Now: time.Now}
	proc := &service.Processor{Store: s, Objects: objects, Engine: engine, Log: quiet, Now: time.Now, MaxBytes: 1 << 20,
		Documents: &document.Reader{MaxPixels: 1_000_000, MaxPages: 10}, ResultTTL: 29 * 24 * time.Hour, Lease: time.Minute, UploadPrefix: "uploads/"}
	status := &service.Status{Store: s, Originals: objects, UploadPrefix: "uploads/", Log: quiet, Now: time.Now}
	content := pngBytes(t)
	upload := func() string {
		t.Helper()
		out, err := uploads.Create(ctx, service.CreateUploadRequest{Filename: "scan.png", ContentType: "image/png", Size: int64(len(content))})
		if err != nil {
			t.Fatal(err)
		}
		if err := objects.Put(ctx, "uploads/"+out.UploadID, "image/png", content); err != nil {
			t.Fatal(err)
		}
		return out.UploadID
	}

	first := upload()
	if out, err := proc.Process(ctx, "uploads/"+first); out != service.OutcomeProcessed || err != nil {
		t.Fatalf("first upload: %s %v", out, err)
	}
	u, err := records.Upload(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := records.Result(ctx, u.ResultKey)
	if err != nil || rec.ObjectKey == "" {
		t.Fatalf("result record %+v %v; want its result in an object", rec, err)
	}
	deleteObject(t, rec.ObjectKey)

	st, err := status.Get(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.ERESULTEXPIRED || ocr.Lookup(st.Error.Code).Status != 410 {
		t.Fatalf("status of the upload whose result object is gone: %s %+v; want failed, result_expired (410)", st.Status, st.Error)
	}
	if strings.Contains(st.Error.Message, rec.ObjectKey) || strings.Contains(st.Error.Message, "results/") {
		t.Errorf("message %q names an internal key", st.Error.Message)
	}

	second := upload()
	if out, err := proc.Process(ctx, "uploads/"+second); out != service.OutcomeProcessed || err != nil {
		t.Fatalf("second upload of the same file: %s %v; want processed (read again), not cached", out, err)
	}
	if n := engine.runs.Load(); n != 2 {
		t.Errorf("engine ran %d times, want 2: the content is read again", n)
	}
	st, err = status.Get(ctx, second)
	if err != nil || st.Status != ocr.StatusDone || st.Result == nil {
		t.Fatalf("second upload: %+v %v; want done with its result", st, err)
	}
}

type countingEngine struct{ runs atomic.Int32 }

func (e *countingEngine) Recognize(_ context.Context, img image.Image, _ []string) (*ocr.Page, error) {
	e.runs.Add(1)
	b := img.Bounds()
	return &ocr.Page{Width: b.Dx(), Height: b.Dy(), Text: "read", Confidence: 0.9}, nil
}
func (e *countingEngine) Info() ocr.EngineInfo { return ocr.EngineInfo{Name: "fake", Version: "1"} }
func (e *countingEngine) Languages() []string  { return []string{"eng"} }

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 60, 30))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A paged result (a document read in ranges) keeps its pages in chunks:
// they are read back by page, renewed with the record, looked for when the
// result is reused, and deleted with it.
func TestPaged_ChunksAreReadRenewedLookedForAndDeletedWithTheRecord(t *testing.T) {
	s, _ := stores(t)
	pages := &resultstore.Pages{Objects: s.Objects, Prefix: s.Prefix}
	const n = 25
	for j := 0; j*ocr.PageChunk < n; j++ {
		var chunk []*ocr.Page
		for p := j*ocr.PageChunk + 1; p <= min(n, (j+1)*ocr.PageChunk); p++ {
			chunk = append(chunk, &ocr.Page{Number: p, Text: fmt.Sprintf("page %d", p)})
		}
		if err := pages.PutChunk(ctx, "paged", j, chunk); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []int{1, 10, 11, 25} {
		if got, err := pages.Page(ctx, "paged", p); err != nil || got == nil || got.Text != fmt.Sprintf("page %d", p) {
			t.Fatalf("page %d = %+v, %v", p, got, err)
		}
	}
	if got, err := pages.Page(ctx, "paged", 26); err != nil || got != nil {
		t.Fatalf("page 26 = %+v, %v; want none", got, err)
	}
	now := time.Now()
	claim := &ocr.ResultRecord{Key: "paged", State: ocr.ResultProcessing, Owner: "o#1", LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if won, _, err := s.ClaimResult(ctx, claim, now); !won || err != nil {
		t.Fatal(won, err)
	}
	done := *claim
	done.State, done.LeaseUntil, done.Paged, done.Result = ocr.ResultDone, time.Time{}, true, &ocr.Result{Confidence: 0.9}
	done.Document.Pages = n
	if _, err := s.CompleteResult(ctx, &done); err != nil {
		t.Fatal(err)
	}
	chunkKey := func(j int) string { return fmt.Sprintf("%spaged/chunks/%d.json", s.Prefix, j) }
	first := lastModified(t, chunkKey(2))
	time.Sleep(1100 * time.Millisecond) // LastModified is in whole seconds
	if err := s.ExtendResult(ctx, "paged", done.ExpiresAt.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := lastModified(t, chunkKey(2)); !got.After(first) {
		t.Fatalf("the last chunk was not renewed with its record (%s, was %s)", got, first)
	}
	// Reused while its chunks are there: linked to.
	again := &ocr.ResultRecord{Key: "paged", State: ocr.ResultProcessing, Owner: "o#2", LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if won, cur, err := s.ClaimResult(ctx, again, time.Now()); won || err != nil || cur.State != ocr.ResultDone || !cur.Paged {
		t.Fatalf("claim of a done paged result = %v %+v %v", won, cur, err)
	}
	if _, err := s.DeleteResult(ctx, "paged"); err != nil {
		t.Fatal(err)
	}
	for j := range 3 {
		if ok, err := s.Objects.Exists(ctx, chunkKey(j)); ok || err != nil {
			t.Fatalf("chunk %d after the result was deleted: %v %v", j, ok, err)
		}
	}
}

// A paged result whose chunks are gone counts as expired: the next reading
// claims it and reads the document again.
func TestPaged_ResultWhoseChunksAreGoneIsClaimedAgain(t *testing.T) {
	s, _ := stores(t)
	now := time.Now()
	claim := &ocr.ResultRecord{Key: "gone", State: ocr.ResultProcessing, Owner: "o#1", LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if won, _, err := s.ClaimResult(ctx, claim, now); !won || err != nil {
		t.Fatal(won, err)
	}
	done := *claim
	done.State, done.LeaseUntil, done.Paged, done.Result = ocr.ResultDone, time.Time{}, true, &ocr.Result{}
	done.Document.Pages = 12
	s.InlineLimit = 1 << 16 // the summary inline: no object at all, only chunks (none here)
	if _, err := s.CompleteResult(ctx, &done); err != nil {
		t.Fatal(err)
	}
	again := &ocr.ResultRecord{Key: "gone", State: ocr.ResultProcessing, Owner: "o#2", LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if won, _, err := s.ClaimResult(ctx, again, time.Now()); !won || err != nil {
		t.Fatalf("claim of a paged result without its chunks = %v %v; want it claimed anew", won, err)
	}
}
