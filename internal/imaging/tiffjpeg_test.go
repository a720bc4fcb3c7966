package imaging

import (
	"context"
	"encoding/binary"
	"image"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// TestTIFFJPEG_ReadInGoAsLibtiffReadsIt writes JPEG-compressed TIFFs with
// libtiff (grey, YCbCr and RGB; one strip and many, the last short) and
// checks that Go reads each page itself, without a libtiff conversion, and
// that the page is the one libtiff reads (within JPEG decoders' rounding).
func TestTIFFJPEG_ReadInGoAsLibtiffReadsIt(t *testing.T) {
	pages := readTestdata(t, "pages.tif") // 1222×548 grey, two pages
	rgb := tiffcp(t, pages, "-c", "none")
	rgb = tiffcp(t, toRGB(t, rgb), "-c", "none")
	for _, c := range []struct {
		name   string
		data   []byte
		args   []string
		modify func(t *testing.T, data []byte)
	}{
		{"grey in one strip", pages, []string{"-c", "jpeg"}, nil},
		{"grey in strips of 96 rows", pages, []string{"-c", "jpeg", "-r", "96"}, nil},
		{"YCbCr in strips of 64 rows", rgb, []string{"-c", "jpeg", "-r", "64"}, nil},
		{"RGB in one strip", rgb, []string{"-c", "jpeg:r", "-r", "552"}, nil},
		{"RGB in strips of 32 rows", rgb, []string{"-c", "jpeg:r", "-r", "32"}, nil},
		// Components numbered, not named R, G and B: Go's decoder takes
		// them for YCbCr, and the planes are read back as RGB.
		{"RGB with numbered components", rgb, []string{"-c", "jpeg:r", "-r", "552"}, numberComponents},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := tiffcp(t, c.data, c.args...)
			if c.modify != nil {
				c.modify(t, data)
			}
			d, err := Open(data, limit, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			want, err := Open(tiffcp(t, data, "-c", "none"), limit, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			for i := range d.Pages() {
				got, err := d.Page(context.Background(), i)
				if err != nil {
					t.Fatalf("page %d: %v", i+1, err)
				}
				ref, err := want.Page(context.Background(), i)
				if err != nil {
					t.Fatal(err)
				}
				if mean, worst := greyDiff(t, got, ref, luma); mean > 1.5 || worst > 48 {
					t.Fatalf("page %d differs from libtiff's by %.2f on average, %d at most", i+1, mean, worst)
				}
				// A reader of text gets the page grey, from libjpeg-turbo.
				grey, err := d.GreyPage(context.Background(), i)
				if err != nil {
					t.Fatalf("page %d grey: %v", i+1, err)
				}
				if _, ok := grey.(*image.Gray); !ok && libjpeg {
					t.Fatalf("page %d: GreyPage gave a %T", i+1, grey)
				}
				// RGB samples are weighed as Leptonica weighs them (0.3, 0.5,
				// 0.2), as internal/tesseract does any RGB page; YCbCr and
				// grey pages are their luma.
				weights := luma
				if strings.HasPrefix(c.name, "RGB") {
					weights = [3]float64{0.3, 0.5, 0.2}
				}
				if mean, worst := greyDiff(t, grey, ref, weights); grey.Bounds() != ref.Bounds() || mean > 1.5 || worst > 48 {
					t.Fatalf("page %d grey, %v, differs from libtiff's %v by %.2f on average, %d at most", i+1, grey.Bounds(), ref.Bounds(), mean, worst)
				}
			}
			if d.dir != "" {
				t.Fatal("a page was converted by libtiff: Go did not read it")
			}
		})
	}
}

// TestTIFFJPEG_LeavesWhatItDoesNotExpectToLibtiff breaks a JPEG TIFF's
// tags in ways the Go reader does not follow, and checks that it says so
// with EUNSUPPORTED (the converters then try), without reading past the
// file.
func TestTIFFJPEG_LeavesWhatItDoesNotExpectToLibtiff(t *testing.T) {
	good := tiffcp(t, readTestdata(t, "pages.tif"), "-c", "jpeg", "-r", "96")
	p, err := readTIFFPages(good, 10)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(b []byte, tag uint16) []byte {
		off := p.ifds[0]
		n := int(p.order.Uint16(b[off:]))
		for k := range n {
			e := b[int(off)+2+12*k:][:12]
			if p.order.Uint16(e) == tag {
				return e
			}
		}
		t.Fatalf("no tag %d", tag)
		return nil
	}
	for name, corrupt := range map[string]func(b []byte){
		"tables not a JPEG": func(b []byte) {
			e := entry(b, 347)
			b[p.order.Uint32(e[8:])] = 0
		},
		"a strip past the end": func(b []byte) {
			e := entry(b, 279)
			p.order.PutUint32(b[p.order.Uint32(e[8:])+4:], 1<<30) // the second strip's length
		},
		"fewer strips than rows": func(b []byte) {
			e := entry(b, 278)
			p.order.PutUint16(e[8:], 200)
		},
		"strips of another width": func(b []byte) {
			p.order.PutUint16(entry(b, 256)[8:], 1000)
		},
		"tiled": func(b []byte) {
			p.order.PutUint16(entry(b, 278), 322) // RowsPerStrip becomes TileWidth
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			corrupt(b)
			for _, grey := range []bool{false, true} {
				_, err := decodeTIFFJPEG(b, p.order, p.ifds[0], limit, grey)
				if ocr.ErrorCode(err) != ocr.EUNSUPPORTED {
					t.Fatalf("grey %v: got %v, want unsupported", grey, err)
				}
			}
		})
	}
}

