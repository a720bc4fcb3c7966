package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// A TIFF page compressed with JPEG (compression 7, "new-style", what
// scanners and libtiff write) is a column of strips, each a JPEG stream
// whose tables may be kept once for the page in the JPEGTables tag.
// x/image/tiff does not read it, and libtiff's tiffcp (see tiffConverters)
// rewriting the page uncompressed in a sandboxed process, for Go to read
// back, took 0.3 s for a 300-dpi book page (1457×2084), where Go's JPEG
// decoder takes 0.05 s, and as long again for the three pages of a receipt
// scan as the pages' reading itself. So each strip is given to image/jpeg
// here, with the page's tables in front of it. It is hand-written because
// no Go library reads JPEG-in-TIFF. Anything it does not expect (tiles,
// planes, old-style JPEG, a strip that is not the size the tags say) is
// left to libtiff as before: this only ever saves time, never reads a file
// libtiff would refuse.

// decodeTIFFJPEG decodes the JPEG-compressed page whose directory is at
// off, or returns an EUNSUPPORTED error for the converters to try. With
// grey, for GreyPage, each strip is decoded by libjpeg-turbo straight into
// a grey page (jpegGreyRows): a colour book page at 300 dpi (1457×2084)
// took image/jpeg 100–175 ms and 12 MB as RGBA, where its grey is 3 MB.
func decodeTIFFJPEG(data []byte, order binary.ByteOrder, off uint32, maxPixels int64, grey bool) (image.Image, error) {
	no := func(why string) error {
		return ocr.Errorf(ocr.EUNSUPPORTED, "the TIFF's JPEG page is read through libtiff: %s", why)
	}
	n := int(order.Uint16(data[off:]))
	dir := data[off+2 : int(off)+2+12*n] // readTIFFPages checked the bounds
	var (
		w, h, rows           uint32 = 0, 0, 0
		photometric, spp     uint16 = 0xFFFF, 1
		offsets, counts      []uint32
		tables               []byte
		tiled, planar, other bool
	)
	for k := range n {
		e := dir[12*k : 12*k+12]
		switch tag := order.Uint16(e); tag {
		case 256:
			w = tiffValue(e, order)
		case 257:
			h = tiffValue(e, order)
		case 258:
			if order.Uint32(e[4:]) == 1 && tiffValue(e, order) != 8 {
				other = true
			}
		case 262:
			photometric = uint16(tiffValue(e, order))
		case 273:
			offsets = tiffValues(data, e, order)
		case 277:
			spp = uint16(tiffValue(e, order))
		case 278:
			rows = tiffValue(e, order)
		case 279:
			counts = tiffValues(data, e, order)
		case 284:
			planar = tiffValue(e, order) != 1
		case 322, 323, 324, 325:
			tiled = true
		case 347:
			tables = tiffBytes(data, e, order)
		}
	}
	switch {
	case tiled || planar || other:
		return nil, no("tiles, planes or other than 8 bits a sample")
	case !(photometric == 1 && spp == 1) && !((photometric == 2 || photometric == 6) && spp == 3):
		return nil, no("a photometric other than grey, RGB or YCbCr")
	}
	if err := checkSize("TIFF", int(w), int(h), maxPixels); err != nil {
		return nil, err
	}
	if rows == 0 || rows > h {
		rows = h
	}
	strips := int((h + rows - 1) / rows)
	if len(offsets) != strips || len(counts) != strips {
		return nil, no("its strips do not match its size")
	}
	if tables != nil {
		if !bytes.HasPrefix(tables, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(tables, []byte{0xFF, 0xD9}) {
			return nil, no("its JPEG tables are not a JPEG stream")
		}
		tables = tables[:len(tables)-2] // SOI and the tables; each strip brings the rest
	}
	var out draw.Image // the page, when it has more than one strip
	for s := range strips {
		y0, y1 := s*int(rows), min((s+1)*int(rows), int(h))
		if uint64(offsets[s])+uint64(counts[s]) > uint64(len(data)) || counts[s] < 4 {
			return nil, no("a strip runs past the end of the file")
		}
		strip := data[offsets[s] : offsets[s]+counts[s]]
		if !bytes.HasPrefix(strip, []byte{0xFF, 0xD8}) {
			return nil, no("a strip is not a JPEG stream")
		}
		stream := strip
		if tables != nil {
			stream = append(append(make([]byte, 0, len(tables)+len(strip)), tables...), strip[2:]...)
		}
		// The strip's own size, before its pixels are allocated: at most
		// the page's width and the strip's rows (the last may be padded).
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(stream))
		if err != nil || cfg.Width != int(w) || cfg.Height < y1-y0 || cfg.Height > int(rows) {
			return nil, no("a strip is not the size the page's tags say")
		}
		if err := checkJPEGScans(stream); err != nil {
			return nil, err // a scan bomb: libtiff would take as long
		}
		if grey {
			if out == nil {
				out = image.NewGray(image.Rect(0, 0, int(w), int(h)))
			}
			page := out.(*image.Gray).Pix[y0*int(w):]
			if !jpegGreyRows(stream, int(w), cfg.Height, y1-y0, int(photometric), page) {
				return nil, no("libjpeg-turbo did not read a strip cleanly")
			}
			continue
		}
		img, err := jpeg.Decode(bytes.NewReader(stream))
		if err != nil {
			return nil, no(err.Error())
		}
		if photometric == 2 {
			if img, err = asRGB(img); err != nil {
				return nil, no(err.Error())
			}
		}
		if (photometric == 1) != (img.ColorModel() == color.GrayModel) {
			return nil, no("a strip's samples are not what its photometric says")
		}
		if strips == 1 && cfg.Height == int(h) {
			return img, nil
		}
		if out == nil {
			if photometric == 1 {
				out = image.NewGray(image.Rect(0, 0, int(w), int(h)))
			} else {
				out = image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
			}
		}
		place(out, image.Rect(0, y0, int(w), y1), img)
	}
	return out, nil
}

