package searchpdf

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// pageImage is one page's picture, ready to be written as an image
// XObject: either encoded data to pass through (DCTDecode) or raw samples
// that the writer compresses as it goes.
type pageImage struct {
	w, h        int    // pixels as stored
	dict        string // /ColorSpace, /BitsPerComponent and, for data, /Filter
	data        []byte // the stream as it is, or nil
	samples     func(io.Writer) error
	orientation int // EXIF orientation of the stored pixels; 1 is upright
}

// upright is the image's size as shown.
func (im *pageImage) upright() (w, h int) {
	if im.orientation >= 5 {
		return im.h, im.w
	}
	return im.w, im.h
}

// writeImages writes one PDF page per page of an image upload.
func writeImages(ctx context.Context, pw *writer, font int, data []byte, contentType string, pages ocr.PageReader, opts Options) error {
	doc, err := imaging.Open(data, opts.maxPixels(), pages.Pages())
	if err != nil {
		return err
	}
	defer doc.Close()
	if doc.Pages() != pages.Pages() {
		return fmt.Errorf("searchpdf: the image has %d pages, the result %d", doc.Pages(), pages.Pages())
	}
	for i := range doc.Pages() {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := pages.Page(ctx, i+1)
		if err != nil {
			return err
		}
		redact := opts.Redact[p.Number]
		var im *pageImage
		if contentType == imaging.JPEG && len(redact) == 0 {
			im = passJPEG(data)
		}
		if im == nil {
			img, err := doc.Page(ctx, i)
			if err != nil {
				return err
			}
			if len(redact) > 0 {
				img = burn(img, scaleBoxes(redact, p, img.Bounds()))
			}
			if im, err = encode(img, contentType == imaging.JPEG); err != nil {
				return err
			}
		}
		uw, uh := im.upright()
		pw.imagePage(font, p, im, float64(uw)*ptPerPx, float64(uh)*ptPerPx, redact)
	}
	return nil
}

// imagePage writes a page of width × height points that shows im, upright
// and stretched to the page, with p's words (but those under redact) as
// invisible text.
func (pw *writer) imagePage(font int, p *ocr.Page, im *pageImage, width, height float64, redact []ocr.BBox) {
	obj := pw.alloc()
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d %s", im.w, im.h, im.dict)
	if im.data != nil {
		pw.stream(obj, dict, im.data)
	} else {
		pw.flateStream(obj, dict, im.samples)
	}
	o := max(im.orientation, 1)
	m := orientations[o]
	// The stored width runs across the page, or down it when turned.
	sw, sh := width, height
	if o >= 5 {
		sw, sh = height, width
	}
	var c bytes.Buffer
	fmt.Fprintf(&c, "q %s %s %s %s %s %s cm /Im0 Do Q\n",
		num(m[0]*sw), num(m[1]*sw), num(m[2]*sh), num(m[3]*sh), num(m[4]*width), num(m[5]*height))
	textLayer(&c, p, pageGeometry(p, width, height), redact)
	pw.page(width, height, fmt.Sprintf("/XObject << /Im0 %d 0 R >> /Font << %s %d 0 R >>", obj, fontResource, font), c.Bytes())
}

// textPage writes a page of width × height points that holds only p's
// words, as invisible text, to be laid under an uploaded PDF's page.
func (pw *writer) textPage(font int, p *ocr.Page, width, height float64) {
	var c bytes.Buffer
	textLayer(&c, p, pageGeometry(p, width, height), nil)
	pw.page(width, height, fmt.Sprintf("/Font << %s %d 0 R >>", fontResource, font), c.Bytes())
}

// pageGeometry maps p's pixels onto a page of width × height points. A
// result's page is normally the image's size; should it not be, its boxes
// are stretched to the page.
func pageGeometry(p *ocr.Page, width, height float64) geometry {
	g := geometry{sx: ptPerPx, sy: ptPerPx, height: height}
	if p.Width > 0 && p.Height > 0 {
		g.sx, g.sy = width/float64(p.Width), height/float64(p.Height)
	}
	return g
}

