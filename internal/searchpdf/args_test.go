package searchpdf

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

func TestQPDFArgs(t *testing.T) {
	for _, tc := range []struct {
		fates []pageFate
		want  string
	}{
		{[]pageFate{keep, keep}, "--warning-exit-0 d.pdf o.pdf"},
		{[]pageFate{underlay, keep, underlay}, "--warning-exit-0 d.pdf --underlay l.pdf --to=1,3 --from=1,2 -- o.pdf"},
		{[]pageFate{keep, replace, keep, keep}, "--warning-exit-0 d.pdf --pages . 1 l.pdf 1 . 3-4 -- o.pdf"},
		{[]pageFate{replace, underlay, underlay, replace, keep},
			"--warning-exit-0 d.pdf --pages l.pdf 1 . 2-3 l.pdf 4 . 5 -- --underlay l.pdf --to=2,3 --from=2,3 -- o.pdf"},
	} {
		if got := strings.Join(qpdfArgs(tc.fates, "d.pdf", "l.pdf", "o.pdf"), " "); got != tc.want {
			t.Errorf("qpdfArgs(%v) = %q, want %q", tc.fates, got, tc.want)
		}
	}
}

func TestWrite_RefusesAResultOfOtherPages(t *testing.T) {
	for _, file := range []string{"hello.png", "scan.pdf"} {
		data := testdata(t, file)
		r := &ocr.Result{Pages: []ocr.Page{{Number: 1}, {Number: 2}}}
		if err := Write(context.Background(), io.Discard, data, imaging.Sniff(data), r, Options{}); err == nil || !strings.Contains(err.Error(), "pages") {
			t.Errorf("%s with a 2-page result: %v, want an error about pages", file, err)
		}
	}
}

func TestWrite_RefusesTypesItCannotEmbed(t *testing.T) {
	r := &ocr.Result{Pages: []ocr.Page{{Number: 1}}}
	err := Write(context.Background(), io.Discard, []byte("hello"), "text/plain", r, Options{})
	if ocr.ErrorCode(err) != ocr.EUNSUPPORTED {
		t.Errorf("got %v, want %s", err, ocr.EUNSUPPORTED)
	}
}

func TestJPEGOrientation_IgnoresWhatItCannotRead(t *testing.T) {
	for _, data := range [][]byte{
		nil,
		{0xFF, 0xD8},
		{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40}, // a segment longer than the file
		slices.Concat([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, []byte("Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff")), // directory past the end
	} {
		if o := imaging.Orientation(data); o != 1 {
			t.Errorf("imaging.Orientation(% x) = %d, want 1", data, o)
		}
	}
}
