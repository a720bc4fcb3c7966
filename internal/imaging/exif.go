package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
)

// Orientation returns the orientation (1–8) an image file records for its
// first page, 1 when it records none. Phones and scanners save pixels as the
// sensor read them and say in this EXIF/TIFF tag how to turn them; Go's
// decoders ignore it. Browsers honour it in JPEG, PNG (eXIf), WebP (EXIF)
// and TIFF, so a page must be read the way it is shown.
//
// The parsers are hand-written: one tag of one directory does not warrant
// an EXIF library. Each reads untrusted bytes, checks every offset against
// the data, only moves forward, and looks at one directory of at most
// 65,535 entries, so a huge or looping EXIF block costs one bounded pass.
func Orientation(data []byte) int {
	switch Sniff(data) {
	case JPEG:
		return exifOrientation(data)
	case PNG:
		return pngOrientation(data)
	case WebP:
		return webpOrientation(data)
	case TIFF:
		return tiffOrientation(data)
	}
	return 1
}

// exifOrientation returns a JPEG's EXIF Orientation (1 when absent or
// unreadable), from the first APP1 "Exif" segment before the image data.
func exifOrientation(data []byte) int {
	seg := jpegSegment(data, func(marker byte, seg []byte) bool {
		return marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00"))
	})
	if seg == nil {
		return 1
	}
	return tiffOrientation(seg[6:])
}

// jpegSegment returns the contents of the first header segment of a JPEG,
// before its image data, that match accepts (given its marker and its
// contents, without the length); nil when none does.
func jpegSegment(data []byte, match func(marker byte, seg []byte) bool) []byte {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || n < 2 || i+2+n > len(data) { // start of scan: no more headers
			return nil
		}
		if seg := data[i+4 : i+2+n]; match(marker, seg) {
			return seg
		}
		i += 2 + n
	}
	return nil
}

// pngOrientation returns the Orientation in a PNG's eXIf chunk (1 when
// absent or unreadable).
func pngOrientation(data []byte) int {
	if c, ok := findPNGChunk(data, "eXIf"); ok {
		return tiffOrientation(c)
	}
	return 1
}

// findPNGChunk returns the data of a PNG's first chunk of type typ, and true;
// false when there is none before the image data. Ancillary chunks must
// come before it (PNG third edition, 11.3.6), so the walk stops at the
// first IDAT.
func findPNGChunk(data []byte, typ string) ([]byte, bool) {
	for i := 8; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		t := string(data[i+4 : i+8])
		end := int64(i) + 8 + n
		if t == "IDAT" || end > int64(len(data)) {
			return nil, false
		}
		if t == typ {
			return data[i+8 : end], true
		}
		i = int(end) + 4 // and the CRC
	}
	return nil, false
}

// webpOrientation returns the Orientation in a WebP's EXIF chunk (1 when
// absent or unreadable). Chunks are a FourCC, a little-endian size and the
// data padded to an even length.
func webpOrientation(data []byte) int {
	for i := 12; i+8 <= len(data); {
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		end := int64(i) + 8 + n
		if end > int64(len(data)) {
			return 1
		}
		if string(data[i:i+4]) == "EXIF" {
			// Some writers keep JPEG's "Exif\0\0" prefix.
			return tiffOrientation(bytes.TrimPrefix(data[i+8:end], []byte("Exif\x00\x00")))
		}
		i = int(end + n&1)
	}
	return 1
}

// tiffOrientation returns the Orientation tag (274) of the first directory
// of a TIFF structure: a TIFF file, or the EXIF block of a JPEG, PNG or
// WebP. It is 1 when absent, out of range or unreadable.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var order binary.ByteOrder = binary.LittleEndian
	if bytes.HasPrefix(t, []byte("MM")) {
		order = binary.BigEndian
	}
	ifd := int64(order.Uint32(t[4:]))
	if ifd >= int64(len(t)) {
		return 1
	}
	if o := int(tiffShort(t[ifd:], order, 274, 1)); o >= 1 && o <= 8 {
		return o
	}
	return 1
}

// tiffShort returns the value of a SHORT or LONG tag held in its directory
// entry, from a directory (a count, then 12-byte entries) at the start of
// ifd; def when the tag is absent, of another type, or past the data.
func tiffShort(ifd []byte, order binary.ByteOrder, tag, def uint16) uint16 {
	e := findTIFFEntry(ifd, order, tag)
	if e == nil {
		return def
	}
	switch order.Uint16(e[2:]) {
	case 3: // SHORT
		return order.Uint16(e[8:])
	case 4: // LONG
		return uint16(min(order.Uint32(e[8:]), 0xFFFF))
	}
	return def
}

// findTIFFEntry returns the 12-byte entry for tag of a directory (a count, then
// 12-byte entries) at the start of ifd; nil when it has none within the
// data.
func findTIFFEntry(ifd []byte, order binary.ByteOrder, tag uint16) []byte {
	if len(ifd) < 2 {
		return nil
	}
	n := int(order.Uint16(ifd))
	for k := range n {
		e := ifd[min(2+12*k, len(ifd)):]
		if len(e) < 12 {
			return nil
		}
		if order.Uint16(e) == tag {
			return e[:12]
		}
	}
	return nil
}

// finish makes a decoded page what the engine reads: opaque, then upright
// as orientation o says.
func finish(img image.Image, o int) image.Image {
	return orient(opaque(img), o)
}

// opaque lays an image with transparency over white, as a viewer shows it:
// text drawn on a transparent background is dark on light, where dropping
// the alpha would leave it dark on black (a transparent pixel's colour is
// usually black). Images without an alpha channel, or whose alpha is
// everywhere opaque, are returned as they are.
func opaque(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.Gray, *image.Gray16, *image.YCbCr, *image.CMYK:
		return img
	case *image.Paletted:
		// Only the palette needs laying over white; the pixels keep their
		// indexes.
		p := make(color.Palette, len(m.Palette))
		changed := false
		for k, c := range m.Palette {
			p[k] = overWhite(c)
			changed = changed || p[k] != c
		}
		if !changed {
			return img
		}
		out := *m
		out.Palette = p
		return &out
	}
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, b, img, b.Min, draw.Over)
	return dst
}

// overWhite is c laid over white, opaque.
func overWhite(c color.Color) color.Color {
	r, g, b, a := c.RGBA() // premultiplied: add the white that shows through
	if a == 0xFFFF {
		return c
	}
	w := 0xFFFF - a
	return color.RGBA64{uint16(r + w), uint16(g + w), uint16(b + w), 0xFFFF}
}

// orient turns img as EXIF orientation o says, into a grey page (OCR reads
// grey; for a JPEG, the luma plane is that page already).
func orient(img image.Image, o int) image.Image {
	if o <= 1 {
		return img
	}
	src := toGray(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 { // the four orientations that swap width and height
		dw, dh = h, w
	}
	dst := image.NewGray(image.Rect(0, 0, dw, dh))
	for y := range h {
		row := src.Pix[y*src.Stride : y*src.Stride+w]
		for x, v := range row {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			dst.Pix[dy*dst.Stride+dx] = v
		}
	}
	return dst
}

func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		if b.Min == (image.Point{}) {
			return m
		}
	case *image.YCbCr:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := range b.Dy() {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Y[m.YOffset(b.Min.X, b.Min.Y+y):])
		}
		return g
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}
