package bench

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/testpdf"
)

func page(tb testing.TB) *image.Gray {
	tb.Helper()
	img, err := A4Page()
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func warmUpPage(img *image.Gray) *image.Gray { return WarmUpPage(img) }

func variant(tb testing.TB, img *image.Gray, n int) []byte {
	tb.Helper()
	b, err := VariantPNG(img, n)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// scannedPDF returns a PDF of n pages, each the page as a 300 dpi greyscale
// picture with no text layer, as a scanner writes it: every page is its own
// image object, so the reader renders and reads each one.
func scannedPDF(img *image.Gray, n int) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(img.Pix)
	zw.Close()
	pw, ph := float64(w)*72/pageDPI, float64(h)*72/pageDPI
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var kids []string
	for range n {
		first := len(objs) + 1 // page, contents, image
		kids = append(kids, fmt.Sprintf("%d 0 R", first))
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, first+2, first+1),
			testpdf.Stream("", fmt.Appendf(nil, "q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q", pw, ph)),
			testpdf.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), z.Bytes()),
		)
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	return testpdf.Objects(objs...)
}
