package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/s3store"
)

const (
	bucket       = "s3store-test"
	uploadPrefix = "uploads/"
	hookID       = "S3STORE_TEST"
)

// One MinIO for the package, started by the first test that needs it. Its
// webhook is an httptest server that records every event.
var (
	startOnce sync.Once
	server    *localstack.MinIO
	startErr  error
	hook      = &recorder{arrived: make(chan struct{})}
	hookSrv   *httptest.Server
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	if hookSrv != nil {
		hookSrv.Close()
	}
	os.Exit(code)
}

// minio returns the package's running MinIO with the test bucket configured
// to send ObjectCreated events under uploadPrefix to hook. It skips the test
// when MinIO is not installed, unless S3OCR_REQUIRE_TOOLS=1.
func minio(t *testing.T) *localstack.MinIO {
	t.Helper()
	startOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The webhook listens before MinIO starts, as in the local stack.
		hookSrv = httptest.NewServer(hook)
		server, startErr = localstack.StartMinIO(ctx, localstack.MinIOOptions{
			Webhooks: map[string]string{hookID: hookSrv.URL + "/events"},
		})
		if startErr != nil {
			return
		}
		c, err := localstack.NewS3Client(ctx, server)
		if err != nil {
			startErr = err
			return
		}
		// Twice, as a restarted local stack would: it must be idempotent.
		for range 2 {
			if startErr = localstack.ConfigureBucket(ctx, c, bucket, uploadPrefix, server.WebhookARN(hookID)); startErr != nil {
				return
			}
		}
	})
	if localstack.Skippable(startErr) {
		t.Skipf("MinIO is not installed (`make tools` installs it; S3OCR_REQUIRE_TOOLS=1 makes this a failure): %v", startErr)
	}
	if startErr != nil {
		t.Fatalf("start MinIO: %v", startErr)
	}
	return server
}

// newStore returns a Store for the test bucket, with its client configured
// as a function's is: only through the SDK's standard variables.
func newStore(t *testing.T) (*s3store.Store, *s3.Client) {
	t.Helper()
	m := minio(t)
	setenv(t, map[string]string{
		"AWS_ENDPOINT_URL_S3":   m.Endpoint,
		"AWS_REGION":            m.Region,
		"AWS_ACCESS_KEY_ID":     m.AccessKey,
		"AWS_SECRET_ACCESS_KEY": m.SecretKey,
	})
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := s3store.NewClient(cfg)
	return s3store.New(c, bucket), c
}

// setenv sets the SDK's variables for the test as Lambda would set them,
// and unsets the others that could change what the SDK does, so that a
// developer's AWS settings cannot reach the tests.
func setenv(t *testing.T, vars map[string]string) {
	t.Helper()
	noFile := filepath.Join(t.TempDir(), "absent")
	t.Setenv("AWS_CONFIG_FILE", noFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", noFile)
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

func randomKey(prefix, name string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b) + "/" + name
}

// post sends the form as a browser does: multipart/form-data with every
// field, then the file last in the part "file". It returns the status and
// body of the answer.
func post(t *testing.T, p *ocr.PresignedPost, fields map[string]string, file []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := w.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	part, err := w.CreateFormFile("file", "document")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(file)
	w.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readAll(t *testing.T, store *s3store.Store, key string) []byte {
	t.Helper()
	rc, err := store.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func assertNoObject(t *testing.T, store *s3store.Store, key string) {
	t.Helper()
	rc, err := store.Open(t.Context(), key)
	if err == nil {
		rc.Close()
		t.Fatalf("object %q exists; want none", key)
	}
	if ocr.ErrorCode(err) != ocr.EOBJECTNOTFOUND {
		t.Fatalf("Open(%q) = %v; want code %s", key, err, ocr.EOBJECTNOTFOUND)
	}
}

func TestNewClient_PathStyleOnlyWithAnEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint string
		pathStyle      bool
	}{
		{"AWS", "", false},
		{"local server", "http://127.0.0.1:9000", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"AWS_REGION": "eu-west-1"}
			if tc.endpoint != "" {
				vars["AWS_ENDPOINT_URL_S3"] = tc.endpoint
			}
			setenv(t, vars)
			cfg, err := awsconfig.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := s3store.NewClient(cfg).Options().UsePathStyle; got != tc.pathStyle {
				t.Errorf("UsePathStyle = %v; want %v", got, tc.pathStyle)
			}
		})
	}
}

