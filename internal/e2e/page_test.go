package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// A finished document's pages one at a time, through the status function's
// own main; the pages kept while it was read are gone with its result.
func TestPage_EachPageOfADoneDocumentAndNoOther(t *testing.T) {
	tif := testdata(t, "pages.tif")
	st := uploadAndWait(t, "pages.tif", "image/tiff", append(append([]byte{}, tif...), 'p'))
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 2 {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	for n := 1; n <= 2; n++ {
		status, b := doJSON(t, "GET", "/uploads/"+st.UploadID+"/pages/"+strconv.Itoa(n), nil)
		var page ocr.Page
		if status != http.StatusOK || json.Unmarshal(b, &page) != nil || page.Number != n || page.Text != st.Result.Pages[n-1].Text {
			t.Fatalf("page %d = %d %s", n, status, b)
		}
	}
	for path, want := range map[string]int{"/pages/3": 404, "/pages/0": 400, "/pages/one": 400, "/pages/1?redact=nonsense": 400, "/pages/3?redact=email": 404} {
		if status, b := doJSON(t, "GET", "/uploads/"+st.UploadID+path, nil); status != want || !strings.Contains(string(b), `"error"`) {
			t.Fatalf("GET %s = %d %s, want %d", path, status, b, want)
		}
	}
	if status, b := doJSON(t, "GET", "/uploads/"+st.UploadID+"/pages/2?redact=email,phone", nil); status != http.StatusOK || !strings.Contains(string(b), `"number":2`) {
		t.Fatalf("redacted page 2 = %d %s", status, b)
	}
	// The pages are deleted right after the result is stored, so status
	// may say done a moment before: wait for the invocation to end.
	if err := stack.Lambda.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	objects, err := stack.S3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &stack.Bucket, Prefix: aws.String("results/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects.Contents {
		if strings.Contains(*o.Key, "/pages/") {
			t.Fatalf("a page kept while reading is still there: %s", *o.Key)
		}
	}
}