// orientations maps an EXIF orientation to the matrix that draws an image
// stored that way upright. PDF draws an image into the unit square, its
// first row at the top; the matrix [a b c d e f] here is in units of the
// stored width (a, b), stored height (c, d) and the upright page's width
// and height (e, f), each stretched to the page. Orientation 6, for one, is
// a photo taken with the phone turned right: its stored top-left corner
// belongs at the top right.
var orientations = [9][6]float64{
	0: {1, 0, 0, 1, 0, 0},
	1: {1, 0, 0, 1, 0, 0},
	2: {-1, 0, 0, 1, 1, 0},  // mirrored
	3: {-1, 0, 0, -1, 1, 1}, // turned 180°
	4: {1, 0, 0, -1, 0, 1},  // flipped
	5: {0, -1, -1, 0, 1, 1}, // transposed
	6: {0, -1, 1, 0, 0, 1},  // turned 90° clockwise to show
	7: {0, 1, 1, 0, 0, 0},   // transversed
	8: {0, 1, -1, 0, 1, 0},  // turned 90° counter-clockwise to show
}

// passJPEG returns a JPEG as it is, for DCTDecode, or nil when a PDF reader
// could not be trusted to show it as Go's decoder does (CMYK, whose Adobe
// inversion readers disagree on) or it cannot be read.
func passJPEG(data []byte) *pageImage {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	space := ""
	switch cfg.ColorModel {
	case color.GrayModel:
		space = "/DeviceGray"
	case color.YCbCrModel, color.RGBAModel:
		space = "/DeviceRGB"
	default:
		return nil
	}
	return &pageImage{w: cfg.Width, h: cfg.Height, dict: "/ColorSpace " + space + " /BitsPerComponent 8 /Filter /DCTDecode",
		data: data, orientation: imaging.Orientation(data)}
}

// encode makes an image's samples ready for Flate, without loss: a grey
// image of only black and white as 1 bit a pixel, palettes as indexed
// colour, 16-bit images at 16 bits, CMYK as CMYK, the rest as 8-bit RGB. A
// JPEG that is not passed through (one being redacted, or a CMYK one) is
// encoded as JPEG again, at quality 90: Flate would make a photo several
// times bigger. One turned by its EXIF orientation comes from imaging
// upright and grey, and stays grey.
func encode(img image.Image, asJPEG bool) (*pageImage, error) {
	b := img.Bounds()
	im := &pageImage{w: b.Dx(), h: b.Dy()}
	if asJPEG {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		im.data = buf.Bytes()
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode"
		if _, ok := img.(*image.Gray); ok {
			im.dict = "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode"
		}
		return im, nil
	}
	rows := func(bytesPerRow int, row func(y int, out []byte)) func(io.Writer) error {
		return func(w io.Writer) error {
			out := make([]byte, bytesPerRow)
			for y := range im.h {
				row(b.Min.Y+y, out)
				if _, err := w.Write(out); err != nil {
					return err
				}
			}
			return nil
		}
	}
	switch m := img.(type) {
	case *image.Gray:
		if bilevel(m) {
			im.dict = "/ColorSpace /DeviceGray /BitsPerComponent 1"
			im.samples = rows((im.w+7)/8, func(y int, out []byte) {
				pack(out, m.Pix[m.PixOffset(b.Min.X, y):][:im.w], 1, func(v byte) byte { return v >> 7 })
			})
			return im, nil
		}
		im.dict = "/ColorSpace /DeviceGray /BitsPerComponent 8"
		im.samples = rows(im.w, func(y int, out []byte) { copy(out, m.Pix[m.PixOffset(b.Min.X, y):]) })
	case *image.Gray16:
		im.dict = "/ColorSpace /DeviceGray /BitsPerComponent 16"
		im.samples = rows(2*im.w, func(y int, out []byte) { copy(out, m.Pix[m.PixOffset(b.Min.X, y):]) })
	case *image.CMYK:
		im.dict = "/ColorSpace /DeviceCMYK /BitsPerComponent 8"
		im.samples = rows(4*im.w, func(y int, out []byte) { copy(out, m.Pix[m.PixOffset(b.Min.X, y):]) })
	case *image.Paletted:
		bits := 8
		for _, n := range []int{1, 2, 4} {
			if len(m.Palette) <= 1<<n {
				bits = n
				break
			}
		}
		var lookup bytes.Buffer
		for _, c := range m.Palette {
			r, g, bl, _ := c.RGBA()
			fmt.Fprintf(&lookup, "%02X%02X%02X", r>>8, g>>8, bl>>8)
		}
		im.dict = fmt.Sprintf("/ColorSpace [/Indexed /DeviceRGB %d <%s>] /BitsPerComponent %d", len(m.Palette)-1, lookup.String(), bits)
		im.samples = rows((im.w*bits+7)/8, func(y int, out []byte) {
			pack(out, m.Pix[m.PixOffset(b.Min.X, y):][:im.w], bits, func(v byte) byte { return v })
		})
	case *image.RGBA:
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 8"
		im.samples = rows(3*im.w, func(y int, out []byte) { dropAlpha(out, m.Pix[m.PixOffset(b.Min.X, y):], 1) })
	case *image.NRGBA:
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 8"
		im.samples = rows(3*im.w, func(y int, out []byte) { dropAlpha(out, m.Pix[m.PixOffset(b.Min.X, y):], 1) })
	case *image.RGBA64:
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 16"
		im.samples = rows(6*im.w, func(y int, out []byte) { dropAlpha(out, m.Pix[m.PixOffset(b.Min.X, y):], 2) })
	case *image.NRGBA64:
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 16"
		im.samples = rows(6*im.w, func(y int, out []byte) { dropAlpha(out, m.Pix[m.PixOffset(b.Min.X, y):], 2) })
	default:
		im.dict = "/ColorSpace /DeviceRGB /BitsPerComponent 8"
		im.samples = rows(3*im.w, func(y int, out []byte) {
			for x := range im.w {
				c := color.RGBAModel.Convert(img.At(b.Min.X+x, y)).(color.RGBA)
				out[3*x], out[3*x+1], out[3*x+2] = c.R, c.G, c.B
			}
		})
	}
	return im, nil
}

