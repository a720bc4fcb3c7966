package tesseract

import (
	"math"
	"slices"

	"github.com/otiai10/gosseract/v2"
)

// charHeight measures how tall a page's characters are, in page pixels,
// from the connected components of the binarised page that are shaped like
// characters. For prose that is about the x-height (most lower-case letters
// have neither ascender nor descender); for upper-case text, as on receipts,
// the cap height. It returns 0 when the page has fewer than minChars such
// components (blank, a photo, a few words): such a page is read as it is.
//
// The height is the median weighted by height, which is the middle of the
// text's ink from top to bottom rather than the middle of a count: dots,
// colons, dot leaders and speckle outnumber letters on some receipts of the
// corpus (on receipt_sroie_087.jpg enlarged 2×, 500 specks of 7–10 px
// against 400 letters of 54–72 px), and a plain median then measured them.
//
// pix is a w×h 8-bit grey page. The measurement runs on a block-averaged
// copy of at most about measurePixels pixels, so that it costs a few
// milliseconds whatever the page's size; heights are then known to within a
// block, which is fine for text that is tall enough to matter.
func charHeight(pix []byte, w, h int) float64 { return sampleOf(packed(pix, w, h)).charHeight() }

// sample is a page block-averaged to at most about measurePixels pixels, in
// blocks of step×step: what charHeight and clearFrame measure.
type sample struct {
	pix        []byte
	w, h, step int
}

// sampleOf is the sample of a grey page; the page itself (its rows packed)
// when it is small enough.
func sampleOf(g grey) sample {
	step := max(1, int(math.Round(math.Sqrt(float64(g.w)*float64(g.h)/measurePixels))))
	small, sw, sh := shrinkBlocks(g, step)
	return sample{small, sw, sh, step}
}

// charHeight is charHeight of the page sampled.
func (s sample) charHeight() float64 {
	small, sw, sh, step := s.pix, s.w, s.h, s.step
	fg := foreground(small, sw, sh)
	comps := components(small, sw, sh, fg)
	// In page pixels: a speck under minCharPx is noise (JPEG ringing,
	// paper grain), not a character; anything taller than an eighth of
	// the page is a picture, a frame or a rule.
	minH, maxH := max(2, (minCharPx+step-1)/step), sh/8
	var hs []int
	total := 0
	for _, c := range comps {
		cw, ch := c.x1-c.x0, c.y1-c.y0
		switch {
		case ch < minH || ch > maxH:
		case cw > 4*ch: // a rule, an underline or a run of touching letters
		case c.area*10 < cw*ch: // a frame or table outline: mostly hollow
		default:
			hs = append(hs, ch)
			total += ch
		}
	}
	if len(hs) < minChars {
		return 0
	}
	slices.Sort(hs)
	sum := 0
	for _, v := range hs {
		if sum += v; 2*sum >= total {
			return float64(v * step)
		}
	}
	return float64(hs[len(hs)-1] * step)
}

const (
	// measurePixels is the size of the copy charHeight measures: an A4
	// page at 300 dpi (8.7 MP) is measured at half size, a 600-dpi
	// receipt (35 MP) at a quarter.
	measurePixels = 2_000_000
	// minCharPx is the smallest character height, in page pixels, that is
	// counted; Tesseract reads nothing smaller.
	minCharPx = 5
	// minChars is how many characters a page needs for its height to be
	// trusted.
	minChars = 20
)

// shrinkBlocks averages pix over step×step blocks (the last partial row and
// column of blocks are dropped). Each row of blocks sums its rows' pixels
// by column first, a loop over bytes the compiler keeps tight, and then
// each block's columns.
func shrinkBlocks(g grey, step int) ([]byte, int, int) {
	if step == 1 {
		if g.stride != g.w {
			g = g.packedCopy()
		}
		return g.pix[:g.w*g.h], g.w, g.h
	}
	sw, sh := g.w/step, g.h/step
	out := make([]byte, sw*sh)
	cols := make([]uint32, sw*step)
	n := uint32(step * step)
	for sy := 0; sy < sh; sy++ {
		clear(cols)
		for y := sy * step; y < (sy+1)*step; y++ {
			row := g.pix[y*g.stride : y*g.stride+len(cols)]
			c := cols[:len(row)] // the same length: no bounds checks
			for x, v := range row {
				c[x] += uint32(v)
			}
		}
		dst := out[sy*sw : (sy+1)*sw]
		for sx := range dst {
			var s uint32
			for _, c := range cols[sx*step : (sx+1)*step] {
				s += c
			}
			dst[sx] = byte((s + n/2) / n)
		}
	}
	return out, sw, sh
}

