package tesseract

import (
	"bytes"
	"context"
	"image"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestSpix checks the serialised page against Leptonica's own reading of
// the same page as a PGM, at every width modulo a word and at a few sizes.
func TestSpix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range [][2]int{{1, 1}, {2, 3}, {3, 2}, {4, 4}, {5, 7}, {6, 1}, {7, 9}, {641, 33}} {
		w, h := size[0], size[1]
		pix := make([]byte, w*h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		pgm := append([]byte("P5\n"+strconv.Itoa(w)+" "+strconv.Itoa(h)+"\n255\n"), pix...)
		fromPGM, err := leptonicaGray(pgm, w, h, 8)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fromPGM, pix) {
			t.Fatalf("%dx%d: Leptonica reads the PGM differently: the test itself is wrong", w, h)
		}
		s := spix(packed(pix, w, h))
		fromSpix, err := leptonicaGray(s, w, h, 8)
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		if !bytes.Equal(fromSpix, pix) {
			t.Fatalf("%dx%d: Leptonica reads the serialised page as\n%v, want\n%v", w, h, fromSpix, pix)
		}
	}
}

// TestSpixBilevel checks the 1-bit serialised page against the black and
// white pixels it was made from, as Leptonica reads it, at widths on
// either side of a 32-bit word.
func TestSpixBilevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range [][2]int{{1, 1}, {31, 2}, {32, 3}, {33, 2}, {63, 5}, {64, 1}, {65, 4}, {641, 33}} {
		w, h := size[0], size[1]
		pix := make([]byte, w*h)
		for i := range pix {
			pix[i] = byte(255 * rng.IntN(2))
		}
		if !bilevel(pix) {
			t.Fatalf("%dx%d: black and white pixels not taken as bilevel", w, h)
		}
		got, err := leptonicaGray(spixBilevel(packed(pix, w, h)), w, h, 1)
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		if !bytes.Equal(got, pix) {
			t.Fatalf("%dx%d: Leptonica reads the 1-bit page as\n%v, want\n%v", w, h, got, pix)
		}
	}
	if bilevel([]byte{0, 255, 254, 0}) || bilevel([]byte{1}) {
		t.Fatal("a grey value taken as black and white")
	}
}

// TestRecognize_BilevelPageAtOneBit reads a page of pure black and white,
// which goes to Tesseract at one bit a pixel, and checks that it reads as
// the same pixels handed over at eight bits do; a grey page still goes at
// eight.
func TestRecognize_BilevelPageAtOneBit(t *testing.T) {
	p := newSynthPage(t, 11)
	p.column(synthMargin, synthMargin+60, synthWidth-2*synthMargin, townProse)
	bw := image.NewGray(p.img.Bounds())
	for i, v := range p.img.Pix {
		if v >= 128 {
			bw.Pix[i] = 255
		}
	}
	w, h := bw.Rect.Dx(), bw.Rect.Dy()
	e := newEngine(t)
	got, err := e.Recognize(context.Background(), bw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.oneBit != 1 || e.scaled != 0 {
		t.Fatalf("%d pages handed over at one bit, %d rescaled; want 1 and 0", e.oneBit, e.scaled)
	}
	e.mu.Lock()
	boxes, err := e.recognize(spix(packed(bw.Pix, w, h)), DefaultDPI, DefaultLanguage)
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if want := buildPage(w, h, boxes).Text; got.Text != want || len(strings.Fields(want)) < 50 {
		t.Fatalf("at one bit:\n%s\n\nat eight bits:\n%s", got.Text, want)
	}
	if _, err := e.Recognize(context.Background(), p.img, nil); err != nil {
		t.Fatal(err)
	}
	if e.oneBit != 1 {
		t.Fatal("a grey page was handed over at one bit")
	}
}
