package service_test

import (
	"context"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// fakeDocuments opens every file as the same fake pages: nil for an image
// page the engine reads, a page for one read from a text layer, an error
// for a page that cannot be read.
type fakeDocuments struct {
	pages  []any // image.Image, *ocr.Page or error
	closed int
}

func (f *fakeDocuments) Open(context.Context, []byte, string) (ocr.PageSource, error) { return f, nil }
func (f *fakeDocuments) Pages() int                                                   { return len(f.pages) }
func (f *fakeDocuments) Close() error                                                 { f.closed++; return nil }
func (f *fakeDocuments) Page(_ context.Context, i int) (image.Image, *ocr.Page, error) {
	switch p := f.pages[i].(type) {
	case *ocr.Page:
		cp := *p
		return nil, &cp, nil
	case error:
		return nil, nil, p
	default:
		return image.NewGray(image.Rect(0, 0, 10, 10)), nil, nil
	}
}

func TestRecognize_PagesFromTheSourceInOrderTextLayersWithoutTheEngine(t *testing.T) {
	e := newEnv(t)
	layer := &ocr.Page{Text: "from the text layer", Confidence: 1, Lines: []ocr.Line{{Text: "from the text layer", Words: []ocr.Word{{Text: "from"}}}}}
	docs := &fakeDocuments{pages: []any{nil, layer, nil}}
	e.proc.Documents = docs
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "processed" {
		t.Fatalf("outcome %s", got)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 3 || docs.closed != 1 {
		t.Fatalf("status %s, %d pages, closed %d times", st.Status, len(st.Result.Pages), docs.closed)
	}
	pages := strings.Split(st.Result.Text, "\f")
	if len(pages) != 3 || !strings.HasPrefix(pages[0], "hello world") || pages[1] != "from the text layer" || !strings.HasPrefix(pages[2], "hello world") {
		t.Fatalf("text by page = %q", pages)
	}
	for i, p := range st.Result.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d numbered %d", i+1, p.Number)
		}
	}
	if n := e.engine.runs.Load(); n != 2 {
		t.Fatalf("the engine read %d pages, want the 2 without a text layer", n)
	}
}

func TestRecognize_APageThatCannotBeReadFailsTheUploadWithItsCode(t *testing.T) {
	e := newEnv(t)
	docs := &fakeDocuments{pages: []any{nil, ocr.Errorf(ocr.ETOOMANYPIXELS, "page 2 is too big"), nil}}
	e.proc.Documents = docs
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "failed" {
		t.Fatalf("outcome %s", got)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETOOMANYPIXELS || docs.closed != 1 {
		t.Fatalf("status %s %+v, closed %d", st.Status, st.Error, docs.closed)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("the engine read %d pages; reading should stop at the bad page", n)
	}
}

func TestRecognize_APageStillBeingReadAtTheDeadlineFailsTheUploadAndAbandonsTheEngine(t *testing.T) {
	e := newEnv(t)
	e.engine.gate = make(chan struct{}) // the page never finishes in time
	defer close(e.engine.gate)
	e.proc.PageBudget = 0
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	// 300 ms of reading before the margin kept for recording the failure.
	c, cancel := context.WithTimeout(context.Background(), 2300*time.Millisecond)
	defer cancel()
	outcome, err := e.proc.Process(c, "uploads/"+id)
	if err != nil || outcome != "failed" {
		t.Fatalf("Process = %s %v", outcome, err)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETIMEOUT || !strings.Contains(st.Error.Message, "page 1") {
		t.Fatalf("status %s %+v", st.Status, st.Error)
	}
	if !e.proc.Abandoned() {
		t.Fatal("the processor does not say its engine was left reading a page")
	}
}

func TestRecognize_APageReadInTimeDoesNotAbandonTheEngine(t *testing.T) {
	e := newEnv(t)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if outcome, err := e.proc.Process(c, "uploads/"+id); err != nil || outcome != "processed" || e.proc.Abandoned() {
		t.Fatalf("Process = %s %v, abandoned %v", outcome, err, e.proc.Abandoned())
	}
}