// foreground returns the predicate that tells text pixels from background:
// Otsu's threshold over the page's histogram, with the text on the side that
// has fewer pixels (dark on light, or light on dark). The histogram leaves
// out a margin of a twentieth of each side, where scans have the scanner's
// dark edge: with it, the threshold of a faint receipt of the corpus
// (receipts_3p.tif, page 2) fell between the edge and the paper, below the
// grey of its print, and no character was found.
func foreground(pix []byte, w, h int) func(byte) bool {
	var hist [256]int
	mx, my := w/20, h/20
	for y := my; y < h-my; y++ {
		for _, v := range pix[y*w+mx : y*w+w-mx] {
			hist[v]++
		}
	}
	total := float64((w - 2*mx) * (h - 2*my))
	t := otsu(&hist)
	dark := 0
	for _, n := range hist[:t+1] {
		dark += n
	}
	tb := byte(t)
	if float64(dark) <= total/2 {
		return func(v byte) bool { return v <= tb }
	}
	return func(v byte) bool { return v > tb }
}

// otsu is Otsu's threshold of a grey histogram, the level that best splits
// it in two classes (the most variance between them): values at or below it
// are the dark class. It is 0 for a histogram of one value.
func otsu(hist *[256]int) int {
	var total, sumAll float64
	for v, n := range hist {
		total += float64(n)
		sumAll += float64(v * n)
	}
	var best float64
	t, wb, sumB := 0, 0.0, 0.0
	for v, n := range hist[:255] {
		wb += float64(n)
		sumB += float64(v * n)
		wf := total - wb
		if wb == 0 || wf == 0 {
			continue
		}
		mb, mf := sumB/wb, (sumAll-sumB)/wf
		if between := wb * wf * (mb - mf) * (mb - mf); between > best {
			best, t = between, v
		}
	}
	return t
}

// component is a connected set of foreground pixels: its bounding box (max
// exclusive) and how many pixels it has.
type component struct {
	x0, y0, x1, y1 int
	area           int
}

// components labels the 8-connected foreground regions of a w×h page by
// runs: each row's runs join the runs of the row above that touch them,
// through a union-find over run labels.
func components(pix []byte, w, h int, fg func(byte) bool) []component {
	type run struct{ x0, x1, label int } // x1 exclusive
	var (
		parent    []int
		boxes     []component
		prev, cur []run
	)
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for y := 0; y < h; y++ {
		row := pix[y*w : (y+1)*w]
		cur = cur[:0]
		j := 0 // first run of prev that may touch
		for x := 0; x < w; {
			if !fg(row[x]) {
				x++
				continue
			}
			x0 := x
			for x < w && fg(row[x]) {
				x++
			}
			label := -1
			for j < len(prev) && prev[j].x1 < x0 { // ends left of this run's diagonal neighbour
				j++
			}
			for k := j; k < len(prev) && prev[k].x0 <= x; k++ {
				r := find(prev[k].label)
				if label < 0 {
					label = r
					continue
				}
				if r != label {
					parent[r] = label
					b, a := &boxes[label], boxes[r]
					b.x0, b.y0, b.x1, b.y1 = min(b.x0, a.x0), min(b.y0, a.y0), max(b.x1, a.x1), max(b.y1, a.y1)
					b.area += a.area
				}
			}
			if label < 0 {
				label = len(parent)
				parent = append(parent, label)
				boxes = append(boxes, component{x0, y, x, y + 1, 0})
			}
			b := &boxes[label]
			b.x0, b.x1, b.y1 = min(b.x0, x0), max(b.x1, x), y+1
			b.area += x - x0
			cur = append(cur, run{x0, x, label})
		}
		prev, cur = cur, prev
	}
	var out []component
	for i, p := range parent {
		if p == i {
			out = append(out, boxes[i])
		}
	}
	return out
}

// resizeGray resamples a w×h grey page to nw×nh: each new pixel is the mean
// of the old pixels it covers when shrinking (area averaging, which keeps
// thin strokes as grey instead of dropping them), bilinear when enlarging.
// It works a row at a time, holding two rows of floats besides the output.
// Source rows start stride bytes apart.
func resizeGray(pix []byte, w, h, stride, nw, nh int, out []byte) {
	cx, cy := weights(w, nw), weights(h, nh)
	acc := make([]float32, nw)
	row := make([]float32, nw)
	last := -1 // the source row held in row
	for y, c := range cy {
		clear(acc)
		for k, wy := range c.w {
			sy := c.start + k
			if sy != last {
				src := pix[sy*stride : sy*stride+w]
				for x, cx := range cx {
					var s float32
					for i, wx := range cx.w {
						s += wx * float32(src[cx.start+i])
					}
					row[x] = s
				}
				last = sy
			}
			for x, v := range row {
				acc[x] += wy * v
			}
		}
		dst := out[y*nw : (y+1)*nw]
		for x, v := range acc {
			dst[x] = byte(min(255, max(0, v+0.5)))
		}
	}
}

// contrib is the source pixels one resampled pixel is made of: weights for
// the pixels from start on, summing to 1.
type contrib struct {
	start int
	w     []float32
}