// The policy is what S3 enforces, so check what it says, without a server.
func TestPresignPost_PolicyPinsKeyTypeSizeAndExpiry(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	store := s3store.New(s3.NewFromConfig(cfg), "the-bucket")
	expires := time.Now().Add(10 * time.Minute)
	p, err := store.PresignPost(t.Context(), "uploads/abc", "image/png", 5000, expires)
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != "https://the-bucket.s3.eu-west-1.amazonaws.com" {
		t.Errorf("URL = %q", p.URL)
	}
	if p.Fields["key"] != "uploads/abc" || p.Fields["Content-Type"] != "image/png" {
		t.Errorf("fields = %v; want key and Content-Type", p.Fields)
	}
	raw, err := base64.StdEncoding.DecodeString(p.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatal(err)
	}
	if want := expires.UTC().Truncate(time.Second).Format(time.RFC3339); policy.Expiration != want {
		t.Errorf("expiration = %s; want %s", policy.Expiration, want)
	}
	var conds []string
	for _, c := range policy.Conditions {
		conds = append(conds, string(c))
	}
	for _, want := range []string{`{"key":"uploads/abc"}`, `{"Content-Type":"image/png"}`, `["content-length-range",1,5000]`, `{"bucket":"the-bucket"}`} {
		if !slices.Contains(conds, want) {
			t.Errorf("conditions %s lack %s", conds, want)
		}
	}
}

func TestPresignPost_RefusesWhatItCannotSign(t *testing.T) {
	store := s3store.New(s3.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}), "b")
	later := time.Now().Add(time.Minute)
	for _, tc := range []struct {
		name, key, contentType string
		maxSize                int64
		expires                time.Time
	}{
		{"no key", "", "image/png", 10, later},
		{"no content type", "k", "", 10, later},
		{"no size", "k", "image/png", 0, later},
		{"expired", "k", "image/png", 10, time.Now().Add(-time.Second)},
		{"expiring within the second", "k", "image/png", 10, time.Now().Truncate(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := store.PresignPost(t.Context(), tc.key, tc.contentType, tc.maxSize, tc.expires); err == nil {
				t.Errorf("PresignPost = %v; want an error", p)
			}
		})
	}
}

func TestPresignPost_AllowedFileIsStoredAndOpens(t *testing.T) {
	store, c := newStore(t)
	key := randomKey(uploadPrefix, "page.png")
	p, err := store.PresignPost(t.Context(), key, "image/png", 1000, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	file := []byte("\x89PNG\r\n\x1a\n not really a PNG, but S3 does not look")
	if status, body := post(t, p, p.Fields, file); status != http.StatusNoContent {
		t.Fatalf("POST = %d %s; want 204", status, body)
	}
	if got := readAll(t, store, key); !bytes.Equal(got, file) {
		t.Errorf("Open returned %q; want %q", got, file)
	}
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(head.ContentType); ct != "image/png" {
		t.Errorf("stored Content-Type = %q; want image/png", ct)
	}
}

func TestPresignPost_FormsOutsideThePolicyAreRefused(t *testing.T) {
	store, _ := newStore(t)
	const maxSize = 100
	for _, tc := range []struct {
		name   string
		change func(fields map[string]string) []byte // edits the fields, returns the file
		status int
		code   string // S3 error code in the answer
		reason string // in the message, as MinIO words it
	}{
		{"file larger than the maximum", func(map[string]string) []byte { return bytes.Repeat([]byte("x"), maxSize+1) }, http.StatusBadRequest, "EntityTooLarge", "exceeds the maximum"},
		{"empty file", func(map[string]string) []byte { return nil }, http.StatusBadRequest, "EntityTooSmall", "smaller than the minimum"},
		{"other Content-Type", func(f map[string]string) []byte { f["Content-Type"] = "application/pdf"; return []byte("%PDF-") }, http.StatusForbidden, "AccessDenied", "Policy Condition failed"},
		{"no Content-Type", func(f map[string]string) []byte { delete(f, "Content-Type"); return []byte("x") }, http.StatusForbidden, "AccessDenied", "Policy Condition failed"},
		{"other key", func(f map[string]string) []byte { f["key"] = f["key"] + "-other"; return []byte("x") }, http.StatusForbidden, "AccessDenied", "Policy Condition failed"},
		{"extra field", func(f map[string]string) []byte { f["x-amz-meta-owner"] = "me"; return []byte("x") }, http.StatusForbidden, "AccessDenied", "not specified in the policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := randomKey(uploadPrefix, "doc")
			p, err := store.PresignPost(t.Context(), key, "image/png", maxSize, time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			fields := maps.Clone(p.Fields)
			file := tc.change(fields)
			status, body := post(t, p, fields, file)
			if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, tc.reason) {
				t.Errorf("POST = %d %s; want %d %s (%s)", status, body, tc.status, tc.code, tc.reason)
			}
			assertNoObject(t, store, key)
			assertNoObject(t, store, fields["key"])
		})
	}
}

