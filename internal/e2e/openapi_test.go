package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/api"
	"github.com/s3ocr/s3ocr/api/apitest"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// TestOpenAPI_RealResponsesMatchTheSpec drives every route through the real
// stack, in every state and error it can answer with, and validates each
// body against api/openapi.yaml.
func TestOpenAPI_RealResponsesMatchTheSpec(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	check := func(method, route, path string, body any, want int) []byte {
		t.Helper()
		status, b := doJSON(t, method, path, body)
		if status != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
		}
		if err := spec.Validate(method, route, status, b); err != nil {
			t.Error(err)
		}
		return b
	}
	img, jpg := testdata(t, "hello.png"), testdata(t, "hello.jpg")
	check("POST", "/uploads", "/uploads", service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: int64(len(img))}, 201)
	check("POST", "/uploads", "/uploads", `{"filename":`, 400)
	check("POST", "/uploads", "/uploads", service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 1 << 30}, 413)
	check("POST", "/uploads", "/uploads", service.CreateUploadRequest{Filename: "a.txt", ContentType: "text/plain", Size: 5}, 415)

	pending := createUpload(t, service.CreateUploadRequest{Filename: "p.png", ContentType: "image/png", Size: 10})
	check("GET", "/uploads/{uploadId}", "/uploads/"+pending.UploadID, nil, 200)

	done := createUpload(t, service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(img))})
	mustPost(t, done, img)
	if st := waitTerminal(t, done.UploadID); st.Status != ocr.StatusDone || len(st.Result.Pages[0].Lines[0].Words) == 0 {
		t.Fatalf("done upload = %+v", st)
	}
	check("GET", "/uploads/{uploadId}", "/uploads/"+done.UploadID, nil, 200)

	failed := createUpload(t, service.CreateUploadRequest{Filename: "x.png", ContentType: "image/png", Size: int64(len(jpg))})
	mustPost(t, failed, jpg)
	waitTerminal(t, failed.UploadID)
	check("GET", "/uploads/{uploadId}", "/uploads/"+failed.UploadID, nil, 200)

	unknown, _ := service.NewUploadID()
	check("GET", "/uploads/{uploadId}", "/uploads/"+unknown, nil, 404)
	check("GET", "/uploads/{uploadId}", "/uploads/nope", nil, 400)
	check("GET", "/info", "/info", nil, 200)

	// The stack serves the same description the responses were checked with.
	resp, err := http.Get(stack.APIURL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, api.OpenAPI) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml = %d, %d bytes", resp.StatusCode, len(served))
	}
}
