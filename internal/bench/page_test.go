package bench

import (
	"image"
	"testing"
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
