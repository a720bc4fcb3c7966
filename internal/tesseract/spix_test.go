package tesseract

import (
	"bytes"
	"math/rand/v2"
	"strconv"
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
		fromPGM, err := leptonicaGray(pgm, w, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fromPGM, pix) {
			t.Fatalf("%dx%d: Leptonica reads the PGM differently: the test itself is wrong", w, h)
		}
		s := spix(pix, w, h)
		fromSpix, err := leptonicaGray(s, w, h)
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		if !bytes.Equal(fromSpix, pix) {
			t.Fatalf("%dx%d: Leptonica reads the serialised page as\n%v, want\n%v", w, h, fromSpix, pix)
		}
	}
}
