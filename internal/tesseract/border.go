package tesseract

// Tesseract binarises a grey page with one threshold for the whole page,
// Otsu's, before it looks for text. A scan or photo that shows the
// scanner's lid or the table around the paper has a dark frame at its
// edges, and when the print is faint (thermal receipts, dot-matrix) that
// frame takes the threshold: the best split of the page is then frame
// against everything else, the print falls on the paper's side, and
// Tesseract finds an empty page. The corpus's 3-page receipt scan has such a
// page: 23,000 near-black pixels down its right and bottom edges, print in
// greys of 90–200 on paper of 240, and both the CLI and the engine read no
// word of it. Without its frame the same page reads in full.
//
// clearFrame finds that case and only that case: the dark pixels connected
// to the page's edge (the frame) move the threshold so far from where the
// rest of the page puts it that most of the print would be lost. It then
// paints the frame in the paper's grey, and Tesseract's threshold falls
// between print and paper. A dark edge around black print (a page
// photographed on a dark table: the print stays dark at either threshold)
// is left alone, as is a page whose edge-connected dark region is most of
// it (white print on black): there the dark is the page.

const (
	// lostPrint: the frame is cleared when fewer than one in lostPrint
	// of the page's dark pixels (at the threshold the page has without
	// its frame) stay dark at the frame's threshold. On the corpus's
	// faint receipt page one in 37 did (3,445 of 126,053); on the book
	// page, black print photographed with dark surroundings and the
	// book's edge, one in 2 (the frame's threshold keeps that print), and clearing its frame would have made
	// it read worse (CER 0.14 to 0.20).
	lostPrint = 4
	// frameGrow is how far beyond the frame's dark pixels, in page
	// pixels, it is painted: the grey ramp from the frame to the paper
	// (and JPEG's ringing along it) would otherwise be left as a dark line
	// along the paper's edge.
	frameGrow = 3
)

// clearFrame returns the grey page with its frame painted out, and true;
// or g itself and false when it has none that matters. s is the page's
// sample: a frame is large, and found on it in a few milliseconds on any
// page. g is painted where it is when own says the caller owns it, else on
// a copy: it may be the decoded image's own pixels.
func clearFrame(g grey, s sample, own bool) (grey, bool) {
	small, sw, sh, step := s.pix, s.w, s.h, s.step
	if sw < 3 || sh < 3 {
		return g, false
	}
	var hist [256]int
	for _, v := range small {
		hist[v]++
	}
	t1 := otsu(&hist)
	frame, frameHist, n := edgeConnected(small, sw, sh, byte(t1))
	if n == 0 || 2*n >= len(small) {
		return g, false
	}
	rest := hist
	for v, c := range frameHist {
		rest[v] -= c
	}
	t2 := otsu(&rest)
	// The print that Tesseract would keep: the rest of the page's dark
	// class at the frame's threshold, against at its own.
	kept, dark := 0, 0
	for v := 0; v <= t2; v++ {
		if v <= t1 {
			kept += rest[v]
		}
		dark += rest[v]
	}
	if kept*lostPrint >= dark {
		return g, false
	}
	// The paper's grey: the mean of the light class without the frame.
	var sum, cnt int
	for v := t2 + 1; v < 256; v++ {
		sum, cnt = sum+v*rest[v], cnt+rest[v]
	}
	if cnt == 0 {
		return g, false
	}
	paper := byte(sum / cnt)
	w, h := g.w, g.h
	if !own {
		g = g.packedCopy()
	}
	// Each run of frame blocks along a row of blocks is painted as one
	// rectangle, grown by frameGrow on every side. shrinkBlocks drops the
	// last partial blocks, so a run in the last row or column of blocks
	// reaches the page's edge.
	for by := range sh {
		y0, y1 := max(0, by*step-frameGrow), min(h, (by+1)*step+frameGrow)
		if by == sh-1 {
			y1 = h
		}
		row := frame[by*sw : (by+1)*sw]
		for bx := 0; bx < sw; {
			if !row[bx] {
				bx++
				continue
			}
			start := bx
			for bx < sw && row[bx] {
				bx++
			}
			x0, x1 := max(0, start*step-frameGrow), min(w, bx*step+frameGrow)
			if bx == sw {
				x1 = w
			}
			for y := y0; y < y1; y++ {
				fill(g.row(y)[x0:x1], paper)
			}
		}
	}
	return g, true
}

// fill sets every byte of b to v.
func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// edgeConnected marks the pixels of a w×h page at or below t that are
// 4-connected to its edge, and returns the marks, their histogram and how
// many there are.
func edgeConnected(pix []byte, w, h int, t byte) (marks []bool, hist [256]int, n int) {
	marks = make([]bool, w*h)
	var queue []int32
	push := func(i int) {
		if !marks[i] && pix[i] <= t {
			marks[i] = true
			hist[pix[i]]++
			n++
			queue = append(queue, int32(i))
		}
	}
	for x := range w {
		push(x)
		push((h-1)*w + x)
	}
	for y := 1; y < h-1; y++ {
		push(y * w)
		push(y*w + w - 1)
	}
	for len(queue) > 0 {
		i := int(queue[len(queue)-1])
		queue = queue[:len(queue)-1]
		x, y := i%w, i/w
		if x > 0 {
			push(i - 1)
		}
		if x < w-1 {
			push(i + 1)
		}
		if y > 0 {
			push(i - w)
		}
		if y < h-1 {
			push(i + w)
		}
	}
	return marks, hist, n
}