// place copies a decoded strip into the page at r. Grey onto grey is a copy
// of rows: image/draw has no fast path for it and goes pixel by pixel
// through colour conversion, 40 ms for a receipt page of a few strips.
// Colour (YCbCr onto RGBA, or RGBA) takes draw's own fast paths.
func place(out draw.Image, r image.Rectangle, img image.Image) {
	dst, ok1 := out.(*image.Gray)
	src, ok2 := img.(*image.Gray)
	if !ok1 || !ok2 {
		draw.Draw(out, r, img, img.Bounds().Min, draw.Src)
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		s := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y-r.Min.Y)
		copy(dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)], src.Pix[s:s+r.Dx()])
	}
}

// asRGB is a JPEG whose three components are red, green and blue (a TIFF's
// RGB photometric: libtiff writes them without a colour transform). Go's
// decoder takes three components for YCbCr unless the stream says RGB (an
// Adobe marker, or components named R, G and B, as libjpeg names them);
// when it did not, the planes are read back as the channels they are.
func asRGB(img image.Image) (image.Image, error) {
	m, ok := img.(*image.YCbCr)
	if !ok {
		return img, nil // decoded as RGB already
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio444 {
		return nil, ocr.Errorf(ocr.EUNSUPPORTED, "RGB samples at a subsampling")
	}
	b := m.Rect
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i, c := m.YOffset(x, y), m.COffset(x, y)
			p := out.PixOffset(x, y)
			out.Pix[p], out.Pix[p+1], out.Pix[p+2], out.Pix[p+3] = m.Y[i], m.Cb[c], m.Cr[c], 0xFF
		}
	}
	return out, nil
}

// tiffValue is a directory entry's first value, SHORT or LONG; 0 for other
// types.
func tiffValue(e []byte, order binary.ByteOrder) uint32 {
	switch order.Uint16(e[2:]) {
	case 3:
		return uint32(order.Uint16(e[8:]))
	case 4:
		return order.Uint32(e[8:])
	}
	return 0
}

// maxStrips bounds the strips a page's tags may list: a strip is at least a
// row, and a page at most 32767 rows for the engine.
const maxStrips = 1 << 16

// tiffValues is a directory entry's SHORT or LONG values, inline or at the
// offset it holds; nil when they are of another type or run past the end of
// the file.
func tiffValues(data, e []byte, order binary.ByteOrder) []uint32 {
	typ, count := order.Uint16(e[2:]), order.Uint32(e[4:])
	size := map[uint16]uint32{3: 2, 4: 4}[typ]
	if size == 0 || count == 0 || count > maxStrips {
		return nil
	}
	raw := e[8:12]
	if size*count > 4 {
		off := uint64(order.Uint32(e[8:]))
		if off+uint64(size*count) > uint64(len(data)) {
			return nil
		}
		raw = data[off : off+uint64(size*count)]
	}
	out := make([]uint32, count)
	for i := range out {
		if size == 2 {
			out[i] = uint32(order.Uint16(raw[2*i:]))
		} else {
			out[i] = order.Uint32(raw[4*i:])
		}
	}
	return out
}

// tiffBytes is an UNDEFINED or BYTE entry's bytes, inline or at the offset
// it holds; nil when they run past the end of the file.
func tiffBytes(data, e []byte, order binary.ByteOrder) []byte {
	typ, count := order.Uint16(e[2:]), uint64(order.Uint32(e[4:]))
	if (typ != 7 && typ != 1) || count == 0 {
		return nil
	}
	if count <= 4 {
		return e[8 : 8+count]
	}
	off := uint64(order.Uint32(e[8:]))
	if off+count > uint64(len(data)) {
		return nil
	}
	return data[off : off+count]
}
