package imaging

import (
	"bytes"
	"encoding/binary"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// image/jpeg's decode time grows with the number of scans times the 8×8
// blocks each scan covers: a progressive decoder keeps every block's
// coefficients and visits each block a scan covers, however little the
// scan carries. Measured with image/jpeg (go1.26) on this machine
// (BenchmarkDecode_ProgressiveScans), a visit costs 43 ns; a 32 KB
// 4000×4000 grey file with 1,000 scans of 250,000 blocks each took 11 s of
// CPU while holding nothing but end-of-band runs. The header checks cannot
// see this, so scans are counted before decoding.
//
// What encoders write, scans and block visits per block of the image:
//
//	libjpeg-turbo 2.1.5 cjpeg -progressive, colour 4:2:0   10 scans, 5.3
//	ImageMagick 6.9.11 -interlace JPEG, colour 4:4:4        10 scans, 4.7
//	jpegtran -progressive, colour 4:4:4                     10 scans, 4.7
//	ImageMagick, cjpeg, jpegtran, grey                       6 scans, 6
//	sequential (baseline) files                              1 per component
//	Go's image/jpeg encoder                                  1 (baseline only)
const (
	// maxJPEGScans is libjpeg-turbo's own limit (tjbench -limitscans,
	// TJPARAM_SCANLIMIT), 50 times what the encoders above write.
	maxJPEGScans = 500
	// maxJPEGBlockScans bounds the block visits, the sum over scans of the
	// blocks each covers, to about 2 s of decoding at 43 ns. A libjpeg
	// colour file at the service's 60 MP limit, 4:4:4, makes 13 million,
	// a quarter of it; the 1,000-scan bomb above makes 250 million. A
	// 56-megapixel grey image may have 54 scans, not hundreds; a small one
	// all 500.
	maxJPEGBlockScans = 48_000_000
)

// jpegCost is what checkJPEGScans counts.
type jpegCost struct {
	scans      int   // start-of-scan markers
	blockScans int64 // sum over scans of the 8×8 blocks each covers
}

// checkJPEGScans refuses, with EBADIMAGE, a JPEG with more scans or more
// scan work than any encoder writes, before any scan is decoded. It looks
// at markers only; anything it cannot follow (a truncated or corrupt file)
// it leaves to the decoder, which reports it.
func checkJPEGScans(data []byte) error {
	c := countJPEGScans(data, maxJPEGScans, maxJPEGBlockScans)
	switch {
	case c.scans > maxJPEGScans:
		return ocr.Errorf(ocr.EBADIMAGE, "the JPEG has more than %d scans, far more than any encoder writes (a progressive JPEG has about 10); decoding it would take minutes", maxJPEGScans)
	case c.blockScans > maxJPEGBlockScans:
		return ocr.Errorf(ocr.EBADIMAGE, "the JPEG has %d scans, too many for an image of its size, far more than any encoder writes (a progressive JPEG has about 10); decoding it would take minutes", c.scans)
	}
	return nil
}

// countJPEGScans walks a JPEG's marker segments and, across each scan's
// entropy-coded data, finds the next marker, counting scans and the blocks
// they cover. It stops as soon as either count passes its limit, at the end
// of the image, or where the file stops making sense.
//
// It is hand-written because image/jpeg exposes nothing between
// DecodeConfig (the frame header) and a full decode. It reads untrusted
// bytes: every length is checked against the data before use, every step
// moves forward, and the work is one pass over the file.
func countJPEGScans(data []byte, maxScans int, maxBlockScans int64) jpegCost {
	var c jpegCost
	// Blocks per component, by component id, from the frame header; a
	// component absent from the frame covers nothing.
	var blocks [256]int64
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return c
	}
	i := 2
	for i+1 < len(data) {
		if data[i] != 0xFF {
			return c // garbage between segments: the decoder's to report
		}
		// Any number of 0xFF fill bytes may precede a marker.
		for i+1 < len(data) && data[i+1] == 0xFF {
			i++
		}
		if i+1 >= len(data) {
			return c
		}
		marker := data[i+1]
		i += 2
		switch {
		case marker == 0xD9: // end of image
			return c
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // no length
			continue
		}
		if i+2 > len(data) {
			return c
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return c
		}
		seg := data[i+2 : i+n]
		i += n
		switch {
		case isSOF(marker):
			blocks = frameBlocks(seg)
		case marker == 0xDA: // start of scan
			c.scans++
			if len(seg) >= 1 {
				ns := int(seg[0])
				for k := 0; k < ns && 1+2*k < len(seg); k++ {
					c.blockScans += blocks[seg[1+2*k]]
				}
			}
			if c.scans > maxScans || c.blockScans > maxBlockScans {
				return c
			}
			// The entropy-coded data runs to the next 0xFF that is neither
			// a stuffed zero nor a restart marker.
			for {
				j := bytes.IndexByte(data[i:], 0xFF)
				if j < 0 || i+j+1 >= len(data) {
					return c
				}
				i += j
				if m := data[i+1]; m != 0x00 && (m < 0xD0 || m > 0xD7) {
					break
				}
				i += 2
			}
		}
	}
	return c
}

// isSOF reports whether marker starts a frame: SOF0–SOF15 but for DHT
// (C4), JPG (C8) and DAC (CC), which share the range.
func isSOF(marker byte) bool {
	return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
}

// frameBlocks returns the 8×8 blocks each component of a frame header
// covers, padded to whole MCUs as the decoder allocates them, by component
// id. A header too short for its own component count yields none.
func frameBlocks(seg []byte) [256]int64 {
	var blocks [256]int64
	if len(seg) < 6 {
		return blocks
	}
	h, w, nf := int64(binary.BigEndian.Uint16(seg[1:])), int64(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
	if len(seg) < 6+3*nf {
		return blocks
	}
	var hmax, vmax int64 = 1, 1
	for k := range nf {
		hv := seg[6+3*k+1]
		hmax, vmax = max(hmax, int64(hv>>4)), max(vmax, int64(hv&15))
	}
	mcusX, mcusY := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	for k := range nf {
		id, hv := seg[6+3*k], seg[6+3*k+1]
		blocks[id] = mcusX * int64(hv>>4) * mcusY * int64(hv&15)
	}
	return blocks
}
