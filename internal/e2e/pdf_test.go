package e2e

import (
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

func uploadAndWait(t *testing.T, name, contentType string, content []byte) service.UploadStatus {
	t.Helper()
	up := createUpload(t, service.CreateUploadRequest{Filename: name, ContentType: contentType, Size: int64(len(content))})
	mustPost(t, up, content)
	return waitTerminal(t, up.UploadID)
}

func TestPDF_TextLayerIsReadWithoutOCR(t *testing.T) {
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
