package hostile

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

func jpegCases() []Case {
	var base bytes.Buffer
	mustNot(jpeg.Encode(&base, grayImage(800, 600), &jpeg.Options{Quality: 80}))
	plain := base.Bytes()
	return []Case{
		{"jpeg-progressive-scan-bomb", imaging.JPEG, scanBomb(4000, 4000, 1000), want(ocr.EBADIMAGE, ocr.ETOOCOMPLEX),
			"a 4000×4000 progressive JPEG of 1,000 scans in 68 KB: every scan walks all 250,000 blocks, 7 s of CPU in image/jpeg, and every header check passes"},
		{"jpeg-progressive", imaging.JPEG, flatJPEG(jpegSpec{w: 800, h: 600, comps: 1, progressive: true}), want(Done),
			"valid progressive JPEG with an ordinary number of scans (DC, then two AC bands)"},
		{"jpeg-progressive-color", imaging.JPEG, flatJPEG(jpegSpec{w: 640, h: 480, comps: 3, progressive: true}), want(Done),
			"valid progressive YCbCr JPEG: an interleaved DC scan and two AC bands per component, seven scans"},
		{"jpeg-cmyk", imaging.JPEG, flatJPEG(jpegSpec{w: 400, h: 304, comps: 4, adobe: true}), want(Done),
			"valid CMYK JPEG with an Adobe APP14 marker, as print workflows save"},
		{"jpeg-exif-rotated", imaging.JPEG, withAPP1(plain, exifOrientation(6)), want(Done),
			"valid JPEG whose EXIF says to turn it 90°"},
		{"jpeg-huge-exif", imaging.JPEG, hugeEXIF(plain), want(Done),
			"an otherwise valid JPEG carrying 12 maximum-size APP1 segments (768 KB), the first an EXIF directory claiming 65,535 entries"},
		{"jpeg-header-claims-4g-pixels", imaging.JPEG, jpegHeaderOnly(65500, 65500), want(ocr.ETOOMANYPIXELS),
			"a frame header claiming 65,500×65,500 over one block of data: must be refused from the header, before any buffer"},
		{"jpeg-truncated", imaging.JPEG, plain[:len(plain)/2], want(ocr.EBADIMAGE),
			"a baseline JPEG cut in half"},
	}
}

// jpegSpec describes a JPEG of flat 8×8 blocks: every block's AC
// coefficients are zero, so it is written without a DCT, with a DC value per
// block and component from the grey pattern.
type jpegSpec struct {
	w, h        int
	comps       int  // 1 grey, 3 YCbCr, 4 CMYK
	adobe       bool // an APP14 "Adobe" marker with transform 0 (CMYK as is)
	progressive bool
	// repeatAC, for a progressive grey file, is how many identical AC scans
	// follow the DC scan, instead of the two ordinary ones.
	repeatAC int
}

// flatJPEG writes s: SOI, tables, frame, scans, EOI.
func flatJPEG(s jpegSpec) []byte {
	b := []byte{0xff, 0xd8}
	if s.adobe {
		b = segment(b, 0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))
	}
	b = jpegTables(b)
	b = jpegFrame(b, s.w, s.h, s.comps, s.progressive)
	bw, bh := s.w/8, s.h/8
	dc := func(comp, bx, by int) int {
		if comp > 0 && s.comps == 3 {
			return 0 // no colour: Cb = Cr = 128
		}
		v := 255
		if s.repeatAC == 0 && (by/2)%3 == 1 && (bx/2)%4 != 3 {
			v = 40 + 20*comp
		}
		return v - 128
	}
	all := make([]int, s.comps)
	for i := range all {
		all[i] = i
	}
	// The DC values of every block, one component after another in each;
	// a baseline scan ends each block at once, all its AC values zero.
	dcScan := func(e *entropy) {
		prev := make([]int, s.comps)
		for by := range bh {
			for bx := range bw {
				for c := range s.comps {
					d := dc(c, bx, by)
					e.dc(d - prev[c])
					prev[c] = d
					if !s.progressive {
						e.bits(0, 4) // end of block: symbol 0x00
					}
				}
			}
		}
	}
	if !s.progressive {
		return append(jpegScan(b, all, 0, 63, dcScan), 0xff, 0xd9)
	}
	b = jpegScan(b, all, 0, 0, dcScan)
	bands := [][2]int{{1, 5}, {6, 63}}
	if s.repeatAC > 0 {
		bands = nil
		for range s.repeatAC {
			bands = append(bands, [2]int{1, 63})
		}
	}
	for c := range s.comps {
		for _, band := range bands {
			b = jpegScan(b, []int{c}, band[0], band[1], func(e *entropy) { e.eobRun(bw * bh) })
		}
	}
	return append(b, 0xff, 0xd9)
}

// scanBomb is a grey w×h progressive JPEG of n scans: one DC scan, then the
// same full AC band n−1 times, each coded as end-of-band runs, a few bytes
// per scan whatever the size.
func scanBomb(w, h, n int) []byte {
	return flatJPEG(jpegSpec{w: w, h: h, comps: 1, progressive: true, repeatAC: n - 1})
}

func segment(b []byte, marker byte, data []byte) []byte {
	b = append(b, 0xff, marker)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)+2))
	return append(b, data...)
}

