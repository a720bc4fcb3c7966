package service_test

import (
	"context"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// stepEngine reads a page each time the test lets one through.
type stepEngine struct {
	fakeEngine
	next chan struct{}
}

func (e *stepEngine) Recognize(ctx context.Context, img image.Image, langs []string) (*ocr.Page, error) {
	select {
	case <-e.next:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &ocr.Page{Text: fmt.Sprintf("page %d", img.Bounds().Dx()), Confidence: 0.9}, nil
}

func TestPage_APageCanBeHadOnceReadAndFromTheResultOnceDone(t *testing.T) {
	e := newEnv(t)
	eng := &stepEngine{next: make(chan struct{})}
	pages := &resultstore.Pages{Objects: e.objects, Prefix: "results/"}
	e.proc.Engine, e.proc.Documents, e.proc.PartialPages, e.status.PartialPages = eng, &numberedPages{n: 3}, pages, pages
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 9))
	if _, err := e.status.Page(ctx, id, 1); ocr.ErrorCode(err) != ocr.ENOTREADY {
		t.Fatalf("page 1 of a pending upload = %v, want not_ready", err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.proc.Process(ctx, "uploads/"+id); done <- err }()

	eng.next <- struct{}{} // page 1 is read
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.get(t, id)
		if st.Progress != nil && st.Progress.PagesReady >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page 1 never became ready: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p, err := e.status.Page(ctx, id, 1); err != nil || p.Text != "page 1" || p.Number != 1 {
		t.Fatalf("page 1 while the rest is read = %+v, %v", p, err)
	}
	if _, err := e.status.Page(ctx, id, 2); ocr.ErrorCode(err) != ocr.ENOTREADY {
		t.Fatalf("page 2 before it is read = %v, want not_ready", err)
	}
	if _, err := e.status.Page(ctx, id, 4); ocr.ErrorCode(err) != ocr.ENOTFOUND {
		t.Fatalf("page 4 of 3 = %v, want not_found", err)
	}
	// Another caller cannot have it either.
	other := service.WithCaller(ctx, service.Caller{Sub: "mallory"})
	e2 := e.uploadAs(t, service.WithCaller(ctx, service.Caller{Sub: "owner"}), pngBytes(t, 20, 20, 10))
	if _, err := e.status.Page(other, e2, 1); ocr.ErrorCode(err) != ocr.ENOTFOUND {
		t.Fatalf("another owner's page = %v, want not_found", err)
	}

	eng.next <- struct{}{}
	eng.next <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p, err := e.status.Page(ctx, id, 3); err != nil || p.Text != "page 3" {
		t.Fatalf("page 3 once done = %+v, %v", p, err)
	}
	// The pages kept while reading are gone: the result has them.
	for _, k := range e.objects.Keys() {
		if strings.Contains(k, "/pages/") {
			t.Fatalf("page kept after the result was stored: %s", k)
		}
	}
}
