package imaging

import (
	"encoding/binary"
	"image"
	"io"
	"math"
	"sort"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Grey with alpha is how ImageMagick saves a grey image with transparency
// (16-bit, LZW with the horizontal predictor, by default), and neither
// reader at hand takes it whole: x/image/tiff refuses extra samples on grey,
// and libtiff's RGBA interface (tiff2rgba) drops the alpha of 16-bit grey
// (tif_getimage.c, put16bitbwtile), which turns a transparent background
// black. But its pixels are only pairs of samples: presented to Go as a grey
// image twice as wide, without the predictor, x/image/tiff does all the
// decompression, and what is left here is undoing the predictor and laying
// the page over white.

// tiffTags are the values of one directory's tags that decide how a page is
// read.
type tiffTags struct {
	photometric, spp, bps, compression, predictor uint16
	resolution                                    bool // it has an XResolution (282)
}

func readTIFFTags(dir []byte, order binary.ByteOrder) tiffTags {
	return tiffTags{
		photometric: tiffShort(dir, order, 262, 0xFFFF),
		spp:         tiffShort(dir, order, 277, 1),
		bps:         tiffShort(dir, order, 258, 1), // the first of its values only when there is one
		compression: tiffShort(dir, order, 259, 1),
		predictor:   tiffShort(dir, order, 317, 1),
		resolution:  findTIFFEntry(dir, order, 282) != nil,
	}
}

// isGreyAlpha reports whether a page is grey with one alpha sample, 8 or 16
// bits, which decodeGreyAlpha reads.
func (t tiffTags) isGreyAlpha() bool {
	return (t.photometric == 0 || t.photometric == 1) && t.spp == 2 && (t.bps == 8 || t.bps == 16) &&
		(t.predictor == 1 || t.predictor == 2)
}

// decodeGreyAlpha decodes a grey-with-alpha page (the directory at off) and
// lays it over white, into a grey image.
func decodeGreyAlpha(data []byte, order binary.ByteOrder, off uint32, maxPixels int64) (image.Image, error) {
	n := int(order.Uint16(data[off:]))
	entries := data[off+2 : int(off)+2+12*n]
	// The directory Go reads: twice the width, one sample of bps bits, no
	// predictor, no extra samples. Everything else (strips, compression,
	// fill order) stays, its offsets pointing into the original data.
	var tags []tiffEntry
	var w, h uint32
	var bps, predictor, photometric, extra uint16 = 8, 1, 1, 0
	for k := range n {
		e := entries[12*k : 12*k+12]
		tag := order.Uint16(e)
		switch tag {
		case 256, 257:
			v := uint32(order.Uint16(e[8:]))
			if order.Uint16(e[2:]) == 4 {
				v = order.Uint32(e[8:])
			}
			if tag == 256 {
				w = v
				e = entry(order, 256, 4, 1, 2*v)
			} else {
				h = v
			}
		case 258:
			// BitsPerSample has two values, inline (two SHORTs fit).
			bps = order.Uint16(e[8:])
			e = entry(order, 258, 3, 1, uint32(bps))
		case 262:
			photometric = order.Uint16(e[8:])
		case 277:
			e = entry(order, 277, 3, 1, 1)
		case 317:
			predictor = order.Uint16(e[8:])
			e = entry(order, 317, 3, 1, 1)
		case 338:
			extra = order.Uint16(e[8:])
			continue
		}
		tags = append(tags, tiffEntry{tag, e})
	}
	if err := checkSize("TIFF", int(w), int(h), maxPixels); err != nil {
		return nil, err
	}
	sort.Slice(tags, func(a, b int) bool { return tags[a].tag < tags[b].tag })
	dir := make([]byte, 2, 2+12*len(tags)+4)
	order.PutUint16(dir, uint16(len(tags)))
	for _, t := range tags {
		dir = append(dir, t.entry...)
	}
	dir = append(dir, 0, 0, 0, 0)
	o := &overlay{data: data, tail: dir, tailAt: int64(len(data)) + int64(len(data))%2}
	copy(o.head[:], data[:8])
	order.PutUint32(o.head[4:], uint32(o.tailAt))
	// Twice the pixels are decoded: as many samples as the page has.
	img, err := decodeReader(io.NewSectionReader(o, 0, o.tailAt+int64(len(dir))), min(maxPixels, math.MaxInt64/2)*2, nil)
	if err != nil {
		return nil, err
	}
	// One row of samples at a time, as the file holds them (0 to max).
	var max uint32
	var get func(y int, row []uint32)
	switch m := img.(type) {
	case *image.Gray:
		max = 0xFF
		get = func(y int, row []uint32) {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+len(row)] {
				row[x] = uint32(v)
			}
		}
	case *image.Gray16:
		max = 0xFFFF
		get = func(y int, row []uint32) {
			p := m.Pix[y*m.Stride:]
			for x := range row {
				row[x] = uint32(p[2*x])<<8 | uint32(p[2*x+1])
			}
		}
	default:
		return nil, ocr.Errorf(ocr.EBADIMAGE, "the TIFF is corrupt: its grey and alpha samples do not decode as grey")
	}
	W := int(w)
	out := image.NewGray(image.Rect(0, 0, W, int(h)))
	row := make([]uint32, 2*W)
	for y := range int(h) {
		get(y, row)
		if photometric == 0 { // Go inverted every sample, alpha too: undo it
			for x := range row {
				row[x] = max - row[x]
			}
		}
		if predictor == 2 { // each sample is the difference from the one of its kind before it
			for x := 2; x < len(row); x++ {
				row[x] = (row[x] + row[x-2]) & max
			}
		}
		for x := range W {
			v, a := row[2*x], row[2*x+1]
			if photometric == 0 {
				v = max - v // white is zero
			}
			if extra != 1 { // unassociated alpha: premultiply
				v = (v*a + max/2) / max
			}
			// Over white: the white that shows through is max - a.
			out.Pix[y*out.Stride+x] = uint8(min(v+max-a, max) * 0xFF / max)
		}
	}
	return out, nil
}

type tiffEntry struct {
	tag   uint16
	entry []byte
}

// entry is a 12-byte directory entry holding one inline value.
func entry(order binary.ByteOrder, tag, typ uint16, count, v uint32) []byte {
	e := make([]byte, 12)
	order.PutUint16(e, tag)
	order.PutUint16(e[2:], typ)
	order.PutUint32(e[4:], count)
	if typ == 3 {
		order.PutUint16(e[8:], uint16(v))
	} else {
		order.PutUint32(e[8:], v)
	}
	return e
}
