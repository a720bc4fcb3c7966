package imaging

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// FuzzCountJPEGScans: the marker walk never panics, counts no more scans
// than the file has SOS markers, and stops one scan past its limit.
func FuzzCountJPEGScans(f *testing.F) {
	f.Add(progressiveJPEG(64, 32, 12))
	f.Add(encode(f, "jpeg", page(16, 8)))
	f.Add(localFile(f, "left-dark.cmyk.jpg"))
	f.Add(localFile(f, "left-dark.progressive.jpg"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := countJPEGScans(data, 20, 1<<20)
		if c.scans > bytes.Count(data, []byte{0xFF, 0xDA}) || c.scans > 21 || c.blockScans < 0 {
			t.Fatalf("counted %+v", c)
		}
		if err := checkJPEGScans(data); err != nil && ocr.ErrorCode(err) != ocr.EBADIMAGE {
			t.Fatal(err)
		}
	})
}

// FuzzReadTIFFPages: the directory walker never panics, never returns more
// than one directory past the limit, and every directory it returns lies
// inside the file.
func FuzzReadTIFFPages(f *testing.F) {
	f.Add(readTestdata(f, "pages.tif"))
	f.Add(tiffChain(3, true))
	f.Add(tiffChain(8, false))
	f.Add(writeTIFF(tiffSpec{photometric: 1, bps: 16, colours: 1, alpha: true, orientation: 6}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readTIFFPages(data, 5)
		if err != nil {
			if ocr.ErrorCode(err) != ocr.EBADIMAGE {
				t.Fatal(err)
			}
			return
		}
		if len(p.ifds) < 1 || len(p.ifds) > 6 || len(p.orientation) != len(p.ifds) || len(p.tags) != len(p.ifds) {
			t.Fatalf("%d directories, %d orientations, %d tag sets", len(p.ifds), len(p.orientation), len(p.tags))
		}
		for i, off := range p.ifds {
			if int64(off)+2 > int64(len(data)) || p.orientation[i] < 1 || p.orientation[i] > 8 {
				t.Fatalf("directory %d at %d of %d bytes, orientation %d", i, off, len(data), p.orientation[i])
			}
		}
	})
}

// FuzzGreyAlphaTIFF: the grey-with-alpha reader, which rewrites a directory
// for Go's decoder, never panics and never returns a page over the limit.
func FuzzGreyAlphaTIFF(f *testing.F) {
	for _, s := range []tiffSpec{
		{photometric: 1, bps: 16, colours: 1, alpha: true},
		{photometric: 0, bps: 8, colours: 1, alpha: true, orientation: 3},
	} {
		f.Add(writeTIFF(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readTIFFPages(data, 2)
		if err != nil || !p.tags[0].isGreyAlpha() {
			return
		}
		img, err := tiffPage(data, p, 0, fuzzLimit)
		checkFuzzedPage(t, img, err)
	})
}

// FuzzTIFFJPEG: the JPEG-in-TIFF reader, in Go and through libjpeg-turbo
// (grey), never panics, fails only with the codes that send a page to
// libtiff or refuse it, and never returns a page over the limit; both read
// a page at the same size. Its seeds are libtiff's own JPEG TIFFs: grey and RGB, in
// one strip and in several.
func FuzzTIFFJPEG(f *testing.F) {
	if tool, err := exec.LookPath("tiffcp"); err == nil {
		dir := f.TempDir()
		in := filepath.Join(dir, "in.tif")
		for i, src := range [][]byte{writeTIFF(tiffSpec{photometric: 1, bps: 8, colours: 1}), writeTIFF(tiffSpec{photometric: 2, bps: 8, colours: 3})} {
			os.WriteFile(in, src, 0o600)
			for k, args := range [][]string{{"-c", "jpeg"}, {"-c", "jpeg:r", "-r", "8"}} {
				out := filepath.Join(dir, fmt.Sprintf("out%d%d.tif", i, k))
				if exec.Command(tool, append(args, in, out)...).Run() == nil {
					b, _ := os.ReadFile(out)
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readTIFFPages(data, 2)
		if err != nil || p.tags[0].compression != 7 {
			return
		}
		img, err := decodeTIFFJPEG(data, p.order, p.ifds[0], fuzzLimit, false)
		checkFuzzedPage(t, img, err)
		grey, gerr := decodeTIFFJPEG(data, p.order, p.ifds[0], fuzzLimit, true)
		checkFuzzedPage(t, grey, gerr)
		if err == nil && gerr == nil && grey.Bounds() != img.Bounds() {
			t.Fatalf("grey %v, colour %v", grey.Bounds(), img.Bounds())
		}
	})
}

// fuzzLimit is the pixel limit the TIFF page readers are fuzzed with.
const fuzzLimit = 1 << 16

// checkFuzzedPage fails unless a page reader refused a fuzzed file with a
// code that names it (bad, unsupported, too many pixels) or read a page
// within fuzzLimit.
func checkFuzzedPage(t *testing.T, img image.Image, err error) {
	t.Helper()
	if err != nil {
		if c := ocr.ErrorCode(err); c != ocr.EBADIMAGE && c != ocr.EUNSUPPORTED && c != ocr.ETOOMANYPIXELS {
			t.Fatal(err)
		}
		return
	}
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > fuzzLimit {
		t.Fatalf("decoded %v", b)
	}
}

// FuzzOrientation: the EXIF readers of JPEG, PNG, WebP and TIFF never
// panic and always return an orientation from 1 to 8; the resolution
// readers (JFIF, pHYs, BMP), which walk the same headers, never panic.
func FuzzOrientation(f *testing.F) {
	exif := exifBlock(6)
	f.Add(exif)
	f.Add(insertPNGChunk(encode(f, "png", page(4, 4)), "eXIf", exif))
	f.Add(appendWebPChunk(localFile(f, "gopher-doc.1bpp.lossless.webp"), "EXIF", exif))
	f.Add(withOrientation(encode(f, "jpeg", page(4, 4)), 8))
	f.Add(writeTIFF(tiffSpec{photometric: 1, bps: 8, colours: 1, orientation: 5}))
	f.Add(insertPNGChunk(encode(f, "png", page(4, 4)), "pHYs", pHYs(11811, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		statesResolution(data)
		jfifDensity(data)
		pngPHYs(data)
		for _, o := range []int{Orientation(data), exifOrientation(data), pngOrientation(data), webpOrientation(data), tiffOrientation(data)} {
			if o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
		}
	})
}
