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
// Like the orientation parsers (exif.go) it reads untrusted bytes forward
// only, checking every offset, and stops at the image data.
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
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return false
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xDA || n < 2 || i+2+n > len(data) { // start of scan: no more headers
			return false
		}
		seg := data[i+4 : i+2+n]
		// "JFIF\0", version (2), units (1), X density (2), Y density (2).
		if marker == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")) && len(seg) >= 12 {
			return (seg[7] == 1 || seg[7] == 2) && binary.BigEndian.Uint16(seg[8:]) > 0
		}
		i += 2 + n
	}
	return false
}

// pngPHYs reports whether a PNG has a pHYs chunk in pixels per metre (unit
// 1; 0 is only an aspect ratio), before its image data.
func pngPHYs(data []byte) bool {
	for i := 8; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := int64(i) + 8 + n
		if typ == "IDAT" || end > int64(len(data)) {
			return false
		}
		if typ == "pHYs" {
			return n >= 9 && data[i+16] == 1 && binary.BigEndian.Uint32(data[i+8:]) > 0
		}
		i = int(end) + 4 // and the CRC
	}
	return false
}

// tiffHasTag reports whether a directory (a count, then 12-byte entries)
// at the start of ifd has an entry for tag.
func tiffHasTag(ifd []byte, order binary.ByteOrder, tag uint16) bool {
	if len(ifd) < 2 {
		return false
	}
	n := int(order.Uint16(ifd))
	for k := range n {
		e := ifd[min(2+12*k, len(ifd)):]
		if len(e) < 12 {
			return false
		}
		if order.Uint16(e) == tag {
			return true
		}
	}
	return false
}