func TestPresignPost_ExpiredFormIsRefused(t *testing.T) {
	store, _ := newStore(t)
	key := randomKey(uploadPrefix, "late.png")
	expires := time.Now().Add(2 * time.Second)
	p, err := store.PresignPost(t.Context(), key, "image/png", 100, expires)
	if err != nil {
		t.Fatal(err)
	}
	// The policy expires at the whole second; wait until it is well past.
	time.Sleep(time.Until(expires.Truncate(time.Second)) + time.Second)
	status, body := post(t, p, p.Fields, []byte("x"))
	if status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "Policy expired") {
		t.Errorf("POST after expiry = %d %s; want 403 AccessDenied, policy expired", status, body)
	}
	assertNoObject(t, store, key)
}

func TestOpen_MissingObjectIsObjectNotFound(t *testing.T) {
	store, _ := newStore(t)
	_, err := store.Open(t.Context(), randomKey(uploadPrefix, "never-written"))
	var e *ocr.Error
	if !errors.As(err, &e) || e.Code != ocr.EOBJECTNOTFOUND {
		t.Fatalf("Open = %v; want an *ocr.Error with code %s", err, ocr.EOBJECTNOTFOUND)
	}
	if !ocr.Permanent(err) {
		t.Error("a missing object should be permanent: retrying cannot bring it back")
	}
}

func TestOpen_MissingBucketIsNotObjectNotFound(t *testing.T) {
	_, c := newStore(t)
	_, err := s3store.New(c, "no-such-bucket").Open(t.Context(), "k")
	if err == nil || ocr.ErrorCode(err) != ocr.EINTERNAL {
		t.Fatalf("Open in a missing bucket = %v; want an internal error, not %s", err, ocr.EOBJECTNOTFOUND)
	}
}

func TestPut_StoresBytesAndContentType(t *testing.T) {
	store, c := newStore(t)
	key := randomKey("results/", "result.json")
	body := []byte(`{"text":"hello"}`)
	if err := store.Put(t.Context(), key, "application/json", body); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, store, key); !bytes.Equal(got, body) {
		t.Errorf("Open returned %q; want %q", got, body)
	}
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(head.ContentType); ct != "application/json" {
		t.Errorf("stored Content-Type = %q; want application/json", ct)
	}
}

func TestExists_TellsAStoredObjectFromAMissingOne(t *testing.T) {
	store, _ := newStore(t)
	key := randomKey(uploadPrefix, "arrived")
	if err := store.Put(t.Context(), key, "image/png", []byte("png")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{key, true}, {randomKey(uploadPrefix, "never-written"), false}} {
		if got, err := store.Exists(t.Context(), tc.key); err != nil || got != tc.want {
			t.Errorf("Exists(%s) = %v, %v; want %v", tc.key, got, err, tc.want)
		}
	}
}

