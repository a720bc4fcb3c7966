package imaging

import (
	"image"
	"math"
)

// Skew estimates how many degrees a page's text lines are tilted, in
// Rotate's sense (Rotate(page, Skew(page)) would tilt it twice as much;
// Rotate(page, -Skew(page)) sets it straight), within ±maxDeg, by the
// projection-profile method:
// rotated by the right angle, the dark pixels pile into sharp rows, so the
// variance of the row sums peaks. The page is sampled down to about 1000
// pixels wide first; the estimate needs rows, not detail.
func Skew(img image.Image, maxDeg, stepDeg float64) float64 {
	g := toGray(img)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	step := max(1, w/1000)
	type pt struct{ x, y float64 }
	var dark []pt
	for y := 0; y < h; y += step {
		for x := 0; x < w; x += step {
			if g.Pix[y*g.Stride+x] < 128 {
				dark = append(dark, pt{float64(x), float64(y)})
			}
		}
	}
	if len(dark) < 100 {
		return 0
	}
	best, bestVar := 0.0, -1.0
	rows := make(map[int]int)
	for a := -maxDeg; a <= maxDeg+1e-9; a += stepDeg {
		sin, cos := math.Sincos(a * math.Pi / 180)
		clear(rows)
		for _, p := range dark {
			rows[int((p.y*cos-p.x*sin)/float64(step))]++
		}
		var sum, sq float64
		for _, n := range rows {
			sum += float64(n)
			sq += float64(n) * float64(n)
		}
		v := sq/float64(len(rows)) - (sum/float64(len(rows)))*(sum/float64(len(rows)))
		if v > bestVar {
			best, bestVar = a, v
		}
	}
	// best is the turn that straightens the rows; the tilt is its opposite.
	return -best
}

// Rotate turns img by deg degrees anticlockwise about its centre, keeping
// its size, filling with white, as a grey page.
func Rotate(img image.Image, deg float64) *image.Gray {
	g := toGray(img)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(w)/2, float64(h)/2
	for y := range h {
		for x := range w {
			// Where this output pixel comes from in the input.
			dx, dy := float64(x)-cx, float64(y)-cy
			sx, sy := cos*dx-sin*dy+cx, sin*dx+cos*dy+cy
			ix, iy := int(sx), int(sy)
			v := byte(255)
			if ix >= 0 && iy >= 0 && ix < w && iy < h {
				v = g.Pix[iy*g.Stride+ix]
			}
			out.Pix[y*out.Stride+x] = v
		}
	}
	return out
}
