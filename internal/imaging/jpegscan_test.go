package imaging

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"math/bits"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// progressiveJPEG builds a valid grey progressive JPEG of w×h pixels with
// the given number of scans: a DC scan, then AC scans that each say only
// "every block ends here" in a few end-of-band runs. It is the scan bomb:
// a few bytes per scan, a visit to every block per scan for the decoder.
func progressiveJPEG(w, h, scans int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, data []byte) {
		b.Write([]byte{0xFF, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(data)+2))
		b.Write(data)
	}
	b.Write([]byte{0xFF, 0xD8})
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)) // quantisation table 0, all ones
	seg(0xC2, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0})
	// DC table 0: one code, "0", for difference category 0.
	dc := make([]byte, 1+16+1)
	dc[0], dc[1], dc[17] = 0x00, 1, 0
	seg(0xC4, dc)
	// AC table 0: fifteen 4-bit codes for EOBRUN of 2^0 … 2^14 (symbols r<<4),
	// code r for symbol r<<4.
	ac := make([]byte, 1+16+15)
	ac[0], ac[4] = 0x10, 15
	for r := range 15 {
		ac[17+r] = byte(r << 4)
	}
	seg(0xC4, ac)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	// The DC scan: one 0 bit per block.
	seg(0xDA, []byte{1, 1, 0x00, 0, 0, 0})
	bw := bitWriter{stuff: true}
	for range blocks {
		bw.put(0, 1)
	}
	b.Write(bw.flush())
	for range scans - 1 {
		seg(0xDA, []byte{1, 1, 0x00, 1, 63, 0})
		for left := blocks; left > 0; {
			r := min(bits.Len(uint(left))-1, 14)
			run := min(left, 1<<(r+1)-1)
			bw.put(uint32(r), 4)
			bw.put(uint32(run-1<<r), r)
			left -= run
		}
		b.Write(bw.flush())
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// bitWriter writes bits, most significant first; with stuff, it puts a
// zero after every 0xFF byte, as JPEG's entropy-coded data requires.
type bitWriter struct {
	out   []byte
	acc   uint64
	nacc  int
	stuff bool
}

func (w *bitWriter) put(v uint32, n int) {
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.byte(byte(w.acc >> w.nacc))
	}
}

func (w *bitWriter) byte(c byte) {
	w.out = append(w.out, c)
	if c == 0xFF && w.stuff {
		w.out = append(w.out, 0)
	}
}

// flush pads the last byte with ones and returns the scan's bytes.
func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.put(1<<(8-w.nacc)-1, 8-w.nacc)
	}
	out := w.out
	*w = bitWriter{stuff: true}
	return out
}

func TestProgressiveJPEG_IsValid(t *testing.T) {
	data := progressiveJPEG(100, 60, 12)
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 100 || img.Bounds().Dy() != 60 {
		t.Fatal(img.Bounds())
	}
	if c := countJPEGScans(data, 1000, 1<<40); c.scans != 12 || c.blockScans != 12*13*8 {
		t.Fatalf("counted %+v, want 12 scans of 104 blocks", c)
	}
}

func TestDecode_RefusesJPEGScanBombs(t *testing.T) {
	tests := []struct {
		name         string
		w, h, scans  int
		code, reason string
	}{
		// libjpeg-turbo's limit: a small image may have as many scans as it
		// allows, but not one more.
		{"small, 500 scans", 64, 64, 500, "", ""},
		{"small, 501 scans", 64, 64, 501, ocr.EBADIMAGE, "more than 500 scans"},
		// A large image is held to far fewer: the work is scans × blocks.
		{"4000×4000, 10 scans", 4000, 4000, 10, "", ""},
		{"4000×4000, 400 scans", 4000, 4000, 400, ocr.EBADIMAGE, "too many for an image of its size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(progressiveJPEG(tt.w, tt.h, tt.scans), limit)
			if ocr.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if tt.code != "" && !strings.Contains(ocr.ErrorMessage(err), tt.reason) {
				t.Fatalf("message %q, want it to say %q", ocr.ErrorMessage(err), tt.reason)
			}
		})
	}
}

func BenchmarkDecode_ProgressiveScans(b *testing.B) {
	data := progressiveJPEG(4000, 4000, 100)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(100*500*500), "ns/block-scan")
}
