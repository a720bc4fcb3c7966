package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3ocr/s3ocr/api/apitest"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// uniquePNG is testdata/hello.png with one corner pixel set from the clock:
// it reads the same, but its result is shared with no other test's uploads.
func uniquePNG(t *testing.T) []byte {
	t.Helper()
	src, err := png.Decode(bytes.NewReader(testdata(t, "hello.png")))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	n := time.Now().UnixNano()
	img.Pix[0], img.Pix[1], img.Pix[2] = byte(n), byte(n>>8), byte(n>>16)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// erase sends DELETE /uploads/{id} and returns the status and body, checked
// against the API description.
func erase(t *testing.T, id string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, stack.APIURL+"/uploads/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusNoContent {
		if len(b) != 0 {
			t.Errorf("DELETE /uploads/%s = 204 with a body: %q", id, b)
		}
	} else if err := spec.Validate("DELETE", "/uploads/{uploadId}", resp.StatusCode, b); err != nil {
		t.Error(err)
	}
	return resp.StatusCode, b
}

func mustErase(t *testing.T, id string) {
	t.Helper()
	if status, body := erase(t, id); status != http.StatusNoContent {
		t.Fatalf("DELETE /uploads/%s = %d %s, want 204", id, status, body)
	}
}

// assertErased checks what a client and the bucket see of an erased upload:
// 404 to reading and to erasing again, and no uploaded file.
func assertErased(t *testing.T, id string) {
	t.Helper()
	if status, _, body := getStatus(t, id); status != http.StatusNotFound {
		t.Fatalf("GET after DELETE = %d %s, want 404", status, body)
	}
	status, body := erase(t, id)
	var e struct{ Error ocr.Error }
	json.Unmarshal(body, &e)
	if status != http.StatusNotFound || e.Error.Code != ocr.ENOTFOUND {
		t.Fatalf("DELETE again = %d %s, want 404 %s", status, body, ocr.ENOTFOUND)
	}
	key := "uploads/" + id
	_, err := stack.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &stack.Bucket, Key: &key})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HEAD %s after DELETE = %v, want NotFound", key, err)
	}
}

// resultRecord reads the shared result of a done upload from the table;
// nil when there is none.
func resultRecord(t *testing.T, st service.UploadStatus) *ocr.ResultRecord {
	t.Helper()
	key := ocr.Options{Languages: st.Languages}.ResultKey(st.Document.SHA256, st.Result.Engine.Version)
	rec, err := dynamostore.New(stack.Dynamo, stack.Table, time.Now).Result(context.Background(), key)
	if ocr.NotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// eraseDone erases a done upload and checks that its shared result is
// still there when kept, and gone otherwise.
func eraseDone(t *testing.T, st service.UploadStatus, kept bool) {
	t.Helper()
	if resultRecord(t, st) == nil {
		t.Fatal("no result record for the done upload")
	}
	mustErase(t, st.UploadID)
	assertErased(t, st.UploadID)
	if rec := resultRecord(t, st); (rec != nil) != kept {
		t.Fatalf("after erasing %s the shared result is %+v; want it kept: %v", st.UploadID, rec, kept)
	}
}

func TestErase_UploadIsGoneWithItsFileAndItsResult(t *testing.T) {
	st := uploadAndWait(t, "hello.png", "image/png", uniquePNG(t))
	if st.Status != ocr.StatusDone {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	eraseDone(t, st, false)
}

func TestErase_SharedResultSurvivesForTheOtherUpload(t *testing.T) {
	img := uniquePNG(t)
	first := uploadAndWait(t, "a.png", "image/png", img)
	second := uploadAndWait(t, "b.png", "image/png", img)
	if first.Status != ocr.StatusDone || second.Status != ocr.StatusDone || !second.Cached {
		t.Fatalf("uploads = %s, %s (cached %v)", first.Status, second.Status, second.Cached)
	}
	eraseDone(t, first, true)
	st := waitTerminal(t, second.UploadID)
	if st.Status != ocr.StatusDone || st.Result == nil || st.Result.Text != first.Result.Text {
		t.Fatalf("the other upload after the first was erased = %s %+v", st.Status, st.Error)
	}
	eraseDone(t, second, false)
}

func TestErase_PendingAndFailedUploads(t *testing.T) {
	pending := createUpload(t, service.CreateUploadRequest{Filename: "p.png", ContentType: "image/png", Size: 10})
	mustErase(t, pending.UploadID)
	assertErased(t, pending.UploadID)

	jpg := testdata(t, "hello.jpg")
	failed := uploadAndWait(t, "x.png", "image/png", jpg)
	if failed.Status != ocr.StatusFailed {
		t.Fatalf("a JPEG declared PNG = %s", failed.Status)
	}
	mustErase(t, failed.UploadID)
	assertErased(t, failed.UploadID)
}

func TestErase_MalformedAndUnknownIDs(t *testing.T) {
	unknown, _ := service.NewUploadID()
	for _, tc := range []struct {
		id     string
		status int
		code   string
	}{
		{unknown, http.StatusNotFound, ocr.ENOTFOUND},
		{"not-an-id", http.StatusBadRequest, ocr.EBADID},
	} {
		status, body := erase(t, tc.id)
		var e struct{ Error ocr.Error }
		if err := json.Unmarshal(body, &e); err != nil || status != tc.status || e.Error.Code != tc.code {
			t.Errorf("DELETE /uploads/%s = %d %s, want %d %s", tc.id, status, body, tc.status, tc.code)
		}
	}
}

// A browser on an allowed origin may send DELETE: the preflight lists it.
func TestErase_PreflightAllowsDELETE(t *testing.T) {
	req, _ := http.NewRequest(http.MethodOptions, stack.APIURL+"/uploads/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", nil)
	req.Header.Set("Origin", stack.APIURL)
	req.Header.Set("Access-Control-Request-Method", http.MethodDelete)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	methods := strings.Split(resp.Header.Get("Access-Control-Allow-Methods"), ",")
	if resp.StatusCode/100 != 2 || !slices.Contains(methods, http.MethodDelete) {
		t.Fatalf("preflight for DELETE = %d, Access-Control-Allow-Methods %v", resp.StatusCode, methods)
	}
}
