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
	checkRaw := func(path string, accept string, want int, wantType string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", stack.APIURL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != want || !strings.HasPrefix(ct, wantType) {
			t.Fatalf("GET %s (Accept %q) = %d %s %s; want %d %s", path, accept, resp.StatusCode, ct, b, want, wantType)
		}
		if err := spec.ValidateResponse("GET", "/uploads/{uploadId}", resp.StatusCode, ct, b); err != nil {
			t.Error(err)
		}
		return b
	}
	text := checkRaw("/uploads/"+done.UploadID+"?format=txt", "", 200, "text/plain")
	if got := strings.Join(words(string(text)), " "); got != strings.Join(words(string(testdata(t, "hello.txt"))), " ") {
		t.Fatalf("text = %q", text)
	}
	if b := checkRaw("/uploads/"+done.UploadID, "text/plain", 200, "text/plain"); !bytes.Equal(b, text) {
		t.Fatalf("Accept: text/plain gave %q", b)
	}
	if h := checkRaw("/uploads/"+done.UploadID+"?format=hocr", "", 200, "text/html"); !strings.Contains(string(h), "ocrx_word") {
		t.Fatalf("hOCR = %s", h)
	}
	checkRaw("/uploads/"+pending.UploadID+"?format=txt", "", 409, "application/json")
	if b := checkRaw("/uploads/"+done.UploadID+"?format=alto", "", 200, "application/xml"); !strings.Contains(string(b), "<String ") {
		t.Fatalf("ALTO = %s", b)
	}
	if b := checkRaw("/uploads/"+done.UploadID+"?format=pdf", "", 200, "application/pdf"); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("PDF = %.20q", b)
	}
	checkRaw("/uploads/"+done.UploadID+"?format=docx", "", 400, "application/json")
	checkRaw("/uploads/"+done.UploadID+"?redact=ssn", "", 400, "application/json")

	failed := createUpload(t, service.CreateUploadRequest{Filename: "x.png", ContentType: "image/png", Size: int64(len(jpg))})
	mustPost(t, failed, jpg)
	waitTerminal(t, failed.UploadID)
	check("GET", "/uploads/{uploadId}", "/uploads/"+failed.UploadID, nil, 200)
	if b := checkRaw("/uploads/"+failed.UploadID+"?format=txt", "", 422, "application/json"); !strings.Contains(string(b), "type_mismatch") {
		t.Fatalf("text of a failed upload = %s", b)
	}

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