// numberComponents renames the components of a one-strip JPEG TIFF's
// frame and scans from R, G and B to 1, 2 and 3, as some writers name
// them. Markers cannot occur inside entropy-coded data (a 0xFF there is
// followed by 0x00), so the strip's SOF and SOS markers are found by
// their bytes.
func numberComponents(t *testing.T, data []byte) {
	p, err := readTIFFPages(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	off, n := p.ifds[0], int(p.order.Uint16(data[p.ifds[0]:]))
	var start, size uint32
	for k := range n {
		e := data[int(off)+2+12*k:][:12]
		switch p.order.Uint16(e) {
		case 273:
			start = tiffValue(e, p.order)
		case 279:
			size = tiffValue(e, p.order)
		}
	}
	strip := data[start : start+size]
	renamed := 0
	for i := 0; i+4 < len(strip); i++ {
		if strip[i] != 0xFF || (strip[i+1] != 0xC0 && strip[i+1] != 0xDA) {
			continue
		}
		comps, step, at := strip[i+4], 2, i+5 // SOS: count, then (id, tables)
		if strip[i+1] == 0xC0 {
			comps, step, at = strip[i+9], 3, i+10 // SOF: precision, size, count, then (id, sampling, table)
		}
		for c := range int(comps) {
			if id := &strip[at+step*c]; *id >= 'B' && *id <= 'R' {
				*id = map[byte]byte{'R': 1, 'G': 2, 'B': 3}[*id]
				renamed++
			}
		}
	}
	if renamed < 6 {
		t.Fatalf("renamed %d components; the strip is not a baseline RGB JPEG", renamed)
	}
}

// toRGB turns a grey uncompressed TIFF into an RGB one with libtiff's
// help: Go writes it, as RGBA, and tiffcp drops nothing, so the alpha is
// removed here by writing RGB samples directly.
func toRGB(t *testing.T, grey []byte) []byte {
	t.Helper()
	d, err := Open(grey, limit, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	img, err := d.Page(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := make([]byte, 0, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			// Tint the page so the channels differ: red ink would read as
			// grey through a decoder that took RGB for YCbCr.
			pix = append(pix, byte(r>>8), byte(g>>8)/2+64, byte(bl>>8)*3/4)
		}
	}
	return rawTIFF(w, h, 2, 3, pix)
}

// rawTIFF is an uncompressed little-endian TIFF of one strip.
func rawTIFF(w, h int, photometric, spp uint16, pix []byte) []byte {
	le := binary.LittleEndian
	type ent struct {
		tag, typ uint16
		v        uint32
	}
	bpsAt := uint32(8)
	ents := []ent{{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, uint32(photometric)},
		{273, 4, 0}, {277, 3, uint32(spp)}, {278, 4, uint32(h)}, {279, 4, uint32(len(pix))}, {284, 3, 1}}
	dirAt := bpsAt + 2*uint32(spp)
	pixAt := dirAt + 2 + 12*uint32(len(ents)) + 4
	out := make([]byte, pixAt, int(pixAt)+len(pix))
	copy(out, "II*\x00")
	le.PutUint32(out[4:], dirAt)
	for i := range int(spp) {
		le.PutUint16(out[bpsAt+2*uint32(i):], 8)
	}
	le.PutUint16(out[dirAt:], uint16(len(ents)))
	for k, e := range ents {
		p := out[dirAt+2+12*uint32(k):]
		le.PutUint16(p, e.tag)
		le.PutUint16(p[2:], e.typ)
		count, v := uint32(1), e.v
		switch e.tag {
		case 258:
			count, v = uint32(spp), bpsAt
		case 273:
			v = pixAt
		}
		le.PutUint32(p[4:], count)
		if e.typ == 3 && count == 1 {
			le.PutUint16(p[8:], uint16(v))
		} else {
			le.PutUint32(p[8:], v)
		}
	}
	return append(out, pix...)
}

// luma is the weights of luma (ITU-R BT.601) for greyDiff.
var luma = [3]float64{0.299, 0.587, 0.114}

// greyDiff is the mean and largest difference between the grey of two pages
// of the same size, each pixel's red, green and blue summed with weights (a
// grey pixel is its own grey whatever the weights, which sum to 1).
func greyDiff(t *testing.T, a, b image.Image, weights [3]float64) (float64, int) {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("pages of %v and %v", a.Bounds(), b.Bounds())
	}
	grey := func(img image.Image, x, y int) int {
		r, g, bl, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
		return int((weights[0]*float64(r) + weights[1]*float64(g) + weights[2]*float64(bl)) / 257)
	}
	var sum, worst int
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	for y := range h {
		for x := range w {
			d := grey(a, x, y) - grey(b, x, y)
			d = max(d, -d)
			sum += d
			worst = max(worst, d)
		}
	}
	return float64(sum) / float64(w*h), worst
}