// weights maps n source pixels onto m along one axis.
func weights(n, m int) []contrib {
	out := make([]contrib, m)
	scale := float64(n) / float64(m)
	for i := range out {
		if m <= n { // shrinking: the overlap of [i, i+1)·scale with each pixel
			lo, hi := float64(i)*scale, float64(i+1)*scale
			first, last := int(lo), min(n-1, int(math.Ceil(hi))-1)
			c := contrib{start: first, w: make([]float32, last-first+1)}
			for j := first; j <= last; j++ {
				c.w[j-first] = float32((min(hi, float64(j+1)) - max(lo, float64(j))) / scale)
			}
			out[i] = c
			continue
		}
		// Enlarging: between the two nearest pixel centres.
		x := (float64(i)+0.5)*scale - 0.5
		j := int(math.Floor(x))
		f := float32(x - float64(j))
		switch {
		case j < 0:
			out[i] = contrib{0, []float32{1}}
		case j >= n-1:
			out[i] = contrib{n - 1, []float32{1}}
		default:
			out[i] = contrib{j, []float32{1 - f, f}}
		}
	}
	return out
}

// heightRange says at which character heights (as charHeight measures them,
// in pixels) a page is read. A page whose characters are taller than hi is
// shrunk so that they are down pixels tall; one whose characters are
// shorter than lo is enlarged so that they are up pixels tall, by at most
// maxUp and to at most maxUpPixels. Between lo and hi a page is read as it
// is: resampling it changes little but costs time, and moves the errors
// around (a page of the corpus read at heights 2 px apart can differ by
// 0.1 CER). The zero value reads every page as it is.
type heightRange struct {
	lo, hi   float64
	up, down float64
	maxUp    float64
}

// readableHeights is the band Tesseract's LSTM (tessdata_fast eng, deu,
// fra) reads well, measured on the corpus as it is and resampled to ½ and
// 2×, as scans at 150 and 600 dpi (TestCorpus_HeightSweep, then
// TestCorpus_TextHeightScaling with S3OCR_ZOOM):
//
//   - Tall text reads worse from about 44 px: the Kant page at 2× (48 px)
//     has 0.65 CER as it is and 0.15 shrunk to 32 px; segmodeimg at 2× (70
//     px) 0.12 and 0. Pages at 30–40 px (receipt 087, segmodeimg, the
//     UNLV page at 2×) read as well as they do smaller, so they are left
//     alone. Shrinking also saves Tesseract's work per pixel: the 600-dpi
//     receipt 538 (60 px) reads at 32 px in 0.48 of the time, with CER
//     0.055 against 0.066.
//   - Small text reads far worse under 10 px: at half size, receipt 034 (6
//     px) has 0.95 CER as it is and 0.50 enlarged to 18 px (3×); the bank
//     statement 0.93 and 0.15; the French invoice (8 px) 0.18 and 0.11. At
//     10–16 px, enlarging helped some pages and hurt others (flipkart's
//     150-dpi render, 10 px: 0.037 as it is, 0.040–0.10 enlarged to 16–28
//     px; receipt 034, 12 px: 0.22, and 0.17 at 20), so they are left
//     alone.
var readableHeights = heightRange{lo: 10, hi: 40, up: 20, down: 32, maxUp: 3}

// maxUpPixels bounds an enlarged page (an A4 page at about 400 dpi), so
// that a large page of small print does not become one of hundreds of
// megapixels: Tesseract's memory and time grow with the pixels.
const maxUpPixels = 16_000_000

// scale returns the factor a w×h page whose characters are h pixels tall
// is read at; 1 when h is 0 (not measured) or in the band.
func (r heightRange) scale(h float64, w, ht int) float64 {
	switch {
	case h <= 0:
		return 1
	case r.hi > 0 && h > r.hi:
		return r.down / h
	case h < r.lo:
		f := min(r.up/h, r.maxUp, math.Sqrt(maxUpPixels/(float64(w)*float64(ht))))
		return max(1, f)
	}
	return 1
}

// Tesseract takes a resolution between 70 and 2400 dpi; outside it, it
// ignores user_defined_dpi and estimates one.
const (
	minDPI = 70
	maxDPI = 2400
)

// resize is the page resampled by scale, in memory of its own. Each side
// is rounded and kept between 1 and maxSide pixels.
func resize(g grey, scale float64) grey {
	nw := min(maxSide, max(1, int(math.Round(float64(g.w)*scale))))
	nh := min(maxSide, max(1, int(math.Round(float64(g.h)*scale))))
	out := make([]byte, nw*nh)
	resizeGray(g.pix, g.w, g.h, g.stride, nw, nh, out)
	return packed(out, nw, nh)
}

// unscaleBoxes maps boxes read on a page scaled by scale back onto the
// w×h original: outwards, so that a box still covers all of its word.
func unscaleBoxes(boxes []gosseract.BoundingBox, scale float64, w, h int) {
	for i := range boxes {
		r := &boxes[i].Box
		r.Min.X = max(0, int(math.Floor(float64(r.Min.X)/scale)))
		r.Min.Y = max(0, int(math.Floor(float64(r.Min.Y)/scale)))
		r.Max.X = min(w, int(math.Ceil(float64(r.Max.X)/scale)))
		r.Max.Y = min(h, int(math.Ceil(float64(r.Max.Y)/scale)))
	}
}
