// Package retention_test runs the local stack as deployed by default:
// KeepUploads false, so each uploaded file is deleted once read, and the
// functions' logs under the stack's LOG_HASH_KEY. (Package e2e runs one
// that keeps uploads, which its searchable PDFs need.)
package retention_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/logid"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

var stack *localstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("e2e/retention: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e/retention: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

func do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, stack.APIURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// upload creates an upload of content and sends the file as a browser does.
func upload(t *testing.T, content []byte) string {
	t.Helper()
	status, body := do(t, http.MethodPost, "/uploads", service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(content))})
	if status != http.StatusCreated {
		t.Fatalf("POST /uploads = %d %s", status, body)
	}
	var up service.CreatedUpload
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range up.Upload.Fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "upload")
	fw.Write(content)
	mw.Close()
	resp, err := http.Post(up.Upload.URL, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST to S3 = %d", resp.StatusCode)
	}
	return up.UploadID
}

func waitDone(t *testing.T, id string) service.UploadStatus {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		status, body := do(t, http.MethodGet, "/uploads/"+id, nil)
		var st service.UploadStatus
		if status != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("GET /uploads/%s = %d %s", id, status, body)
		}
		if st.Status.Terminal() {
			if st.Status != ocr.StatusDone {
				t.Fatalf("upload %s ended %s %+v", id, st.Status, st.Error)
			}
			return st
		}
	}
	t.Fatalf("upload %s did not finish within 90 s", id)
	return service.UploadStatus{}
}

// stored reports whether the upload's file is in the bucket.
func stored(t *testing.T, id string) bool {
	t.Helper()
	_, err := stack.S3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(stack.Bucket), Key: aws.String("uploads/" + id)})
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The default deployment deletes each file once its upload is done: the
// result stays, a searchable PDF is 410 original_deleted, and a second
// delivery of the file's event changes nothing.
func TestUploads_FileIsDeletedOnceReadAndThePDFIsGone(t *testing.T) {
	id := upload(t, testdata(t, "hello.png"))
	st := waitDone(t, id)
	if st.Result == nil || !strings.Contains(strings.ToLower(st.Result.Text), "hello") {
		t.Fatalf("result %+v", st.Result)
	}
	// The file goes as the upload is finished, just before or after status
	// says done (status reads the shared result first).
	for deadline := time.Now().Add(10 * time.Second); stored(t, id); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("uploads/%s still stored 10 s after the upload was done", id)
		}
	}
	status, body := do(t, http.MethodGet, "/uploads/"+id+"?format=pdf", nil)
	if status != http.StatusGone || !strings.Contains(string(body), ocr.EORIGINALGONE) || !strings.Contains(string(body), "KeepUploads=true") {
		t.Fatalf("?format=pdf = %d %s, want 410 %s saying how to keep files", status, body, ocr.EORIGINALGONE)
	}
	if status, body := do(t, http.MethodGet, "/uploads/"+id+"?format=txt", nil); status != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "hello") {
		t.Fatalf("?format=txt = %d %s", status, body)
	}

	// S3 delivers at least once: the file's event again, now that it is gone.
	ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Post", S3: events.S3Entity{
		Bucket: events.S3Bucket{Name: stack.Bucket}, Object: events.S3Object{Key: "uploads%2F" + id}}}}}
	payload, _ := json.Marshal(ev)
	res, err := stack.Lambda.Invoke(t.Context(), "ProcessFunction", payload)
	if err != nil || res.Error != nil {
		t.Fatalf("duplicate delivery: %v %v", err, res.Error)
	}
	if st := waitDone(t, id); st.Result == nil {
		t.Fatalf("after the duplicate delivery: %+v", st)
	}
}

// Every function's log names uploads by their keyed hash under the stack's
// id, and never by their ids, the secret that reads a result.
func TestLogs_CarryTheHashOfUploadIDsNeverTheIDs(t *testing.T) {
	id := upload(t, testdata(t, "hello.png"))
	waitDone(t, id)
	do(t, http.MethodGet, "/uploads/"+id+"?format=pdf", nil) // a refusal, logged
	do(t, http.MethodDelete, "/uploads/"+id, nil)            // an erasure, logged
	if err := stack.Lambda.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	key := stack.FunctionEnv("ProcessFunction")[config.EnvLogHashKey]
	if !strings.HasPrefix(key, "arn:aws:cloudformation:") {
		t.Fatalf("%s = %q, want the stack's id", config.EnvLogHashKey, key)
	}
	hash := logid.Hash(key, id)
	var found bool
	for fn, path := range stack.LogPaths() {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(id)) {
			t.Errorf("%s's log carries upload id %s", fn, id)
		}
		found = found || bytes.Contains(b, []byte(hash))
	}
	if !found {
		t.Errorf("no function's log names upload %s by its hash %s", id, hash)
	}
}