// jpegTables writes one quantisation table (all 8: a flat block of DC value
// d is grey 128+d) and one DC and one AC Huffman table. DC category 0 (no
// change) is the 1-bit code 0, categories 1–11 the 5-bit codes 10000 on; the
// AC codes are 4 bits long, code i the i-th symbol: end-of-block (0x00) and
// end-of-band runs EOB1–EOB14 (0x10–0xE0).
func jpegTables(b []byte) []byte {
	q := append([]byte{0}, bytes.Repeat([]byte{8}, 64)...)
	b = segment(b, 0xdb, q)
	dht := []byte{0x00, 1, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for i := range 12 {
		dht = append(dht, byte(i))
	}
	dht = append(dht, 0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	return segment(b, 0xc4, dht)
}

func jpegFrame(b []byte, w, h, comps int, progressive bool) []byte {
	marker := byte(0xc0)
	if progressive {
		marker = 0xc2
	}
	f := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for c := range comps {
		f = append(f, byte(c+1), 0x11, 0)
	}
	return segment(b, marker, f)
}

// jpegScan writes a scan header for comps and band [ss, se], then the
// entropy-coded data body writes.
func jpegScan(b []byte, comps []int, ss, se int, body func(*entropy)) []byte {
	h := []byte{byte(len(comps))}
	for _, c := range comps {
		h = append(h, byte(c+1), 0x00)
	}
	h = append(h, byte(ss), byte(se), 0)
	b = segment(b, 0xda, h)
	e := &entropy{out: b}
	body(e)
	return e.flush()
}

// entropy writes entropy-coded bits, stuffing a zero byte after every 0xFF.
type entropy struct {
	out []byte
	acc uint32
	n   uint
}

func (e *entropy) bits(v uint32, n uint) {
	for n > 0 {
		k := min(n, 8)
		n -= k
		e.acc = e.acc<<k | (v>>n)&(1<<k-1)
		e.n += k
		for e.n >= 8 {
			c := byte(e.acc >> (e.n - 8))
			e.out = append(e.out, c)
			if c == 0xff {
				e.out = append(e.out, 0)
			}
			e.n -= 8
		}
	}
}

// dc writes a DC difference: its category's code (see jpegTables), then its
// bits (negative values as one less, in that many bits).
func (e *entropy) dc(d int) {
	cat, v := 0, d
	for a := max(d, -d); a > 0; a >>= 1 {
		cat++
	}
	if d < 0 {
		v = d - 1
	}
	if cat == 0 {
		e.bits(0, 1)
		return
	}
	e.bits(uint32(0x10+cat-1), 5)
	e.bits(uint32(v)&(1<<cat-1), uint(cat))
}

// eobRun codes n blocks with nothing in the band: runs of up to 32,767.
func (e *entropy) eobRun(n int) {
	for n > 0 {
		run := min(n, 1<<15-1)
		r := 0
		for 1<<(r+1) <= run {
			r++
		}
		e.bits(uint32(r), 4)
		e.bits(uint32(run-1<<r), uint(r))
		n -= run
	}
}

// flush pads the last byte with ones, as the standard asks.
func (e *entropy) flush() []byte {
	if e.n > 0 {
		e.bits(1<<(8-e.n)-1, 8-e.n)
	}
	return e.out
}

// jpegHeaderOnly is a JPEG whose frame header claims w×h, with a scan of
// one block's worth of data.
func jpegHeaderOnly(w, h int) []byte {
	b := jpegTables([]byte{0xff, 0xd8})
	b = jpegFrame(b, w, h, 1, false)
	b = jpegScan(b, []int{0}, 0, 63, func(e *entropy) { e.dc(0); e.bits(0, 4) })
	return append(b, 0xff, 0xd9)
}

// withAPP1 inserts an APP1 segment holding data after a JPEG's SOI.
func withAPP1(jpg []byte, data ...[]byte) []byte {
	b := []byte{0xff, 0xd8}
	for _, d := range data {
		b = segment(b, 0xe1, d)
	}
	return append(b, jpg[2:]...)
}

// exifOrientation is an EXIF block with one tag, Orientation o.
func exifOrientation(o uint16) []byte {
	le := binary.LittleEndian
	t := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00")
	t = le.AppendUint16(t, 1)
	t = le.AppendUint16(t, 0x0112)
	t = le.AppendUint16(t, 3)
	t = le.AppendUint32(t, 1)
	t = le.AppendUint16(t, o)
	t = le.AppendUint16(t, 0)
	return le.AppendUint32(t, 0)
}

// hugeEXIF adds 12 APP1 segments of the largest size a segment can have;
// the first is EXIF whose directory claims 65,535 entries of repeating
// orientation tags with out-of-range values.
func hugeEXIF(jpg []byte) []byte {
	const max = 65533
	le := binary.LittleEndian
	first := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00")
	first = le.AppendUint16(first, 0xffff)
	for len(first)+12 <= max {
		first = le.AppendUint16(first, 0x0112)
		first = le.AppendUint16(first, 3)
		first = le.AppendUint32(first, 1)
		first = le.AppendUint32(first, 0xffff)
	}
	segs := [][]byte{first}
	for i := range 11 {
		s := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), bytes.Repeat([]byte{byte('a' + i)}, max-29)...)
		segs = append(segs, s)
	}
	return withAPP1(jpg, segs...)
}