// dropAlpha fills out with the colour of RGBA pixels of the given bytes a
// sample. They are opaque (imaging lays transparency over white), so
// premultiplied or not, the colour is the same.
func dropAlpha(out, pix []byte, size int) {
	for x := range len(out) / (3 * size) {
		copy(out[3*size*x:3*size*(x+1)], pix[4*size*x:])
	}
}

// bilevel reports whether a grey image holds only black and white, as a
// fax, a 1-bit TIFF or PNG, or a thresholded scan does.
func bilevel(m *image.Gray) bool {
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, v := range m.Pix[m.PixOffset(b.Min.X, y):][:b.Dx()] {
			if v != 0 && v != 0xFF {
				return false
			}
		}
	}
	return true
}

// pack writes samples of the given bits each (1, 2, 4 or 8), most
// significant first, as PDF image rows are laid out.
func pack(out, samples []byte, bits int, sample func(byte) byte) {
	clear(out)
	per := 8 / bits
	for x, v := range samples {
		out[x/per] |= sample(v) << (8 - bits*(x%per+1))
	}
}

// scaleBoxes maps boxes in p's pixels to the pixels of an image of bounds b.
func scaleBoxes(boxes []ocr.BBox, p *ocr.Page, b image.Rectangle) []image.Rectangle {
	sx, sy := 1.0, 1.0
	if p.Width > 0 && p.Height > 0 {
		sx, sy = float64(b.Dx())/float64(p.Width), float64(b.Dy())/float64(p.Height)
	}
	out := make([]image.Rectangle, len(boxes))
	for k, r := range boxes {
		// Outward: a covered pixel too many, never one too few.
		out[k] = image.Rect(int(float64(r[0])*sx), int(float64(r[1])*sy), ceil(float64(r[2])*sx), ceil(float64(r[3])*sy)).Add(b.Min).Intersect(b)
	}
	return out
}

func ceil(v float64) int {
	n := int(v)
	if float64(n) < v {
		n++
	}
	return n
}

// burn fills boxes with black in img, in place where img can be drawn on
// and keep black, or in an RGBA copy.
func burn(img image.Image, boxes []image.Rectangle) image.Image {
	switch m := img.(type) {
	case *image.Gray, *image.Gray16, *image.RGBA, *image.NRGBA, *image.RGBA64, *image.NRGBA64, *image.CMYK:
		for _, r := range boxes {
			draw.Draw(m.(draw.Image), r, image.Black, image.Point{}, draw.Src)
		}
		return img
	case *image.YCbCr:
		// Black is Y 0 with neutral chroma. A chroma sample shared with
		// pixels outside a box turns grey with it: a fringe of at most one
		// pixel, outside, never a pixel inside left as it was.
		for _, r := range boxes {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					m.Y[m.YOffset(x, y)] = 0
					c := m.COffset(x, y)
					m.Cb[c], m.Cr[c] = 128, 128
				}
			}
		}
		return img
	}
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, img, b.Min, draw.Src)
	return burn(rgba, boxes)
}