func TestDelete_RemovesTheObjectAndAgainIsNoError(t *testing.T) {
	store, _ := newStore(t)
	key := randomKey(uploadPrefix, "erased")
	if err := store.Put(t.Context(), key, "image/png", []byte("png")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := store.Delete(t.Context(), key); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := store.Open(t.Context(), key); ocr.ErrorCode(err) != ocr.EOBJECTNOTFOUND {
		t.Fatalf("Open after Delete = %v; want %s", err, ocr.EOBJECTNOTFOUND)
	}
}

func TestNotifications_UploadUnderPrefixArrivesAsS3Event(t *testing.T) {
	store, _ := newStore(t)
	m := minio(t)
	// Spaces and plus signs show that keys arrive URL-encoded, as from S3.
	key := randomKey(uploadPrefix, "scan 1+2.png")
	p, err := store.PresignPost(t.Context(), key, "image/png", 100, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, p, p.Fields, []byte("png")); status != http.StatusNoContent {
		t.Fatalf("POST = %d %s", status, body)
	}
	rec, ok := hook.wait(t, key, 15*time.Second)
	if !ok {
		t.Fatalf("no event for %q within 15 s; events seen: %v", key, hook.keys())
	}
	if rec.S3.Bucket.Name != bucket {
		t.Errorf("bucket = %q; want %q", rec.S3.Bucket.Name, bucket)
	}
	if rec.S3.Object.Key == key {
		t.Errorf("raw key %q is not URL-encoded; AWS encodes it", rec.S3.Object.Key)
	}
	if name := strings.TrimPrefix(rec.EventName, "s3:"); name != "ObjectCreated:Post" {
		t.Errorf("event name = %q; want ObjectCreated:Post (MinIO adds s3:)", rec.EventName)
	}
	if rec.AWSRegion != m.Region {
		t.Errorf("awsRegion = %q; want %q", rec.AWSRegion, m.Region)
	}
	if rec.S3.Object.Size != 3 {
		t.Errorf("size = %d; want 3", rec.S3.Object.Size)
	}
}

func TestNotifications_ObjectOutsidePrefixSendsNoEvent(t *testing.T) {
	store, _ := newStore(t)
	outside := randomKey("results/", "r.json")
	inside := randomKey(uploadPrefix, "marker")
	if err := store.Put(t.Context(), outside, "application/json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(t.Context(), inside, "text/plain", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Events are delivered by a pool, in no set order: once the later one
	// is in, give the earlier one time to show up if it was going to.
	if _, ok := hook.wait(t, inside, 15*time.Second); !ok {
		t.Fatalf("no event for %q within 15 s", inside)
	}
	if _, ok := hook.wait(t, outside, time.Second); ok {
		t.Errorf("event for %q, outside %s", outside, uploadPrefix)
	}
}

// recorder is a webhook that keeps every S3 event record it receives.
type recorder struct {
	mu      sync.Mutex
	records []events.S3EventRecord
	bad     []string      // bodies that did not decode
	arrived chan struct{} // closed and replaced on every arrival
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		return
	}
	body, _ := io.ReadAll(req.Body)
	var ev events.S3Event
	err := json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%v: %s", err, body))
	}
	r.records = append(r.records, ev.Records...)
	close(r.arrived)
	r.arrived = make(chan struct{})
}

// wait returns the record whose decoded key is key, waiting up to timeout.
// It fails the test if any body did not decode into an events.S3Event.
func (r *recorder) wait(t *testing.T, key string, timeout time.Duration) (events.S3EventRecord, bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		if len(r.bad) > 0 {
			r.mu.Unlock()
			t.Fatalf("webhook bodies that are not an S3 event: %v", r.bad)
		}
		for _, rec := range r.records {
			if rec.S3.Object.URLDecodedKey == key {
				r.mu.Unlock()
				return rec, true
			}
		}
		arrived := r.arrived
		r.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			return events.S3EventRecord{}, false
		}
	}
}

func (r *recorder) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, rec := range r.records {
		keys = append(keys, rec.S3.Object.URLDecodedKey)
	}
	return keys
}
