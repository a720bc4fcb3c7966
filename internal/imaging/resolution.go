package imaging

import (
	"bytes"
	"encoding/binary"
)

// statesResolution reports whether an image file says how many of its
// pixels make an inch, as Leptonica reads it for the tesseract CLI: a
// JPEG's JFIF density in dots per inch or centimetre, a PNG's pHYs in
// pixels per metre, a TIFF page's XResolution (see tiffTags), a BMP's
// pixels per metre. GIF and WebP have no such field. Phones write their
// 72 dpi in EXIF, which Leptonica ignores, and so does this.
//
// It walks the headers with the orientation parsers' readers (exif.go),
// which read untrusted bytes forward only, check every offset, and stop at
// the image data.
func statesResolution(data []byte) bool {
	switch Sniff(data) {
	case JPEG:
		return jfifDensity(data)
	case PNG:
		return pngPHYs(data)
	case BMP:
		// A BITMAPINFOHEADER or later (40 bytes or more, from 14) has
		// its horizontal pixels per metre at 38; the old 12-byte one none.
		return len(data) >= 42 && binary.LittleEndian.Uint32(data[14:]) >= 40 && binary.LittleEndian.Uint32(data[38:]) > 0
	}
	return false
}

// jfifDensity reports whether a JPEG's JFIF segment gives its density in
// dots per inch (units 1) or per centimetre (2); units 0 is only an aspect
// ratio.
func jfifDensity(data []byte) bool {
	// "JFIF\0", version (2), units (1), X density (2), Y density (2).
	seg := jpegSegment(data, func(marker byte, seg []byte) bool {
		return marker == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")) && len(seg) >= 12
	})
	return seg != nil && (seg[7] == 1 || seg[7] == 2) && binary.BigEndian.Uint16(seg[8:]) > 0
}

// pngPHYs reports whether a PNG has a pHYs chunk in pixels per metre (unit
// 1; 0 is only an aspect ratio), before its image data.
func pngPHYs(data []byte) bool {
	c, ok := findPNGChunk(data, "pHYs")
	return ok && len(c) >= 9 && c[8] == 1 && binary.BigEndian.Uint32(c) > 0
}
