package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

func uploadAndWait(t *testing.T, name, contentType string, content []byte) service.UploadStatus {
	t.Helper()
	up := createUpload(t, service.CreateUploadRequest{Filename: name, ContentType: contentType, Size: int64(len(content))})
	mustPost(t, up, content)
	st := waitTerminal(t, up.UploadID)
	settle(t)
	return st
}

func TestPDF_TextLayerIsReadWithoutOCR(t *testing.T) {
	settle(t)
	before := stack.EnginePages()
	st := uploadAndWait(t, "text.pdf", "application/pdf", testdata(t, "text.pdf"))
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 2 || st.Document.ContentType != "application/pdf" {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	if n := stack.EnginePages() - before; n != 0 {
		t.Fatalf("the engine read %d pages of a PDF with a text layer", n)
	}
	pages := strings.Split(st.Result.Text, "\f")
	if strings.Join(words(pages[1]), " ") != strings.Join(words(string(testdata(t, "invoice.txt"))), " ") {
		t.Fatalf("page 2 = %q", pages[1])
	}
	if p := st.Result.Pages[0]; p.Width != 2550 || p.Height != 3300 || p.Confidence != 1 || len(p.Lines[0].Words) == 0 {
		t.Fatalf("page 1 = %dx%d conf %v", p.Width, p.Height, p.Confidence)
	}
	if len(st.Result.Entities) < 4 {
		t.Fatalf("entities = %+v", st.Result.Entities)
	}
}

func TestPDF_ScannedPageIsRenderedAndRead(t *testing.T) {
	settle(t)
	before := stack.EnginePages()
	st := uploadAndWait(t, "scan.pdf", "application/pdf", testdata(t, "scan.pdf"))
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 1 {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	if n := stack.EnginePages() - before; n != 1 {
		t.Fatalf("the engine read %d pages of a one-page scan", n)
	}
	if got := strings.Join(words(st.Result.Text), " "); got != strings.Join(words(string(testdata(t, "hello.txt"))), " ") {
		t.Fatalf("text = %q", st.Result.Text)
	}
}

func TestPDF_CorruptFailsWithCode(t *testing.T) {
	text := testdata(t, "text.pdf")
	st := uploadAndWait(t, "broken.pdf", "application/pdf", text[:len(text)/3])
	if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.EBADPDF {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
}

// TestPDF_ResultOverTheItemLimitIsStoredInS3 reads a document whose text
// alone is over DynamoDB's 400 KB item limit: with 100 pages it is read in
// ranges, its pages go to the bucket under results/ ten to an object, and
// status returns it whole, the same way. (A result of one invocation over
// the limit goes to one object: internal/service's
// TestProcess_LargeResultIsStoredAsObject.)
func TestPDF_ResultOverTheItemLimitIsStoredInS3(t *testing.T) {
	var pages [][]string
	sentence := "The quick brown fox jumps over the lazy dog while the committee reviews invoice 4411 again."
	for p := range 100 {
		var lines []string
		for l := range 45 {
			lines = append(lines, fmt.Sprintf("%02d.%02d %s", p+1, l+1, sentence))
		}
		pages = append(pages, lines)
	}
	doc := testpdf.Text(pages...)
	st := uploadAndWait(t, "long.pdf", "application/pdf", doc)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 100 {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	if n := len(st.Result.Text); n < 400*1024 {
		t.Fatalf("text is %d bytes; the test needs more than 400 KB", n)
	}
	if !strings.HasPrefix(st.Result.Text, "01.01 The quick") || !strings.Contains(st.Result.Text, "100.45 The quick") {
		t.Fatalf("text is not all there: %q … %q", st.Result.Text[:40], st.Result.Text[len(st.Result.Text)-40:])
	}
	out, err := stack.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &stack.Bucket, Prefix: aws.String("results/" + st.Document.SHA256)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 10 {
		t.Fatalf("%d result objects for this document under results/, want 10 (100 pages, 10 a chunk)", len(out.Contents))
	}
	for _, o := range out.Contents {
		if !strings.Contains(aws.ToString(o.Key), "/chunks/") {
			t.Fatalf("result object %s is not a chunk of pages", aws.ToString(o.Key))
		}
	}
}
